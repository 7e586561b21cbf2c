#!/usr/bin/env bash
# Installs PostgreSQL's server binaries from Debian's packages when they are
# missing, so the demo and the tests run on a fresh machine. Needs root (or
# sudo) only when something is missing.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
  exit 0
fi
echo "PostgreSQL server binaries not found: installing Debian's postgresql package" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
# Debian starts a cluster of its own on install; rowguard starts private ones.
exit 0
