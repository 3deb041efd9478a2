#!/usr/bin/env bash
# Stops the dev server that scripts/temporal-up.sh started (SIGTERM, then
# SIGKILL after 30 s). Runs stay in .state/temporal/dev.db for the next start.
# Only the process recorded in .state/temporal/pid is touched.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="${MAILFERRY_STATE_DIR:-$root/.state}/temporal"  # the same MAILFERRY_STATE_DIR as temporal-up.sh
pidfile="$state/pid"

log() { echo "temporal-down: $*" >&2; }

# A zombie (exited, not yet reaped by a parent that is not us) counts as gone.
alive() { [ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat"; }

pid="$(cat "$pidfile" 2>/dev/null || true)"
if [ -z "$pid" ] || ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'server start-dev'; then
  rm -f "$pidfile"
  log "not running."
  exit 0
fi

kill -TERM "$pid"
for _ in $(seq 1 60); do
  alive "$pid" || break
  sleep 0.5
done
if alive "$pid"; then
  log "pid $pid ignored SIGTERM for 30 s; sending SIGKILL."
  kill -KILL "$pid"
  while alive "$pid"; do sleep 0.2; done
fi
rm -f "$pidfile"
log "stopped (pid $pid)."
