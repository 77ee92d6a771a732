#!/usr/bin/env bash
# Starts the machine's PostgreSQL cluster if it is installed and down; the
# tests and benchmarks make their own databases on it.
set -euo pipefail
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  version=$(ls /etc/postgresql | sort -V | tail -n1)
  if ! pg_lsclusters -h 2>/dev/null | awk '{print $4}' | grep -q online; then
    echo "==> starting PostgreSQL $version" >&2
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
  fi
fi
