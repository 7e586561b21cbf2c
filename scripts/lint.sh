#!/usr/bin/env bash
# The static checks of the test command: go vet, staticcheck (installed from
# the Go module proxy at a pinned version when missing) and go mod tidy -diff
# (go.mod and go.sum say exactly what the code imports).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH)/bin"
STATICCHECK_VERSION=v0.8.2 # staticcheck 2026.2.2
if ! staticcheck -version 2>/dev/null | grep -q "(${STATICCHECK_VERSION#v})"; then
  echo "installing staticcheck $STATICCHECK_VERSION" >&2
  go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
fi
go vet ./...
staticcheck ./...
go mod tidy -diff
