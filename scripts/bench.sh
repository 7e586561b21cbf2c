#!/usr/bin/env bash
# The benchmark: rowguard vs PostGraphile v5 vs the PostgreSQL limit
# (pgbench replaying the transaction rowguard sends), on one throwaway
# PostgreSQL (or DATABASE_URL), with the results table written to
# bench/results/<date>.md. Installs PostgreSQL and wrk from Debian's
# packages when missing; PostGraphile and Node 22 come from npm into
# bench/.work/ (gitignored).
#
#   scripts/bench.sh                 # 100k articles, a few minutes
#   scripts/bench.sh --scale         # 1M articles
#   scripts/bench.sh -duration 3s -skip-compile   # quick look
#   go run ./bench -h                # every flag
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
scripts/ensure-postgres.sh
if ! command -v wrk >/dev/null 2>&1; then
  echo "wrk not found: installing Debian's wrk package" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi
if ! command -v npm >/dev/null 2>&1; then
  scripts/ensure-node.sh
fi
exec go run ./bench "$@"
