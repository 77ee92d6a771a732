#!/usr/bin/env bash
# Runs the benchmark suite and writes bench/RESULTS.md: highlight
# throughput vs Pygments, submit -> pushed latency under 1,000 streams,
# queue drain on SQLite and PostgreSQL, 10,000 idle streams, SSR vs bare
# axum, the WASM size, and Pygments' example files pasted by name. About
# 10 minutes once built; all traffic stays
# on 127.0.0.1. Extra arguments go to the suite (`--only latency,ssr`,
# `--runs 5`; `--help` lists them).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-bench
source scripts/env.sh
bash scripts/postgres.sh

echo "==> building the release server and client" >&2
# As scripts/run.sh builds them: the server, and beside it the site.
cargo build --release --no-default-features --features ssr --bin highlighter &
server_build=$!
trap 'kill "$server_build" 2>/dev/null || true' EXIT
build_site --release
wait "$server_build"
trap - EXIT
echo "==> building the suite" >&2
cargo build --release --features ssr --example bench

# 10,000 streams need 10,000 descriptors in the server and as many in the
# load client.
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 10500 ]; then
  echo "note: the file limit is $(ulimit -n); the capacity measure needs about 10,100" >&2
fi

"$HIGHLIGHTER_TARGET_DIR/release/examples/bench" \
  --server-bin="$HIGHLIGHTER_TARGET_DIR/release/highlighter" \
  --site-root="$PWD/target/site" "$@"
