#!/usr/bin/env bash
# Stops what `npm run demo` left running: its worker (the PID in
# .state/worker.pid, nothing else), the lab and the Temporal dev server.
# Runs stay in .state/temporal/dev.db. `--worker-only` stops just the worker.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
state="${MAILFERRY_STATE_DIR:-$root/.state}"
pidfile="$state/worker.pid"

pid="$(cat "$pidfile" 2>/dev/null || true)"
if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'dist/worker.js'; then
  kill -TERM "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  echo "demo-down: worker stopped (pid $pid)." >&2
fi
rm -f "$pidfile"
[ "${1:-}" = --worker-only ] && exit 0
npx --no-install tsx lab/cli.ts down
bash scripts/temporal-down.sh
