#!/usr/bin/env bash
# Installs what building Highlighter needs (with --with-browser, what
# testing it needs: Chromium, Pygments, schemathesis; with --with-bench,
# what benchmarking it needs), and
# nothing that is already there. Safe to run again and again:
# a second run takes about a second.
#
#   the wasm32 target, Node.js + npm packages (Playwright; binaryen's
#   wasm-opt and esbuild for release builds), Chromium.
#
# The site's build tool is the workspace's own xtask/ (scripts/env.sh's
# build_site), built by cargo like the rest: no cargo-leptos, no
# wasm-bindgen CLI to install (bench/PROFILE.md, round 13).
set -euo pipefail
cd "$(dirname "$0")/.."

with_browser=0
with_bench=0
for flag in "$@"; do
  case "$flag" in
    --with-browser) with_browser=1 ;;
    --with-bench) with_bench=1 ;;
    *) echo "unknown flag $flag" >&2; exit 2 ;;
  esac
done

export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '==> %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
apt_install() {
  if [ $apt_updated = 0 ]; then
    as_root apt-get update -q
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! command -v npm >/dev/null 2>&1; then
  step "installing Node.js and npm"
  apt_install nodejs npm
fi

# Playwright drives the system Chromium, so it must not download browsers.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "installing npm packages (Playwright, binaryen, esbuild)"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi

# Pygments powers the hilite.me-compatible service the remote-engine tests
# start (tools/hilite_service.py), and is the benchmark's peer.
if [ $((with_browser + with_bench)) -gt 0 ] && ! python3 -c 'import pygments' 2>/dev/null; then
  step "installing Pygments"
  python3 -m pip install --quiet pygments
fi

# schemathesis fuzzes the API against its OpenAPI document (scripts/fuzz-api.sh).
SCHEMATHESIS_VERSION=4.32.5
if [ $with_browser = 1 ] && [ "$(python3 -c 'import schemathesis; print(schemathesis.__version__)' 2>/dev/null)" != "$SCHEMATHESIS_VERSION" ]; then
  step "installing schemathesis $SCHEMATHESIS_VERSION"
  python3 -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

if [ $with_browser = 1 ] && [ ! -x /usr/bin/chromium ]; then
  step "installing Chromium"
  apt_install chromium
fi

if [ $with_bench = 1 ] && ! command -v wrk >/dev/null 2>&1; then
  step "installing wrk"
  apt_install wrk
fi
