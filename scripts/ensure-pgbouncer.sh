#!/usr/bin/env bash
# Installs PgBouncer from Debian's packages when it is missing, so the
# security suite (internal/security) can check identity isolation through a
# transaction-mode pooler. Needs root (or sudo) only when it is missing.
# Debian starts a pgbouncer service of its own on install; the tests start
# private ones on free ports and do not use it.
set -euo pipefail
if command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
echo "pgbouncer not found: installing Debian's pgbouncer package" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq pgbouncer >/dev/null
exit 0
