#!/usr/bin/env bash
# Install (if needed) and start a local PostgreSQL, with the role and database the tests use:
#   postgresql://analytics:analytics@localhost:5432/analytics
# Idempotent. Needs root (or sudo) for apt-get and the service; used by .ci/run and `make postgres`.
set -euo pipefail

# shellcheck source=scripts/lib/apt-install.sh
. "$(dirname "$0")/lib/apt-install.sh"
apt_install postgresql pg_lsclusters

cluster="$(pg_lsclusters --no-header | awk 'NR==1 {print $1" "$2}')"
if [ -z "$cluster" ]; then
    version="$(ls /usr/lib/postgresql | sort -V | tail -1)"
    $SUDO pg_createcluster "$version" main >/dev/null
    cluster="$version main"
fi
# shellcheck disable=SC2086
$SUDO pg_ctlcluster $cluster start 2>/dev/null || true
for _ in $(seq 1 30); do
    if $SUDO -u postgres psql -qtAc "select 1" >/dev/null 2>&1 || su postgres -c "psql -qtAc 'select 1'" >/dev/null 2>&1; then break; fi
    sleep 1
done

as_postgres() {
    if [ -n "$SUDO" ]; then sudo -u postgres psql -v ON_ERROR_STOP=1 -qtAc "$1"; else su postgres -c "psql -v ON_ERROR_STOP=1 -qtAc \"$1\""; fi
}
if [ "$(as_postgres "select 1 from pg_roles where rolname = 'analytics'")" != "1" ]; then
    as_postgres "create role analytics login password 'analytics' createdb"
fi
if [ "$(as_postgres "select 1 from pg_database where datname = 'analytics'")" != "1" ]; then
    as_postgres "create database analytics owner analytics"
fi
echo "PostgreSQL is up: postgresql://analytics:analytics@localhost:5432/analytics"
