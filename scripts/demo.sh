#!/usr/bin/env bash
# The main job of the README: on a fresh machine, installs what it needs,
# brings up the Temporal dev server and the lab (seeded), starts a worker, runs
# the demo batch from demo/batch.csv through the admin CLI, and prints the
# result, where the reports are, and the Web UI address. The servers and the
# worker stay up afterwards, and the demo's settings (Temporal address, key,
# organisation, the lab's cloud side) are in .state/demo.env, which the CLI
# reads in a new terminal; `npm run demo:down` stops everything.
# MAILFERRY_DEMO_TARGET=m365 migrates into the lab's Microsoft 365 target
# instead (the Graph stand-in's tenant holding the seeded MEUs, mail over
# XOAUTH2 to the cloud Dovecot) and also checks contacts and events.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-127.0.0.1:${MAILFERRY_TEMPORAL_PORT:-7233}}"

bash scripts/setup.sh
npx --no-install tsx lab/cli.ts up
npx --no-install tsx lab/cli.ts seed --profile "${MAILFERRY_SEED_PROFILE:-default}"
bash scripts/temporal-up.sh
target="${MAILFERRY_DEMO_TARGET:-generic}"
case "$target" in
  generic) target_flags=() ;;
  m365)
    npx --no-install tsx lab/cli.ts tenant --provisioning-delay 5
    target_flags=(--target m365 --usage-location US --provisioning-poll 2 --exchange-guid-grace 0)
    ;;
  *) echo "demo: MAILFERRY_DEMO_TARGET is generic (the default) or m365, not $target" >&2; exit 2 ;;
esac

export MAILFERRY_ORG="${MAILFERRY_ORG:-tailspintoys-demo-$(date +%s)}"
state="${MAILFERRY_STATE_DIR:-$root/.state}"
mkdir -p "$state"
settings="$(npx --no-install tsx lab/workerEnv.ts --demo-env)"
echo "== settings of this demo: $settings"

# The worker outlives this script (like the servers), so `mailferry batch status`
# works from a new terminal; a worker of an earlier demo is replaced.
bash scripts/demo-down.sh --worker-only
echo "== starting a worker (log: $state/worker.log)"
MAILFERRY_ENV_FILE="$settings" setsid nohup bin/mailferry-worker >"$state/worker.log" 2>&1 </dev/null &
echo $! >"$state/worker.pid"
for _ in $(seq 1 120); do
  grep -q '"worker started"' "$state/worker.log" && break
  kill -0 "$(cat "$state/worker.pid")" 2>/dev/null || { echo "demo: the worker exited; $state/worker.log:" >&2; tail -n 20 "$state/worker.log" >&2; exit 1; }
  sleep 0.5
done

mf() { bin/mailferry --env-file "$settings" "$@"; }
echo "== mailferry settings set --lab${target_flags[*]:+ ${target_flags[*]}}   (organisation $MAILFERRY_ORG)"
mf settings set --lab --max-concurrent 3 "${target_flags[@]}"
echo "== mailferry batch start --csv demo/batch.csv --wait"
started=$SECONDS
mf batch start --csv demo/batch.csv --notify helpdesk@tailspintoys.com --wait
echo "   batch time: $((SECONDS - started)) s"
echo "== mailferry batch status"
mf batch status
echo
echo "== verifying every migrated mailbox: source and target compared message by message (lab/verify.ts)"
completed=$(mf batch status --json | node -e 'const s=JSON.parse(require("fs").readFileSync(0,"utf8")); for (const r of s.rows) if (r.state==="completed") console.log(r.address)')
verify_flags=()
# into m365 the worker opens the mailbox as the app (XOAUTH2), and Exchange identifies a message by its Message-ID
[ "$target" = m365 ] && verify_flags=(--m365 --by-message-id)
for address in $completed; do
  npx --no-install tsx lab/verify.ts --address "$address" "${verify_flags[@]}" | tail -n 1
done
if [ "$target" = m365 ]; then
  echo
  echo "== verifying contacts and events: the source's DAV items against the Graph stand-in, field by field (lab/verifyPim.ts)"
  for address in $completed; do
    npx --no-install tsx lab/verifyPim.ts --address "$address" | tail -n 1
  done
fi
sink="$(npx --no-install tsx -e 'import {readLabInfo} from "./lab/info"; console.log(readLabInfo().smtp.messagesDir)')"
echo
echo "== report e-mails received by the lab's SMTP sink"
# a long Subject is folded onto lines that begin with whitespace (RFC 5322 2.2.3): unfold the headers before picking it
awk -v org="$MAILFERRY_ORG" '
  function flush() { if (header ~ /^Subject: / && index(header, org)) print "   " header; header = "" }
  FNR == 1 { flush(); body = 0 }
  body { next }
  { sub(/\r$/, "") }
  /^$/ { flush(); body = 1; next }
  /^[ \t]/ { header = header $0; next }
  { flush(); header = $0 }
  END { flush() }
' "$sink"/*.eml 2>/dev/null || true
echo
echo "Reports (CSV):       $state/reports/$MAILFERRY_ORG/"
echo "Report e-mails:      $sink"
echo "Temporal Web UI:     http://127.0.0.1:${MAILFERRY_TEMPORAL_UI_PORT:-8233}/namespaces/default/workflows?query=MailferryOrg%3D%22$MAILFERRY_ORG%22"
echo
echo "In a new terminal, in $root: bin/mailferry batch status | reports open | doctor"
echo "(settings from $settings; the worker keeps running: npm run demo:down stops it and the servers)"
