#!/usr/bin/env bash
# The long form of internal/security's TestSoak (the test command runs it
# for 20 s): `rowguard serve` as a process of its own (every log type on,
# metrics on their own listener) under wrk (bench/wrk/soak.lua: 16
# connections, 50 users, every answer checked against its user) with 2 Go
# clients beside it, PostgreSQL restarted at a third and two thirds of the
# run; it fails on a foreign row, an answer that is neither data nor a
# clean Hasura error, or a server process whose goroutines or RSS grow.
# Usage: scripts/soak.sh [duration in minutes, as 20m (the default)]
set -euo pipefail
cd "$(dirname "$0")/.."
dur="${1:-20m}"
case "$dur" in
  *m) ;;
  *) echo "scripts/soak.sh: give the duration in minutes, as 5m or 20m (got $dur)" >&2; exit 2 ;;
esac
scripts/ensure-wrk.sh
echo "soak for $dur, $(date -u +%FT%TZ); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
ROWGUARD_SOAK_DURATION="$dur" go test ./internal/security -run '^TestSoak$' -count=1 -v -timeout "$(( ${dur%m} + 10 ))m" 2>&1 | grep -E 'soak|PASS|FAIL|ok|problem|grew|broken|foreign|wrk'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
