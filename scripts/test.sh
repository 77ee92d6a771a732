#!/usr/bin/env bash
# Runs every test: unit and integration tests (cargo, against real
# databases on real ports), then the end-to-end suite in Chromium against
# the real server and its hydrated WASM client.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-browser
source scripts/env.sh

# PostgreSQL for the storage conformance suite; the tests make their own
# databases on it. Start it if it is installed and down.
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  version=$(ls /etc/postgresql | sort -V | tail -n1)
  if ! pg_lsclusters -h 2>/dev/null | awk '{print $4}' | grep -q online; then
    echo "==> starting PostgreSQL $version" >&2
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
  fi
fi

echo "==> cargo test" >&2
cargo test --features ssr --no-fail-fast

echo "==> building the site (server + WASM client)" >&2
cargo leptos build

echo "==> end-to-end tests in Chromium" >&2
HIGHLIGHTER_BIN="$HIGHLIGHTER_TARGET_DIR/debug/highlighter" \
LEPTOS_SITE_ROOT="$PWD/target/site" \
  npx playwright test -c end2end/playwright.config.mjs
