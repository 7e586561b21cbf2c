#!/usr/bin/env bash
# Installs Debian's chromium when /usr/bin/chromium is missing: the
# console's browser test (go test ./console -run TestBrowser) drives it
# with playwright-core. Needs root (or sudo) only when it is missing.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
echo "chromium not found: installing Debian's chromium package" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
