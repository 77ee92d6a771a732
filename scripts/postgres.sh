#!/usr/bin/env bash
# PostgreSQL for the tests and benchmarks, which make their own databases
# on 127.0.0.1:5432 as `postgres`: the machine's cluster where it has one
# (used as it is), started if it is down; otherwise Debian's package,
# installed, set to trust local connections (a test machine's cluster,
# reachable from this machine only), and started.
set -euo pipefail

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
  echo "==> installing PostgreSQL" >&2
  as_root apt-get update -q
  # No init system runs here: the package's own start may fail; the
  # cluster is started below either way.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql || true
  version=$(ls /etc/postgresql | sort -V | tail -n1)
  if [ -z "$version" ]; then
    echo "PostgreSQL did not install" >&2
    exit 1
  fi
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  as_root tee "$hba" >/dev/null <<'EOF'
# Written by Highlighter's scripts/postgres.sh for its tests: this machine
# only, no passwords.
local all all trust
host  all all 127.0.0.1/32 trust
host  all all ::1/128 trust
EOF
  if pg_lsclusters -h 2>/dev/null | awk '{print $4}' | grep -q online; then
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  fi
fi

version=$(ls /etc/postgresql | sort -V | tail -n1)
if ! pg_lsclusters -h 2>/dev/null | awk '{print $4}' | grep -q online; then
  echo "==> starting PostgreSQL $version" >&2
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi
