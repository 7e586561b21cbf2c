#!/usr/bin/env bash
# Installs PostgreSQL's server binaries from Debian's packages when they are
# missing, so the demo and the tests run on a fresh machine, PostGIS,
# which Hasura's conformance cases (graphql/conformance) use, and periods. Needs root (or
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
# periods (system-versioned tables), which the real project otohime-site__server
# uses (cmd/rowguard TestRealProjects, when ../shared/real-projects exists).
if [ -n "$ver" ] && [ ! -e "/usr/share/postgresql/$ver/extension/periods.control" ] && command -v apt-get >/dev/null 2>&1; then
  echo "periods not found for PostgreSQL $ver: installing postgresql-$ver-periods" >&2
  apt_install "postgresql-$ver-periods" || echo "periods could not be installed: TestRealProjects reports otohime-site__server's pre step as failing" >&2
fi
exit 0
