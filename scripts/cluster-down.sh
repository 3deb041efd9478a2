#!/usr/bin/env bash
# `npm run cluster:down`: stops what scripts/cluster-up.sh started, the
# Temporal server (SIGTERM, SIGKILL after 30 s) and then PostgreSQL (fast
# shutdown). The data stays for the next cluster:up; `--purge` deletes the
# state folder as well. `--crash-postgres` stops only PostgreSQL, in immediate
# mode (what a power cut leaves: recovery from the WAL at the next start), for
# the cluster suite. Only the processes of this state folder are touched.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/cluster-env.sh"

log() { echo "cluster-down: $*" >&2; }
alive() { [ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat"; }

purge=0
case "${1:-}" in
  --purge) purge=1 ;;
  --crash-postgres)
    cluster_pg_running || { log "PostgreSQL not running."; exit 1; }
    as_pg "$cluster_pg_bin/pg_ctl" -D "$cluster_pg_data" -m immediate -w -t 60 stop >/dev/null
    log "PostgreSQL stopped in immediate mode."
    exit 0
    ;;
  "") ;;
  *) log "unknown argument '$1' (--purge or --crash-postgres)"; exit 2 ;;
esac

exec 9>"$cluster_state/up.lock"
flock 9

if pid="$(cluster_temporal_pid)"; then
  kill -TERM "$pid"
  for _ in $(seq 1 60); do alive "$pid" || break; sleep 0.5; done
  if alive "$pid"; then
    log "Temporal server pid $pid ignored SIGTERM for 30 s; sending SIGKILL."
    kill -KILL "$pid"
    while alive "$pid"; do sleep 0.2; done
  fi
  log "Temporal server stopped (pid $pid)."
else
  log "Temporal server not running."
fi
rm -f "$cluster_temporal_pidfile"

if cluster_pg_running; then
  as_pg "$cluster_pg_bin/pg_ctl" -D "$cluster_pg_data" -m fast -w -t 60 stop >/dev/null
  log "PostgreSQL stopped."
else
  log "PostgreSQL not running."
fi

if [ "$purge" = 1 ]; then
  exec 9>&-
  rm -rf "$cluster_state"
  log "removed $cluster_state"
fi
