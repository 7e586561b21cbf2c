#!/usr/bin/env bash
# govulncheck over the whole module. The vulnerability database comes from
# vuln.go.dev; where that is unreachable, from ROWGUARD_VULNDB: a directory
# holding Go's reports as OSV files (ID/GO-*.json, e.g. data/osv of a
# github.com/golang/vulndb checkout copied to DIR/ID), indexed here by
# scripts/vulndb. With neither, it says so and exits 0 without a verdict:
# the test log then shows that no vulnerability check ran.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH)/bin"
version=v1.9.0
if ! govulncheck -version 2>/dev/null | grep -q "govulncheck@$version"; then
	go install "golang.org/x/vuln/cmd/govulncheck@$version"
fi
if command -v curl >/dev/null && curl -sS -m 15 -o /dev/null https://vuln.go.dev/index/db.json.gz 2>/dev/null; then
	exec govulncheck ./...
fi
if [ -n "${ROWGUARD_VULNDB:-}" ]; then
	go run ./scripts/vulndb "$ROWGUARD_VULNDB"
	echo "govulncheck: vuln.go.dev unreachable, using $ROWGUARD_VULNDB (modified $(cat "$ROWGUARD_VULNDB/index/db.json"))"
	exec govulncheck -db "file://$(cd "$ROWGUARD_VULNDB" && pwd)" ./...
fi
echo "govulncheck: NOT RUN: vuln.go.dev is unreachable and ROWGUARD_VULNDB is unset" >&2
