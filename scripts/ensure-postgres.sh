#!/usr/bin/env bash
# Installs PostgreSQL's server binaries from Debian's packages when they are
# missing, so the demo and the tests run on a fresh machine, and PostGIS,
# which Hasura's conformance cases (graphql/conformance) use. Needs root (or
# sudo) only when something is missing.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
updated=""
apt_install() {
  if [ -z "$updated" ]; then
    $SUDO apt-get update -qq
    updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  echo "PostgreSQL server binaries not found: installing Debian's postgresql package" >&2
  apt_install postgresql
  # Debian starts a cluster of its own on install; rowguard starts private ones.
fi
# PostGIS for the newest installed server (Debian names it per version).
ver=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
if [ -n "$ver" ] && [ ! -e "/usr/share/postgresql/$ver/extension/postgis.control" ] && command -v apt-get >/dev/null 2>&1; then
  echo "PostGIS not found for PostgreSQL $ver: installing postgresql-$ver-postgis-3" >&2
  apt_install "postgresql-$ver-postgis-3" || echo "PostGIS could not be installed: the conformance cases that use geometry will fail" >&2
fi
# The periods extension, which one of the real projects the runner sets up
# (../shared/real-projects, otohime-site__server) creates.
if [ -n "$ver" ] && [ ! -e "/usr/share/postgresql/$ver/extension/periods.control" ] && command -v apt-get >/dev/null 2>&1; then
  echo "periods not found for PostgreSQL $ver: installing postgresql-$ver-periods" >&2
  apt_install "postgresql-$ver-periods" || echo "periods could not be installed: the real-projects runner will fail on otohime-site__server" >&2
fi
exit 0
