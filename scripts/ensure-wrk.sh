#!/usr/bin/env bash
# Installs wrk from Debian's packages when it is missing, so the soak
# (internal/security TestSoak, scripts/soak.sh) runs under wrk rather than
# its Go clients alone. Needs root (or sudo) only when it is missing.
set -euo pipefail
if command -v wrk >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
echo "wrk not found: installing Debian's wrk package" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
exit 0
