#!/usr/bin/env bash
# Runs every fuzz target for a bounded number of executions (FUZZTIME,
# default 30000x each: about 3 to 20 s per target on 2 cores): the metadata loader, the boolean-expression compiler, the claim
# path parser (claims) and the
# GraphQL planner must never panic, and generated SQL must always parse.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
# A count, not a duration: Go 1.26's fuzz coordinator can fail a target
# with a bare "context deadline exceeded" when a duration ends while a
# worker is busy (go.dev/issue/75804, fixed in Go 1.27); a count has no
# deadline to race. Minimization is bounded by count for the same reason.
FUZZTIME="${FUZZTIME:-30000x}"
# Each line: package, target.
targets=$(grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do
  pkg="./$(dirname "${f#./}")"
  grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed "s|^func |$pkg |"
done | sort)
while read -r pkg target; do
  [ -n "$pkg" ] || continue
  echo "fuzz $pkg $target for $FUZZTIME"
  go test -run='^$' -fuzz="^${target}\$" -fuzztime="$FUZZTIME" -fuzzminimizetime=100x "$pkg"
done <<< "$targets"
