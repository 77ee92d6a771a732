#!/usr/bin/env bash
# Runs every test: unit and integration tests (cargo, against real
# databases on real ports), a schemathesis fuzz of the API against its
# OpenAPI document, then the end-to-end suite in Chromium against the real
# server and its hydrated WASM client.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

# Debug builds erase the view types: Leptos compiles several times faster.
export RUSTFLAGS="--cfg erase_components"

# The tests build while the tools install and the site builds (the site in
# target/front, clear of this build's lock). The debug server the browser
# tests run is the one this build makes for the integration tests.
echo "==> building the tests" >&2
cargo test --features ssr --no-run &
tests_build=$!
trap 'kill "$tests_build" 2>/dev/null || true' EXIT
bash scripts/setup.sh --with-browser
# PostgreSQL for the storage conformance suite; the tests make their own
# databases on it.
bash scripts/postgres.sh
echo "==> building the site (the WASM client, split as every build is)" >&2
build_site
wait "$tests_build"
trap - EXIT

echo "==> cargo test" >&2
cargo test --features ssr --no-fail-fast
# The site builder's own tests, on the build of it made above.
RUSTFLAGS="" cargo test --quiet --package xtask --profile tools \
  --target-dir "$HIGHLIGHTER_TARGET_DIR/front"

echo "==> fuzzing the API against its OpenAPI document" >&2
bash scripts/fuzz-api.sh

echo "==> end-to-end tests in Chromium" >&2
HIGHLIGHTER_BIN="$HIGHLIGHTER_TARGET_DIR/debug/highlighter" \
LEPTOS_SITE_ROOT="$PWD/target/site" \
  npx playwright test -c end2end/playwright.config.mjs
