# The production-shaped Temporal cluster of scripts/cluster-up.sh: versions,
# folders and ports. Sourced (by cluster-up.sh, cluster-down.sh,
# test-cluster.sh and bench/run.sh), never run. Every port is below 32768: the
# PostgreSQL schema stores membership ports as smallint.
#
#   MAILFERRY_CLUSTER_STATE_DIR   PostgreSQL data, server log and pid (default .state/cluster)
#   MAILFERRY_CLUSTER_PORT_BASE   every port below is derived from it (default 22000)
#   MAILFERRY_CLUSTER_PG_PORT, _FRONTEND_PORT, _FRONTEND_HTTP_PORT, _HISTORY_PORT, _MATCHING_PORT,
#   _WORKER_PORT, _FRONTEND_MEMBERSHIP_PORT, _HISTORY_MEMBERSHIP_PORT, _MATCHING_MEMBERSHIP_PORT,
#   _WORKER_MEMBERSHIP_PORT       one port each (default base+432, +233, +243, +234, +235, +239, +933, +934, +935, +939)
#   MAILFERRY_CACHE_DIR           where built binaries are kept, per version (default ~/.cache/mailferry)
#   MAILFERRY_PG_BIN              PostgreSQL's bin folder (default: the newest /usr/lib/postgresql/*/bin)
# shellcheck shell=bash

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cluster_temporal_version=1.29.1
cluster_cache="${MAILFERRY_CACHE_DIR:-$HOME/.cache/mailferry}/temporal-server-$cluster_temporal_version"
cluster_state="$(mkdir -p "${MAILFERRY_CLUSTER_STATE_DIR:-$root/.state/cluster}" && cd "${MAILFERRY_CLUSTER_STATE_DIR:-$root/.state/cluster}" && pwd)"
cluster_config="$root/deploy/temporal"

_base="${MAILFERRY_CLUSTER_PORT_BASE:-22000}"
cluster_pg_port="${MAILFERRY_CLUSTER_PG_PORT:-$((_base + 432))}"
cluster_frontend_port="${MAILFERRY_CLUSTER_FRONTEND_PORT:-$((_base + 233))}"
cluster_frontend_http_port="${MAILFERRY_CLUSTER_FRONTEND_HTTP_PORT:-$((_base + 243))}"
cluster_history_port="${MAILFERRY_CLUSTER_HISTORY_PORT:-$((_base + 234))}"
cluster_matching_port="${MAILFERRY_CLUSTER_MATCHING_PORT:-$((_base + 235))}"
cluster_worker_port="${MAILFERRY_CLUSTER_WORKER_PORT:-$((_base + 239))}"
cluster_frontend_membership_port="${MAILFERRY_CLUSTER_FRONTEND_MEMBERSHIP_PORT:-$((_base + 933))}"
cluster_history_membership_port="${MAILFERRY_CLUSTER_HISTORY_MEMBERSHIP_PORT:-$((_base + 934))}"
cluster_matching_membership_port="${MAILFERRY_CLUSTER_MATCHING_MEMBERSHIP_PORT:-$((_base + 935))}"
cluster_worker_membership_port="${MAILFERRY_CLUSTER_WORKER_MEMBERSHIP_PORT:-$((_base + 939))}"
cluster_address="127.0.0.1:$cluster_frontend_port"

cluster_pg_bin="${MAILFERRY_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"
cluster_pg_dir="$cluster_state/postgres"        # owned by the user PostgreSQL runs as
cluster_pg_data="$cluster_pg_dir/data"
cluster_pg_log="$cluster_pg_dir/server.log"
cluster_db_user=temporal
cluster_db_password_file="$cluster_state/db-password"
cluster_temporal_pidfile="$cluster_state/temporal.pid"
cluster_temporal_log="$cluster_state/temporal.log"

# initdb and postgres refuse to run as root: as root, PostgreSQL runs as Debian's `postgres` user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cluster_pg_running() {
  [ -n "$cluster_pg_bin" ] && [ -f "$cluster_pg_data/PG_VERSION" ] && as_pg "$cluster_pg_bin/pg_ctl" -D "$cluster_pg_data" status >/dev/null 2>&1
}

# The pid of the Temporal server this state folder started, if it runs.
cluster_temporal_pid() {
  local pid
  pid="$(cat "$cluster_temporal_pidfile" 2>/dev/null)" || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$pid/stat" \
    && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--env mailferry" \
    && tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "MAILFERRY_CLUSTER_STATE=$cluster_state" \
    && echo "$pid"
}
