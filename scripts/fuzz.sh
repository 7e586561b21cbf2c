#!/usr/bin/env bash
# Runs every fuzz target for a short bounded time (FUZZTIME, default 10s
# each): the metadata loader, the boolean-expression compiler, the claim
# path parser (claims) and the
# GraphQL planner must never panic, and generated SQL must always parse.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
FUZZTIME="${FUZZTIME:-10s}"
# Each line: package, target.
targets=$(grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do
  pkg="./$(dirname "${f#./}")"
  grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed "s|^func |$pkg |"
done | sort)
while read -r pkg target; do
  [ -n "$pkg" ] || continue
  echo "fuzz $pkg $target for $FUZZTIME"
  go test -run='^$' -fuzz="^${target}\$" -fuzztime="$FUZZTIME" "$pkg"
done <<< "$targets"
