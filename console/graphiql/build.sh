#!/usr/bin/env bash
# build.sh regenerates console/static/graphiql.js and graphiql.css from
# entry.jsx and the exact npm versions in package-lock.json, byte for byte:
#   console/graphiql/build.sh [OUTDIR]   (default: console/static)
# GRAPHIQL_WORK names the directory npm installs into (default: this
# directory, whose node_modules git ignores); the Go test
# TestGraphiQLCurrent uses a cache directory and a temporary OUTDIR and
# compares the result with the committed files.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(mkdir -p "${1:-$here/../static}" && cd "${1:-$here/../static}" && pwd)"
work="${GRAPHIQL_WORK:-$here}"
mkdir -p "$work"
if [ "$work" != "$here" ]; then
  cp "$here/package.json" "$here/package-lock.json" "$here/entry.jsx" "$work/"
fi
cd "$work"
# npm ci installs exactly the lock file; skipped when node_modules was
# installed from this very lock file (the stamp build.sh leaves there).
if ! cmp -s package-lock.json node_modules/.rowguard-lock.json 2>/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error >&2
  cp package-lock.json node_modules/.rowguard-lock.json
fi
node_modules/.bin/esbuild entry.jsx --bundle --minify --format=iife --target=es2020 \
  --jsx=automatic --define:process.env.NODE_ENV='"production"' --legal-comments=eof \
  --charset=utf8 --log-level=warning --outfile="$out/graphiql.js"
