#!/usr/bin/env bash
# Starts a Temporal dev server (`temporal server start-dev`) on loopback for
# tests and the demo, detached, and waits until it answers.
#
#   MAILFERRY_TEMPORAL_PORT        gRPC port (default 7233)
#   MAILFERRY_TEMPORAL_UI_PORT     Web UI port (default 8233)
#   MAILFERRY_UI_CODEC_ENDPOINT    codec server the Web UI calls to show decrypted
#                                  payloads (default http://127.0.0.1:8888; empty = none)
#   MAILFERRY_STATE_DIR            state directory (default .state); a second server
#                                  (the fault suite) uses its own
#   MAILFERRY_TEMPORAL_EXTRA_ARGS  more start-dev flags, word-split, e.g.
#                                  "--dynamic-config-value limit.historyCount.suggestContinueAsNew=50"
#
# State lives in .state/temporal/ (dev.db keeps runs across restarts, pid, server.log).
# The custom search attributes come from shared/searchAttributes.ts, so the
# server and the code can never disagree on their names; the namespace's
# retention from deploy/temporal/namespace.ts, like the cluster's and compose's.
# Idempotent: a server that already answers is left alone (exit 0).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="${MAILFERRY_STATE_DIR:-$root/.state}/temporal"
pidfile="$state/pid"
logfile="$state/server.log"
port="${MAILFERRY_TEMPORAL_PORT:-7233}"
ui_port="${MAILFERRY_TEMPORAL_UI_PORT:-8233}"
codec_endpoint="${MAILFERRY_UI_CODEC_ENDPOINT-http://127.0.0.1:8888}"
address="127.0.0.1:$port"

log() { echo "temporal-up: $*" >&2; }

temporal="$(bash "$root/scripts/ensure-temporal-cli.sh")"
mkdir -p "$state"
exec 9>"$state/up.lock"
flock 9

healthy() { "$temporal" operator cluster health --address "$address" 2>/dev/null | grep -q SERVING; }

our_server_pid() {
  local pid
  pid="$(cat "$pidfile" 2>/dev/null)" || return 1
  [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'server start-dev' && echo "$pid"
}

mapfile -t search_attributes < <(cd "$root" && npx --no-install tsx -e \
  'import { searchAttributeCliPairs } from "./shared/searchAttributes"; console.log(searchAttributeCliPairs().join("\n"));')
[ "${#search_attributes[@]}" -gt 0 ] || { log "could not read shared/searchAttributes.ts (run npm ci first)."; exit 1; }

# The namespace as every mailferry server has it (deploy/temporal/namespace.ts):
# the project's retention, set explicitly, and the search attributes (a server
# that is already up may predate a newly added one). Idempotent.
ensure_namespace() {
  (cd "$root" && TEMPORAL_ADDRESS="$address" TEMPORAL_NAMESPACE=default npx --no-install tsx deploy/temporal/namespace.ts)
}

wait_until_healthy() {
  local pid="$1" deadline=$((SECONDS + 60))
  until healthy; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      log "the server exited while starting; last lines of $logfile:"
      tail -n 20 "$logfile" >&2
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "no answer at $address after 60 s; see $logfile (stop it with scripts/temporal-down.sh)."
      return 1
    fi
    sleep 0.5
  done
}

if pid="$(our_server_pid)"; then
  wait_until_healthy "$pid"
  ensure_namespace
  log "already running (pid $pid) at $address, Web UI http://127.0.0.1:$ui_port"
  exit 0
fi
rm -f "$pidfile"
if healthy; then
  ensure_namespace
  log "a Temporal server not started by this script already answers at $address; using it."
  exit 0
fi

args=(server start-dev
  --ip 127.0.0.1 --port "$port" --ui-port "$ui_port"
  --db-filename "$state/dev.db"
  --namespace default
  --log-level warn)
for pair in "${search_attributes[@]}"; do args+=(--search-attribute "$pair"); done
[ -n "$codec_endpoint" ] && args+=(--ui-codec-endpoint "$codec_endpoint")
if [ -n "${MAILFERRY_TEMPORAL_EXTRA_ARGS:-}" ]; then
  read -ra extra <<<"$MAILFERRY_TEMPORAL_EXTRA_ARGS"
  args+=("${extra[@]}")
fi

# setsid + nohup: the server outlives this shell and the terminal or CI step that ran it.
setsid nohup "$temporal" "${args[@]}" >>"$logfile" 2>&1 </dev/null 9>&- &
pid=$!
echo "$pid" >"$pidfile"
wait_until_healthy "$pid"
ensure_namespace
log "started (pid $pid) at $address, Web UI http://127.0.0.1:$ui_port, log $logfile"
