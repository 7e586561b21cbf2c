#!/usr/bin/env bash
# The long form of internal/security's TestSoak (the test command runs it
# for 20 s): 16 clients of 50 users against the server with every log type
# and the metrics on, PostgreSQL restarted at a third and two thirds of the
# run; it fails on a foreign row, a broken HTTP exchange, or goroutines or
# RSS that grow. Usage: scripts/soak.sh [minutes, as 20m (the default)]
set -euo pipefail
cd "$(dirname "$0")/.."
dur="${1:-20m}"
echo "soak for $dur; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
ROWGUARD_SOAK_DURATION="$dur" go test ./internal/security -run '^TestSoak$' -count=1 -v -timeout "$(( ${dur%m} + 10 ))m" 2>&1 | grep -E 'soak|PASS|FAIL|ok|problem|grew|broken|foreign'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
