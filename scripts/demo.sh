#!/usr/bin/env bash
# The demo: with no DATABASE_URL, starts a throwaway PostgreSQL, installs the
# examples/blog schema and its permissions, and shows them at work: in SQL
# as each role, over HTTP (GraphQL on 127.0.0.1:8080), and the custom claim
# of examples/blog/rowguard_claims.json in both modes (token claims on :8080,
# --fresh-claims on :8081) with a membership revoked mid-session.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
scripts/ensure-postgres.sh
exec go run ./cmd/rowguard demo "$@"
