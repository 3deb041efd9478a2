#!/usr/bin/env bash
# The test command of the README (and .ci/run): installs what it needs, brings
# up the lab (seeded) and a Temporal dev server, type-checks, and runs every
# jest suite against them, then the fault suite (npm run test:faults) and the
# cluster suite (npm run test:cluster: Temporal on PostgreSQL, several workers),
# each on servers of its own. Servers it started are stopped at the end unless MAILFERRY_KEEP_SERVERS=1.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-127.0.0.1:${MAILFERRY_TEMPORAL_PORT:-7233}}"

bash scripts/setup.sh
# The Web UI browser test drives Debian's Chromium (a browser download of a test tool's own fails here).
if [ ! -x /usr/bin/chromium ]; then
  echo "test: installing Debian's chromium for the browser test" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

started_lab=0
started_temporal=0
cleanup() {
  if [ "${MAILFERRY_KEEP_SERVERS:-0}" != 1 ]; then
    [ "$started_temporal" = 1 ] && bash scripts/temporal-down.sh || true
    [ "$started_lab" = 1 ] && npx --no-install tsx lab/cli.ts down || true
  fi
}
trap cleanup EXIT

npx --no-install tsx lab/cli.ts status >/dev/null 2>&1 || started_lab=1
npx --no-install tsx lab/cli.ts up
npx --no-install tsx lab/cli.ts seed --profile "${MAILFERRY_SEED_PROFILE:-default}"
temporal="$(bash scripts/ensure-temporal-cli.sh)"
"$temporal" operator cluster health --address "127.0.0.1:${MAILFERRY_TEMPORAL_PORT:-7233}" 2>/dev/null | grep -q SERVING || started_temporal=1
bash scripts/temporal-up.sh

echo "== type check" >&2
npx --no-install tsc --noEmit -p .
echo "== tests" >&2
npx --no-install jest --runInBand "$@"

# The whole suite (no jest arguments) ends with the README check (the demo on
# the main servers, then the README's CLI commands in a clean environment) and
# the fault and abuse suite, which runs on a lab and a Temporal server of its
# own: free the main ones first.
if [ $# -eq 0 ]; then
  echo "== README commands (the demo, then the CLI in a clean environment)" >&2
  npx --no-install tsx test/readme.check.ts
  cleanup
  started_lab=0
  started_temporal=0
  status=0
  echo "== fault suite" >&2
  npm run -s test:faults || status=$?
  echo "== cluster suite" >&2
  npm run -s test:cluster || status=$?
  exit "$status"
fi
