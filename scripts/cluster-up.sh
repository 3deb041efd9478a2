#!/usr/bin/env bash
# `npm run cluster:up`: mailferry's production shape without Docker. A
# PostgreSQL cluster of its own (Debian's postgresql, under the state folder,
# on loopback), Temporal's databases and schema (deploy/temporal/schema.sh),
# the Temporal server binary on them with deploy/temporal/config/mailferry.yaml
# (PostgreSQL persistence, SQL visibility: the configuration docker-compose.yml
# runs too), and the namespace with its retention and search attributes
# (deploy/temporal/namespace.ts). Prints the frontend address on stdout.
#
# The server and temporal-sql-tool are built once per machine and version with
# `go install` into ~/.cache/mailferry/temporal-server-<version>/ (about 5
# minutes on 2 cores), with the schema files of the same module.
#
# Idempotent: what already runs is left alone; a stopped part (after a crash,
# a kill or cluster:down) is started again on its data. Ports and folders:
# scripts/cluster-env.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/cluster-env.sh"

log() { echo "cluster-up: $*" >&2; }
die() { log "$*"; exit 1; }

for p in "$cluster_pg_port" "$cluster_frontend_port" "$cluster_frontend_http_port" "$cluster_history_port" "$cluster_matching_port" \
  "$cluster_worker_port" "$cluster_frontend_membership_port" "$cluster_history_membership_port" "$cluster_matching_membership_port" "$cluster_worker_membership_port"; do
  [[ "$p" =~ ^[0-9]+$ ]] && [ "$p" -gt 0 ] && [ "$p" -lt 32768 ] \
    || die "port '$p' is not a number between 1 and 32767 (Temporal's schema stores membership ports as smallint); see scripts/cluster-env.sh"
done

exec 9>"$cluster_state/up.lock"
flock 9

ensure_binaries() {
  built() { [ -x "$cluster_cache/server" ] && [ -x "$cluster_cache/sql" ] && [ -d "$cluster_cache/schema/postgresql/v12" ]; }
  built && return 0
  command -v go >/dev/null || die "Go is needed once to build Temporal server $cluster_temporal_version (https://go.dev/dl/, or apt-get install golang); nothing is cached in $cluster_cache yet."
  mkdir -p "$(dirname "$cluster_cache")"
  exec 8>"$cluster_cache.lock"
  flock 8 # another checkout may be building the same version
  if ! built; then
    local tmp="$cluster_cache.partial" started=$SECONDS dir module="go.temporal.io/server@v$cluster_temporal_version"
    rm -rf "$tmp" && mkdir -p "$tmp/schema/postgresql"
    log "building Temporal server $cluster_temporal_version and temporal-sql-tool with go install (once per machine and version; about 5 minutes on 2 cores)"
    GOBIN="$tmp" go install "go.temporal.io/server/cmd/server@v$cluster_temporal_version"
    GOBIN="$tmp" go install "go.temporal.io/server/cmd/tools/sql@v$cluster_temporal_version"
    dir="$(go mod download -json "$module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    [ -d "$dir/schema/postgresql/v12" ] || die "no schema/postgresql/v12 in $module ($dir)"
    cp -R "$dir/schema/postgresql/v12" "$tmp/schema/postgresql/v12"
    chmod -R u+w "$tmp"
    rm -rf "$cluster_cache" && mv "$tmp" "$cluster_cache"
    log "built in $((SECONDS - started)) s into $cluster_cache"
  fi
  exec 8>&-
}

