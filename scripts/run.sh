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
source scripts/env.sh
server="$HIGHLIGHTER_TARGET_DIR/release/highlighter"
site="$PWD/target/site"
built="$site/.built"

# Nothing the build reads is newer than the last build: serve at once.
build_inputs=(src style public migrations xtask Cargo.toml Cargo.lock package-lock.json scripts/run.sh scripts/env.sh)
if [ -x "$server" ] && [ -f "$built" ] &&
   [ -z "$(find "${build_inputs[@]}" -newer "$built" -print -quit)" ]; then
  LEPTOS_SITE_ROOT="$site" exec "$server" "$@"
fi

# Noted before building, so an edit made during the build is seen next time.
mkdir -p target
touch target/.build-started

# Two builds at once, so that both cores stay busy to the end: the server
# (its dependencies, then its crate and the thin-LTO link, one core), and
# beside it the site: the tool that builds it, then the WASM client (its
# fat-LTO link, one core). Neither needs the other (bench/PROFILE.md,
# round 13).
cargo build --release --no-default-features --features ssr --bin highlighter &
server_build=$!
trap 'kill "$server_build" 2>/dev/null || true' EXIT
bash scripts/setup.sh
# The dashboard (a lazy island) goes in a WASM chunk of its own, fetched
# only when /admin is opened.
build_site --release
wait "$server_build"
trap - EXIT

mv target/.build-started "$built"
LEPTOS_SITE_ROOT="$site" exec "$server" "$@"
