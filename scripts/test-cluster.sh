#!/usr/bin/env bash
# The cluster suite (`npm run test:cluster`, the last step of scripts/test.sh):
# mailferry on its production shape, a Temporal server on PostgreSQL
# (scripts/cluster-up.sh) and several worker processes, with a lab of its own.
# It kills a worker, the Temporal server and PostgreSQL during one batch, so
# everything it uses is its own (state in .state/cluster-suite/, other ports)
# and is stopped at the end unless MAILFERRY_KEEP_SERVERS=1.
#
#   CLUSTER_SEED=N                  replay the fault moments of an earlier run
#   MAILFERRY_CLUSTER_LAB_PORT_BASE the suite's lab ports (default 23000)
#   MAILFERRY_CLUSTER_PORT_BASE     the cluster's ports (default 22000; scripts/cluster-env.sh)
#   any arguments                   passed to jest
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

export MAILFERRY_STATE_DIR="$root/.state/cluster-suite"
export MAILFERRY_LAB_DIR="$MAILFERRY_STATE_DIR/lab"
export MAILFERRY_LAB_PORT_BASE="${MAILFERRY_CLUSTER_LAB_PORT_BASE:-23000}"
export MAILFERRY_CLUSTER_STATE_DIR="$MAILFERRY_STATE_DIR/cluster"
export CLUSTER_SEED="${CLUSTER_SEED:-$(( (RANDOM << 15) | RANDOM ))}"

cleanup() {
  if [ "${MAILFERRY_KEEP_SERVERS:-0}" != 1 ]; then
    bash scripts/cluster-down.sh || true
    npx --no-install tsx lab/cli.ts down || true
  fi
}
trap cleanup EXIT

started=$SECONDS
echo "== cluster suite: own lab $MAILFERRY_LAB_DIR (ports $MAILFERRY_LAB_PORT_BASE+), Temporal on PostgreSQL in $MAILFERRY_CLUSTER_STATE_DIR, CLUSTER_SEED=$CLUSTER_SEED" >&2
mkdir -p "$MAILFERRY_STATE_DIR"
rm -f "$MAILFERRY_STATE_DIR/csv-passwords.txt"
npx --no-install tsx lab/cli.ts up
TEMPORAL_ADDRESS="$(bash scripts/cluster-up.sh)"
export TEMPORAL_ADDRESS
echo "== cluster suite: servers ready in $((SECONDS - started)) s" >&2
npx --no-install jest -c test/cluster/jest.config.js --runInBand "$@"
echo "== cluster suite: $((SECONDS - started)) s in all" >&2
