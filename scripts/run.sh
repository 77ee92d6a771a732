#!/usr/bin/env bash
# Builds (release) and runs Highlighter on http://127.0.0.1:3000 with its
# embedded SQLite database under ./data/. HIGHLIGHTER_* variables reach the
# server: e.g. HIGHLIGHTER_ADDR=0.0.0.0:8080 scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
# wasm-opt (from the npm package binaryen) is on PATH via node_modules/.bin.
exec cargo leptos serve --release "$@"
