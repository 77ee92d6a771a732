#!/usr/bin/env bash
# Builds (release) and runs Highlighter on http://127.0.0.1:3000 with its
# embedded SQLite database under ./data/. HIGHLIGHTER_* variables reach the
# server: e.g. HIGHLIGHTER_ADDR=0.0.0.0:8080 scripts/run.sh
#
# The server replaces this script (exec): signals sent to it (Ctrl-C, a
# supervisor's SIGTERM) reach the server itself, with no parent in between
# whose death would leave it orphaned.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
# wasm-opt (from the npm package binaryen) is on PATH via node_modules/.bin.
# --split: the dashboard (a lazy island) goes in a chunk of its own, fetched
# only when /admin is opened. Release builds go without env.sh's
# `erase_components`, a dev-build speed-up that makes the client 6% larger
# (bench/PROFILE.md, round 10).
export RUSTFLAGS=""
cargo leptos build --release --split
export LEPTOS_SITE_ROOT="$PWD/target/site"
exec "$HIGHLIGHTER_TARGET_DIR/release/highlighter" "$@"
