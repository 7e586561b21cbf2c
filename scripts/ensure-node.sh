#!/usr/bin/env bash
# Installs Node.js and npm from Debian's packages when they are missing: the
# test suite checks each role's schema with graphql-js, a real GraphQL
# client. Needs root (or sudo) only when something is missing.
set -euo pipefail
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  exit 0
fi
echo "node/npm not found: installing Debian's nodejs and npm packages" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
