#!/usr/bin/env bash
# Runs every test: unit and integration tests (cargo, against real
# databases on real ports), a schemathesis fuzz of the API against its
# OpenAPI document, then the end-to-end suite in Chromium against the real
# server and its hydrated WASM client.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

# On a new machine the tools (cargo-leptos, wasm-bindgen, Chromium...)
# take minutes to install and the tests need none of them to compile:
# they build at the same time, as scripts/run.sh builds the server.
echo "==> building the tests (while the tools install)" >&2
cargo test --features ssr --no-run &
tests_build=$!
trap 'kill "$tests_build" 2>/dev/null || true' EXIT
bash scripts/setup.sh --with-browser
# PostgreSQL for the storage conformance suite; the tests make their own
# databases on it.
bash scripts/postgres.sh
wait "$tests_build"
trap - EXIT

echo "==> cargo test" >&2
cargo test --features ssr --no-fail-fast

echo "==> building the site (server + WASM client)" >&2
# --split, as every build the server serves: see scripts/run.sh.
cargo leptos build --split

echo "==> fuzzing the API against its OpenAPI document" >&2
bash scripts/fuzz-api.sh

echo "==> end-to-end tests in Chromium" >&2
HIGHLIGHTER_BIN="$HIGHLIGHTER_TARGET_DIR/debug/highlighter" \
LEPTOS_SITE_ROOT="$PWD/target/site" \
  npx playwright test -c end2end/playwright.config.mjs
