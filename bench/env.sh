# The benchmark's own lab and Temporal dev server: other ports and state
# directories than the shared ones (and the fault suite's), so `npm run bench`
# never disturbs servers that tests or the demo use. Sourced by bench/run.sh.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export MAILFERRY_STATE_DIR="${MAILFERRY_BENCH_STATE_DIR:-$root/.state/bench}"
export MAILFERRY_LAB_DIR="$MAILFERRY_STATE_DIR/lab"
export MAILFERRY_LAB_PORT_BASE="${MAILFERRY_BENCH_PORT_BASE:-19000}"
export MAILFERRY_TEMPORAL_PORT="$((MAILFERRY_LAB_PORT_BASE + 733))"
export MAILFERRY_TEMPORAL_UI_PORT="$((MAILFERRY_LAB_PORT_BASE + 833))"
export MAILFERRY_UI_CODEC_ENDPOINT=""
export TEMPORAL_ADDRESS="127.0.0.1:$MAILFERRY_TEMPORAL_PORT"
