#!/usr/bin/env bash
# Makes sure the local PostgreSQL can create the contrib extensions the migrations need
# (sessions: cube + earthdistance, for the nearest-charger index). They ship with the server
# package on Debian (postgresql-NN); elsewhere they come in postgresql-contrib, installed here
# with apt-get when it is missing and we may install packages.
set -uo pipefail

NEEDED=(cube earthdistance)
PSQL=(psql -X -q -t -A -h 127.0.0.1 -U postgres -d postgres)

missing() {
  local names
  names=$(printf "'%s'," "${NEEDED[@]}")
  "${PSQL[@]}" -c "SELECT count(*) FROM pg_available_extensions WHERE name IN (${names%,})" \
    2>/dev/null | grep -qx "${#NEEDED[@]}" && return 1
  return 0
}

if ! command -v psql >/dev/null; then
  echo "ensure-pg-extensions: psql not found; cannot check for ${NEEDED[*]}" >&2
  exit 0
fi
if ! missing; then exit 0; fi

version=$("${PSQL[@]}" -c "SHOW server_version_num" 2>/dev/null | cut -c1-2)
echo "ensure-pg-extensions: PostgreSQL ${version:-?} lacks ${NEEDED[*]}; installing contrib" >&2
if command -v apt-get >/dev/null && [ "$(id -u)" -eq 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "postgresql-contrib-${version}" \
    >/dev/null 2>&1 ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-contrib >/dev/null 2>&1
fi
if missing; then
  echo "ensure-pg-extensions: ${NEEDED[*]} still unavailable; install your distribution's" \
    "postgresql-contrib package for server ${version:-?}" >&2
  exit 1
fi
echo "ensure-pg-extensions: ${NEEDED[*]} available"
