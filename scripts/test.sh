#!/usr/bin/env bash
# The test command: installs what is missing, then runs every test against a
# real PostgreSQL (a private throwaway cluster, or DATABASE_URL when set).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
scripts/ensure-postgres.sh
scripts/ensure-node.sh
scripts/ensure-chromium.sh
scripts/ensure-pgbouncer.sh
scripts/ensure-wrk.sh
scripts/lint.sh
# cmd/rowguard runs the real projects end to end (several minutes on a busy
# 2-core machine): more than go test's default 10 minutes per package.
go test -count=1 -timeout 30m ./... "$@"
scripts/fuzz.sh
scripts/vulncheck.sh
