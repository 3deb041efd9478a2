#!/usr/bin/env bash
# The main job of the README: on a fresh machine, installs what it needs,
# brings up the Temporal dev server and the lab (seeded), starts a worker, runs
# the demo batch from demo/batch.csv through the admin CLI, and prints the
# result, where the reports are, and the Web UI address. Servers stay up
# afterwards so you can explore; `npm run lab:down && npm run temporal:down`
# stops them.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-127.0.0.1:${MAILFERRY_TEMPORAL_PORT:-7233}}"

bash scripts/setup.sh
npx --no-install tsx lab/cli.ts up
npx --no-install tsx lab/cli.ts seed --profile "${MAILFERRY_SEED_PROFILE:-default}"
bash scripts/temporal-up.sh

eval "$(npx --no-install tsx lab/workerEnv.ts)"
export MAILFERRY_ORG="${MAILFERRY_ORG:-tailspintoys-demo-$(date +%s)}"
state="${MAILFERRY_STATE_DIR:-$root/.state}"
mkdir -p "$state"
echo "== starting a worker (log: $state/worker.log)"
node --import tsx worker/main.ts >"$state/worker.log" 2>&1 &
worker=$!
trap 'kill "$worker" 2>/dev/null || true' EXIT

mf() { npx --no-install tsx client/main.ts "$@"; }
echo "== mailferry settings set --lab   (organisation $MAILFERRY_ORG)"
mf settings set --lab --max-concurrent 3
echo "== mailferry batch start --csv demo/batch.csv --wait"
started=$SECONDS
mf batch start --csv demo/batch.csv --notify helpdesk@tailspintoys.com --wait
echo "   batch time: $((SECONDS - started)) s"
echo "== mailferry batch status"
mf batch status
echo
echo "== verifying every migrated mailbox: source and target compared message by message (lab/verify.ts)"
completed=$(mf batch status --json | node -e 'const s=JSON.parse(require("fs").readFileSync(0,"utf8")); for (const r of s.rows) if (r.state==="completed") console.log(r.address)')
for address in $completed; do
  npx --no-install tsx lab/verify.ts --address "$address" | tail -n 1
done
sink="$(npx --no-install tsx -e 'import {readLabInfo} from "./lab/info"; console.log(readLabInfo().smtp.messagesDir)')"
echo
echo "== report e-mails received by the lab's SMTP sink"
grep -h "^Subject: .*$MAILFERRY_ORG" "$sink"/*.eml 2>/dev/null | sed 's/^/   /' || true
echo
echo "Reports (CSV):       $state/reports/$MAILFERRY_ORG/"
echo "Report e-mails:      $sink"
echo "Temporal Web UI:     http://127.0.0.1:${MAILFERRY_TEMPORAL_UI_PORT:-8233}/namespaces/default/workflows?query=MailferryOrg%3D%22$MAILFERRY_ORG%22"
