# Sourced by the run and test scripts.
#
# cargo-leptos sets LEPTOS_OUTPUT_NAME when it builds, and leptos_config
# reads it at compile time; setting the same value for plain `cargo test`
# keeps the two from rebuilding each other's copy of the Leptos crates.
export LEPTOS_OUTPUT_NAME=highlighter
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"
# Where cargo puts builds (CI points this at a cache outside the clone).
HIGHLIGHTER_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
