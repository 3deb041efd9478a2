#!/usr/bin/env bash
# The fault and abuse suite (`npm run test:faults`): kills and freezes servers,
# so it runs on a lab and a Temporal dev server of its own (other ports, other
# directories), started here and stopped at the end; the shared ones are never
# touched. Prints the fault table and writes test-artifacts/faults/report.json.
#
#   FAULT_SEED=N     replay the worker-kill moments of an earlier run
#   any arguments    passed to jest (e.g. a file name to run one fault)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

export MAILFERRY_STATE_DIR="$root/.state/faults"
export MAILFERRY_LAB_DIR="$MAILFERRY_STATE_DIR/lab"
export MAILFERRY_LAB_PORT_BASE="${MAILFERRY_FAULTS_PORT_BASE:-27000}"
export MAILFERRY_TEMPORAL_PORT="${MAILFERRY_FAULTS_TEMPORAL_PORT:-27233}"
export MAILFERRY_TEMPORAL_UI_PORT="$((MAILFERRY_TEMPORAL_PORT + 1))"
export MAILFERRY_UI_CODEC_ENDPOINT=""
export TEMPORAL_ADDRESS="127.0.0.1:$MAILFERRY_TEMPORAL_PORT"
# the cloud Dovecot counts quota, so a fault can fill a mailbox (lab/servers/dovecot.ts)
export MAILFERRY_LAB_CLOUD_QUOTA=1
export FAULT_SEED="${FAULT_SEED:-$(( (RANDOM << 15) | RANDOM ))}"

cleanup() {
  if [ "${MAILFERRY_KEEP_SERVERS:-0}" != 1 ]; then
    bash scripts/temporal-down.sh || true
    npx --no-install tsx lab/cli.ts down || true
  fi
}
trap cleanup EXIT

echo "== fault suite: own lab $MAILFERRY_LAB_DIR (ports $MAILFERRY_LAB_PORT_BASE+), own Temporal $TEMPORAL_ADDRESS, FAULT_SEED=$FAULT_SEED" >&2
rm -rf test-artifacts/faults
mkdir -p "$MAILFERRY_STATE_DIR" test-artifacts/faults
rm -f "$MAILFERRY_STATE_DIR/csv-passwords.txt"
npx --no-install tsx lab/cli.ts up
bash scripts/temporal-up.sh

status=0
jest=(npx --no-install jest -c test/faults/jest.config.js)
if [ "$#" -gt 0 ]; then
  # the ignore pattern is an array option: a boolean after it keeps it from swallowing a file name
  "${jest[@]}" --testPathIgnorePatterns=secrets-scan --runInBand "$@" || status=$?
else
  # Server faults stop servers everyone uses: they run alone. The worker kills
  # (each on a task queue of its own) then run beside the input faults, which
  # touch no server: the kills spend most of their time waiting out activity
  # timeouts (5 minutes for a report), so the suite stays near 10 minutes.
  "${jest[@]}" --runInBand server-faults || status=$?
  "${jest[@]}" --maxWorkers=2 --testPathIgnorePatterns='secrets-scan|server-faults' || status=$?
fi
# Last, over everything the faults left behind: histories, logs, reports, e-mails.
npx --no-install jest -c test/faults/jest.config.js --runInBand secrets-scan || status=$?
npx --no-install tsx test/faults/report.ts || status=$?
exit "$status"
