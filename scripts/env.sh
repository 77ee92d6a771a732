# Sourced by the run, test and bench scripts.
#
# LEPTOS_OUTPUT_NAME is read by leptos at compile time: the server links
# `highlighter.js` / `.wasm` by it.
export LEPTOS_OUTPUT_NAME=highlighter
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"
# Where cargo puts builds (CI points this at a cache outside the clone).
HIGHLIGHTER_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}

# Builds target/site, the client the server serves (xtask/: `site
# --release` for a release build), and writes hash.txt beside the server
# binary of that profile. The tool and the WASM client build under
# target/front, clear of the server's build lock, so they may build while
# the server does.
build_site() {
  RUSTFLAGS="" cargo build --quiet --package xtask --profile tools \
    --target-dir "$HIGHLIGHTER_TARGET_DIR/front"
  "$HIGHLIGHTER_TARGET_DIR/front/tools/xtask" site "$@"
}

# The shared corpus (real source files the tests and benchmarks read) sits
# beside the repository, at ../shared/corpus. A clone made elsewhere (say,
# `git clone . /tmp/fresh`) finds it beside the repository it came from.
if [ -z "${HIGHLIGHTER_CORPUS:-}" ] && [ ! -d ../shared/corpus ]; then
  origin=$(git remote get-url origin 2>/dev/null || true)
  if [ -n "$origin" ] && [ -d "$origin/../shared/corpus" ]; then
    HIGHLIGHTER_CORPUS=$(cd "$origin/../shared/corpus" && pwd)
    export HIGHLIGHTER_CORPUS
  fi
fi
