#!/usr/bin/env bash
# `npm run bench`: starts the benchmark's own lab and Temporal dev server
# (bench/env.sh: other ports and state directories, so shared servers are
# never touched), installs the peer tools if missing, runs bench/main.ts
# (arguments pass through, e.g. `npm run bench -- --quick`) and stops the
# servers it started. See bench/README.md for how long a run takes.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$root"

if ! command -v mbsync >/dev/null || ! command -v offlineimap >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "bench: install isync and offlineimap3 as root (apt-get install -y isync offlineimap3)" >&2; exit 1; }
  echo "bench: installing isync and offlineimap3" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends isync offlineimap3 >/dev/null
fi

# Without MAILFERRY_STATE_DIR support these scripts would act on the shared
# server's state (.state/temporal): refuse rather than stop someone's server.
for f in scripts/temporal-up.sh scripts/temporal-down.sh shared/envFile.ts; do
  grep -q MAILFERRY_STATE_DIR "$f" || { echo "bench: $f does not honour MAILFERRY_STATE_DIR; refusing to touch the shared servers" >&2; exit 1; }
done

# the worker runs compiled (dist/worker.js) with the prebuilt workflow bundle (its memory is measured here); rebuilt only if the sources changed
npx --no-install tsx worker/build.ts --if-stale >&2
started=$SECONDS
if [ "${MAILFERRY_BENCH_KEEP_SERVERS:-}" != 1 ]; then
  # A fresh lab and Temporal database every run: the seed is then the same each
  # time, and the last run's 1,000 orchestration users need no wiping.
  bash scripts/temporal-down.sh || true
  npx --no-install tsx lab/cli.ts down >&2 || true
  rm -rf "$MAILFERRY_STATE_DIR/lab" "$MAILFERRY_STATE_DIR/temporal" "$MAILFERRY_STATE_DIR/work"
fi
npx --no-install tsx lab/cli.ts up >&2
bash scripts/temporal-up.sh
# `--cluster`: the orchestration section also runs on Temporal on PostgreSQL, a cluster of the bench's own.
cluster=0
for a in "$@"; do [ "$a" = --cluster ] && cluster=1; done
export MAILFERRY_CLUSTER_STATE_DIR="$MAILFERRY_STATE_DIR/cluster"
export MAILFERRY_CLUSTER_PORT_BASE="${MAILFERRY_BENCH_CLUSTER_PORT_BASE:-22500}"
if [ "$cluster" = 1 ]; then
  [ "${MAILFERRY_BENCH_KEEP_SERVERS:-}" = 1 ] || bash scripts/cluster-down.sh --purge
  MAILFERRY_BENCH_CLUSTER_ADDRESS="$(bash scripts/cluster-up.sh)"
  export MAILFERRY_BENCH_CLUSTER_ADDRESS
fi
stop_servers() {
  bash scripts/temporal-down.sh || true
  [ "$cluster" = 1 ] && { bash scripts/cluster-down.sh || true; }
  npx --no-install tsx lab/cli.ts down >/dev/null || true
}
[ "${MAILFERRY_BENCH_KEEP_SERVERS:-}" = 1 ] || trap stop_servers EXIT
echo "bench: servers ready in $((SECONDS - started)) s" >&2
npx --no-install tsx bench/main.ts --setup-seconds "$((SECONDS - started))" "$@"
