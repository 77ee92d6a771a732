# Sourced by the run and test scripts.
#
# `cargo leptos build` (debug) compiles the server with
# RUSTFLAGS="--cfg erase_components" and LEPTOS_OUTPUT_NAME set, which
# leptos_config reads at compile time. Plain `cargo test` gets the same
# values, so the two share one build instead of rebuilding each other's.
export LEPTOS_OUTPUT_NAME=highlighter
export RUSTFLAGS="--cfg erase_components"
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"
# Where cargo puts builds (CI points this at a cache outside the clone).
HIGHLIGHTER_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
