#!/usr/bin/env bash
# Fuzzes the running server against its own OpenAPI document with
# schemathesis: every operation (the REST API and the pages' server
# functions, with form and JSON bodies), a bounded number of generated
# requests each (FUZZ_EXAMPLES, default 100), checked for server errors
# (5xx) and for answers that break the document (statuses, content types,
# headers and bodies it does not describe). The event streams are left
# out: they stay open by design, which a request-response fuzzer would
# wait out. Then tools/probe_edges.py sends what schemathesis does not:
# HEAD on every GET route, and every operation with a foreign Host.
#
# Uses the debug server the test command builds (HIGHLIGHTER_BIN to pick
# another) on a free port with a temporary SQLite database. The per-client
# limits are off: the fuzzer is one client sending thousands of requests
# (thousands of them for ids it made up), and a 429 would hide what it is
# looking for.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bin="${HIGHLIGHTER_BIN:-$HIGHLIGHTER_TARGET_DIR/debug/highlighter}"
examples="${FUZZ_EXAMPLES:-100}"
if [ ! -x "$bin" ]; then
  echo "no server binary at $bin: build it first (cargo leptos build)" >&2
  exit 1
fi
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
: > "$dir/empty.toml"
HIGHLIGHTER_CONFIG="$dir/empty.toml" \
HIGHLIGHTER_ADDR="127.0.0.1:$port" \
HIGHLIGHTER_DATABASE_URL="sqlite://$dir/fuzz.db" \
HIGHLIGHTER_SUBMIT_PER_MINUTE=0 \
HIGHLIGHTER_STREAMS_PER_CLIENT=0 \
HIGHLIGHTER_MISSES_PER_MINUTE=0 \
HIGHLIGHTER_CONNECTIONS_PER_PEER=0 \
LEPTOS_SITE_ROOT="$PWD/target/site" \
RUST_LOG=warn \
  "$bin" > "$dir/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
# Waits up to $2 seconds for $1 to answer 200; says so and fails if not.
await() {
  for _ in $(seq $(($2 * 5))); do
    curl -fs "http://127.0.0.1:$port$1" >/dev/null && return 0
    sleep 0.2
  done
  echo "$1 did not answer 200 in $2 s:" >&2
  cat "$dir/server.log" >&2
  exit 1
}
await /api/health 30
# /api/ready answers 503 while the engine warms its grammars (seconds when
# the node is quiet, longer on a busy machine), which the fuzzer would
# report as a server error: fuzz a node that is ready.
await /api/ready 180
mkdir -p test-results
fuzz() {
  local name=$1 config=$2
  shift 2
  schemathesis ${config:+--config-file "$config"} run "http://127.0.0.1:$port/api/openapi.json" "$@" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --exclude-path-regex '/events$' \
    --phases examples,coverage,fuzzing \
    --max-examples "$examples" \
    --seed 20261128 \
    --generation-database none \
    --no-color \
    --report junit --report-junit-path "test-results/schemathesis-$name.xml"
}
status=0
# 1. As anyone: random ids, no credentials. The dashboard's API is left
#    for last: from this machine with no token set it is open, and its bulk
#    delete would take the owner's snippet away from the second run.
echo "==> schemathesis, as anyone: $examples examples per operation" >&2
fuzz anyone "" --exclude-tag admin || status=$?
# A real snippet to fuzz against: sets `id` and `token` (its owner's).
new_snippet() {
  local created
  created=$(curl -fs "http://127.0.0.1:$port/api/snippets" -H 'content-type: application/json' \
    --data '{"code": "fn main() { println!(\"fuzz\"); }\n", "language": "rust"}')
  id=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])' <<<"$created")
  token=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["owner_token"])' <<<"$created")
}
# 2. As the owner of a real snippet, so that generated requests reach the
#    code behind the id and owner checks. Its deletion gets a pass of its
#    own (4): schemathesis orders operations as it likes, and a delete run
#    early left the rest of this pass fuzzing a snippet that was gone.
new_snippet
printf '[parameters]\n"path.id" = "%s"\n' "$id" > "$dir/owner.toml"
echo "==> schemathesis, as the owner of $id: $examples examples per operation" >&2
fuzz owner "$dir/owner.toml" -H "Authorization: Bearer $token" --exclude-tag admin --exclude-method DELETE || status=$?
# 3. As the operator (a loopback client, no token configured): filters,
#    cursors, ids, bulk actions and pause against a queue that has jobs.
printf '[parameters]\n"path.id" = "%s"\n' "$id" > "$dir/operator.toml"
echo "==> schemathesis, as the operator: $examples examples per operation" >&2
fuzz operator "$dir/operator.toml" --include-tag admin || status=$?
# 4. The owner's delete, on a snippet of its own (the operator's bulk
#    actions may have taken the first one). Only the first delete can
#    succeed: schemathesis reports the rest, which find the snippet gone,
#    as "mostly rejected generated data".
new_snippet
printf '[parameters]\n"path.id" = "%s"\n' "$id" > "$dir/delete.toml"
echo "==> schemathesis, deleting as the owner of $id: $examples examples" >&2
fuzz owner-delete "$dir/delete.toml" -H "Authorization: Bearer $token" --exclude-tag admin --include-method DELETE || status=$?
# 5. HEAD requests and a foreign Host (tools/probe_edges.py).
echo "==> HEAD on every GET route, and every operation with a foreign Host" >&2
python3 tools/probe_edges.py "http://127.0.0.1:$port" || status=$?
if grep -q "panicked" "$dir/server.log"; then
  echo "the server panicked while fuzzed:" >&2
  grep -A5 "panicked" "$dir/server.log" >&2
  status=1
fi
exit "$status"
