#!/bin/sh
# Creates Temporal's two PostgreSQL databases (temporal, temporal_visibility)
# if missing and brings their schema to the version the server needs. Safe to
# run again: an existing database is kept and only newer schema versions are
# applied. Used by scripts/cluster-up.sh and by docker-compose.yml's
# temporal-schema job (in the temporalio/admin-tools image), so both set up the
# database the same way. POSIX sh, so it runs in any image.
#
#   TEMPORAL_SQL_TOOL      temporal-sql-tool binary (default: on PATH)
#   TEMPORAL_SCHEMA_DIR    the server's schema/postgresql/v12 folder
#   TEMPORAL_DB_HOST, TEMPORAL_DB_PORT, TEMPORAL_DB_USER, TEMPORAL_DB_PASSWORD
set -eu

tool="${TEMPORAL_SQL_TOOL:-temporal-sql-tool}"
: "${TEMPORAL_SCHEMA_DIR:?TEMPORAL_SCHEMA_DIR must name the schema/postgresql/v12 folder}"
: "${TEMPORAL_DB_HOST:?}" "${TEMPORAL_DB_PORT:?}" "${TEMPORAL_DB_USER:?}" "${TEMPORAL_DB_PASSWORD:?}"

# The password goes through the environment (SQL_PASSWORD), never the command line.
export SQL_PASSWORD="$TEMPORAL_DB_PASSWORD"
for db in temporal:temporal temporal_visibility:visibility; do
  name="${db%%:*}"
  dir="$TEMPORAL_SCHEMA_DIR/${db#*:}/versioned"
  [ -d "$dir" ] || { echo "schema.sh: no schema folder $dir" >&2; exit 1; }
  set -- --plugin postgres12 --ep "$TEMPORAL_DB_HOST" -p "$TEMPORAL_DB_PORT" -u "$TEMPORAL_DB_USER" --db "$name"
  "$tool" "$@" create-database
  "$tool" "$@" setup-schema -v 0.0
  "$tool" "$@" update-schema -d "$dir"
done
