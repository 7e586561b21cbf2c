#!/usr/bin/env bash
# The demo: with no DATABASE_URL, starts a throwaway PostgreSQL, installs the
# examples/blog schema and its permissions, and shows them at work.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
scripts/ensure-postgres.sh
exec go run ./cmd/rowguard demo "$@"