ensure_postgresql() {
  if [ -z "$cluster_pg_bin" ] || [ ! -x "$cluster_pg_bin/initdb" ]; then
    [ "$(id -u)" = 0 ] || die "PostgreSQL is missing; install it as root: apt-get install -y postgresql"
    log "installing Debian's postgresql (without a cluster of its own)"
    mkdir -p /etc/postgresql-common/createcluster.d
    echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/mailferry.conf
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    cluster_pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  fi
  if [ ! -f "$cluster_pg_data/PG_VERSION" ]; then
    rm -rf "$cluster_pg_dir"
    mkdir -p "$cluster_pg_dir"
    (umask 077 && od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$cluster_db_password_file")
    if [ "$(id -u)" = 0 ]; then
      # postgres must reach its folder: let it traverse (not list) the folders above
      local d="$cluster_state"
      while [ "$d" != / ] && [ "$(stat -c %u "$d")" = 0 ]; do chmod o+x "$d"; d="$(dirname "$d")"; done
      chown postgres: "$cluster_pg_dir"
    fi
    chmod 700 "$cluster_pg_dir"
    local pwfile="$cluster_pg_dir/pwfile"
    (umask 077 && cat "$cluster_db_password_file" >"$pwfile")
    [ "$(id -u)" = 0 ] && chown postgres: "$pwfile"
    as_pg "$cluster_pg_bin/initdb" -D "$cluster_pg_data" -U "$cluster_db_user" --pwfile="$pwfile" \
      --auth-host=scram-sha-256 --auth-local=peer -E UTF8 --locale=C.UTF-8 >"$cluster_state/initdb.log" 2>&1 \
      || { rm -f "$pwfile"; tail -n 20 "$cluster_state/initdb.log" >&2; die "initdb failed; see $cluster_state/initdb.log"; }
    rm -f "$pwfile"
    log "PostgreSQL cluster created in $cluster_pg_data"
  fi
  if ! cluster_pg_running; then
    # TCP on loopback only, no Unix socket (its path could exceed the 107-byte limit in a deep checkout)
    as_pg "$cluster_pg_bin/pg_ctl" -D "$cluster_pg_data" -l "$cluster_pg_log" -w -t 60 \
      -o "-p $cluster_pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=''" start >/dev/null 9>&- \
      || { tail -n 20 "$cluster_pg_log" >&2; die "PostgreSQL did not start; see $cluster_pg_log"; }
    log "PostgreSQL started on 127.0.0.1:$cluster_pg_port"
  fi
}

# Runs a command with the environment deploy/temporal/config/mailferry.yaml and
# schema.sh read (exported, so the password never sits on a command line). Call
# it in a subshell or in the background: it execs.
with_server_env() {
  export TEMPORAL_DB_HOST=127.0.0.1 TEMPORAL_DB_PORT="$cluster_pg_port" TEMPORAL_DB_USER="$cluster_db_user"
  TEMPORAL_DB_PASSWORD="$(cat "$cluster_db_password_file")" && export TEMPORAL_DB_PASSWORD
  export TEMPORAL_DYNAMIC_CONFIG_FILE="$cluster_config/dynamicconfig.yaml" TEMPORAL_IP=127.0.0.1
  export TEMPORAL_FRONTEND_PORT="$cluster_frontend_port" TEMPORAL_FRONTEND_HTTP_PORT="$cluster_frontend_http_port"
  export TEMPORAL_HISTORY_PORT="$cluster_history_port" TEMPORAL_MATCHING_PORT="$cluster_matching_port" TEMPORAL_WORKER_PORT="$cluster_worker_port"
  export TEMPORAL_FRONTEND_MEMBERSHIP_PORT="$cluster_frontend_membership_port" TEMPORAL_HISTORY_MEMBERSHIP_PORT="$cluster_history_membership_port"
  export TEMPORAL_MATCHING_MEMBERSHIP_PORT="$cluster_matching_membership_port" TEMPORAL_WORKER_MEMBERSHIP_PORT="$cluster_worker_membership_port"
  export TEMPORAL_SQL_TOOL="$cluster_cache/sql" TEMPORAL_SCHEMA_DIR="$cluster_cache/schema/postgresql/v12"
  # marks the server as this state folder's (cluster_temporal_pid checks it)
  export MAILFERRY_CLUSTER_STATE="$cluster_state"
  exec "$@"
}

healthy() { "$temporal" operator cluster health --address "$cluster_address" 2>/dev/null | grep -q SERVING; }

ensure_temporal() {
  local pid deadline
  if pid="$(cluster_temporal_pid)"; then
    log "Temporal server already running (pid $pid)"
  else
    healthy && die "something else answers at $cluster_address; set MAILFERRY_CLUSTER_PORT_BASE to other ports"
    (with_server_env sh "$cluster_config/schema.sh") >>"$cluster_state/schema.log" 2>&1 \
      || { tail -n 20 "$cluster_state/schema.log" >&2; die "schema set-up failed; see $cluster_state/schema.log"; }
    with_server_env setsid nohup "$cluster_cache/server" --root "$cluster_config" --config config --env mailferry \
      --allow-no-auth start >>"$cluster_temporal_log" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$cluster_temporal_pidfile"
    log "Temporal server $cluster_temporal_version started (pid $pid), log $cluster_temporal_log"
  fi
  deadline=$((SECONDS + 90))
  until healthy; do
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$cluster_temporal_log" >&2; die "the Temporal server exited while starting; see $cluster_temporal_log"; }
    [ "$SECONDS" -lt "$deadline" ] || die "no answer at $cluster_address after 90 s; see $cluster_temporal_log"
    sleep 0.5
  done
}

temporal="$(bash "$root/scripts/ensure-temporal-cli.sh")"
ensure_binaries
ensure_postgresql
ensure_temporal
(cd "$root" && TEMPORAL_ADDRESS="$cluster_address" TEMPORAL_NAMESPACE=default npx --no-install tsx deploy/temporal/namespace.ts)
log "ready: Temporal frontend $cluster_address (PostgreSQL 127.0.0.1:$cluster_pg_port), state $cluster_state"
echo "$cluster_address"
