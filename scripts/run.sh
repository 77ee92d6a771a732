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
# Release builds go without env.sh's `erase_components`, a dev-build
# speed-up that makes the client 6% larger (bench/PROFILE.md, round 10).
export RUSTFLAGS=""
server="$HIGHLIGHTER_TARGET_DIR/release/highlighter"
site="$PWD/target/site"
built="$site/.built"

# Nothing the build reads is newer than the last build: serve at once.
# cargo-leptos would otherwise spend about 25 s regenerating the client's
# JavaScript and WASM even when nothing changed.
build_inputs=(src style public migrations Cargo.toml Cargo.lock package-lock.json scripts/run.sh scripts/env.sh)
if [ -x "$server" ] && [ -f "$built" ] &&
   [ -z "$(find "${build_inputs[@]}" -newer "$built" -print -quit)" ]; then
  LEPTOS_SITE_ROOT="$site" exec "$server" "$@"
fi

# Noted before building, so an edit made during the build is seen next time.
mkdir -p target
touch target/.build-started

# On a new machine the tools take minutes to build (cargo-leptos about 6,
# wasm-bindgen about 2), and the server needs neither: it builds at the
# same time, with the command and variables cargo-leptos uses, so
# cargo-leptos finds it built. One build at a time kept two cores 92%
# busy, this way 98%; with thin LTO the cold start still took as long (the
# crate's link and then the client run alone at the end), with cargo's
# default profile 2.5 minutes less (bench/PROFILE.md, round 12).
cargo build --release --no-default-features --features ssr --bin highlighter &
server_build=$!
trap 'kill "$server_build" 2>/dev/null || true' EXIT
bash scripts/setup.sh
wait "$server_build"
trap - EXIT

# wasm-opt (from the npm package binaryen) is on PATH via node_modules/.bin.
# --split: the dashboard (a lazy island) goes in a chunk of its own, fetched
# only when /admin is opened.
cargo leptos build --release --split
mv target/.build-started "$built"
LEPTOS_SITE_ROOT="$site" exec "$server" "$@"
