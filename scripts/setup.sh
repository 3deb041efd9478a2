#!/usr/bin/env bash
# Installs what mailferry needs on a fresh machine: npm packages (from the
# lock file) and the Temporal CLI. The lab's Debian packages are installed by
# `npm run lab:up` itself. Idempotent and quiet when there is nothing to do.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
# npm ci's prepare step builds the workflow bundle and dist/worker.js; sources edited since then need new ones
npx --no-install tsx worker/build.ts --if-stale >&2
bash scripts/ensure-temporal-cli.sh >/dev/null
