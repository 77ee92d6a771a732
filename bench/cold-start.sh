#!/usr/bin/env bash
# Times one of the README's two commands on a machine made new again, as
# bench/PROFILE.md rounds 12 and 13 measured them:
#
#   bash bench/cold-start.sh run    # scripts/run.sh until /api/health answers
#   bash bench/cold-start.sh test   # CI=true bash .ci/run, no stdin
#
# "New": a fresh clone of this repository's HEAD, a fresh HOME and
# CARGO_HOME (no registry, no installed tools, no npm cache, a fresh cargo
# target directory); the rustup toolchain is kept (the
# README's premise). Every output line is stamped with the seconds since
# the start, in $OUT/log; how busy the cores were, from /proc/stat every
# 5 s, in $OUT/cpu; the result in $OUT/summary. Nothing outside
# $SIM (default /tmp/cold-start) is touched, except that `run` removes the
# wasm32 target so that its install is timed too.
set -uo pipefail
mode=${1:?run or test}
repo=$(cd "$(dirname "$0")/.." && pwd)
sim=${SIM:-/tmp/cold-start}
out=${OUT:-$sim/out}
rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
cargo_bin=$(dirname "$(command -v rustup)")

rm -rf "$sim"
mkdir -p "$sim/home/.cargo/bin" "$out"
for tool in cargo rustc rustup rustdoc rustfmt cargo-clippy cargo-fmt clippy-driver; do
  ln -s "$cargo_bin/rustup" "$sim/home/.cargo/bin/$tool"
done
git clone -q "$repo" "$sim/repo"
cd "$sim/repo"
export PYENV_ROOT=${PYENV_ROOT:-$HOME/.pyenv}
export HOME=$sim/home CARGO_HOME=$sim/home/.cargo RUSTUP_HOME=$rustup_home
export PATH="$sim/home/.cargo/bin:$PYENV_ROOT/shims:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
unset CARGO_TARGET_DIR

( while true; do echo "$(date +%s) $(head -1 /proc/stat)"; sleep 5; done ) > "$out/cpu" &
sampler=$!
trap 'kill $sampler 2>/dev/null' EXIT
start=$(date +%s.%N)
stamp() { while IFS= read -r line; do printf '%8.1f %s\n' "$(echo "$(date +%s.%N) - $start" | bc)" "$line"; done; }
echo "$mode at $(git rev-parse --short HEAD), started $(date -u +%FT%TZ)" > "$out/summary"

case "$mode" in
  run)
    rustup target remove wasm32-unknown-unknown >/dev/null 2>&1
    bash scripts/run.sh 2>&1 | stamp > "$out/log" &
    until curl -fsS -o /dev/null http://127.0.0.1:3000/api/health 2>/dev/null; do sleep 1; done
    echo "served after $(echo "$(date +%s.%N) - $start" | bc) s" >> "$out/summary"
    pkill -f "$sim/repo/target/release/highlighter"
    ;;
  test)
    CI=true bash .ci/run < /dev/null 2>&1 | stamp > "$out/log"
    echo "exit ${PIPESTATUS[0]} after $(echo "$(date +%s.%N) - $start" | bc) s" >> "$out/summary"
    ;;
  *) echo "run or test" >&2; exit 2 ;;
esac
cat "$out/summary"
