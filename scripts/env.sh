# Sourced by the run and test scripts.
#
# `cargo leptos build` (debug) compiles the server with
# RUSTFLAGS="--cfg erase_components" and LEPTOS_OUTPUT_NAME set, which
# leptos_config reads at compile time. Plain `cargo test` gets the same
# values. (They do not yet share one build: cargo-leptos appends its own
# `--cfg erase_components` to the RUSTFLAGS it finds, so the strings
# differ; bench/PROFILE.md, round 12.) Release builds (scripts/run.sh,
# scripts/bench.sh) clear it again.
export LEPTOS_OUTPUT_NAME=highlighter
export RUSTFLAGS="--cfg erase_components"
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"
# Where cargo puts builds (CI points this at a cache outside the clone).
HIGHLIGHTER_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
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
