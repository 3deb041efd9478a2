#!/usr/bin/env bash
# `npm run replay:record`: re-records the histories test/replay.test.ts replays
# (test/fixtures/histories/*.json and its index.json), then replays them once.
#
# Expects nothing running: brings the lab up if it is down (and takes it down
# again at the end), and always starts a Temporal dev server of its own on a
# fresh database, so the listing holds only the scenario's runs and the
# continue-as-new suggestion comes after REPLAY_SUGGEST_EVENTS events (the
# organisation and the mailbox records continue-as-new within the scenario).
#
#   MAILFERRY_LAB_PORT_BASE          the lab's ports, as for the tests
#   MAILFERRY_REPLAY_TEMPORAL_PORT   the recording server's gRPC port (its Web UI: +1);
#                                    default: a port the system reports free
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

REPLAY_SUGGEST_EVENTS=20
port="${MAILFERRY_REPLAY_TEMPORAL_PORT:-$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')}"
state="$(mktemp -d "${TMPDIR:-/tmp}/mailferry-replay.XXXXXX")"
export MAILFERRY_STATE_DIR="$state" MAILFERRY_TEMPORAL_PORT="$port" MAILFERRY_TEMPORAL_UI_PORT="$((port + 1))"
export MAILFERRY_UI_CODEC_ENDPOINT="" TEMPORAL_ADDRESS="127.0.0.1:$port"
export MAILFERRY_TEMPORAL_EXTRA_ARGS="--dynamic-config-value limit.historyCount.suggestContinueAsNew=$REPLAY_SUGGEST_EVENTS"

started_lab=0
cleanup() {
  bash scripts/temporal-down.sh || true
  rm -rf "$state"
  [ "$started_lab" = 1 ] && npx --no-install tsx lab/cli.ts down || true
}
trap cleanup EXIT

npx --no-install tsx lab/cli.ts status >/dev/null 2>&1 || { started_lab=1; npx --no-install tsx lab/cli.ts up; }
bash scripts/temporal-up.sh
npx --no-install tsx test/fixtures/record-histories.ts
npx --no-install jest --runInBand test/replay.test.ts
