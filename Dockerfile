# The mailferry worker (and, with another command, the codec server for the
# Temporal Web UI). Used by docker-compose.yml; build alone with
#   docker build -t mailferry .
# The worker runs as compiled JavaScript (dist/worker.js, built below from the
# repository's sources by worker/build.ts) through bin/mailferry-worker, the
# launcher that sets its Node and malloc options; other commands (the codec
# server, the namespace setup) run their TypeScript through tsx.
FROM node:20-bookworm-slim

WORKDIR /app

# Dependencies first, so a code change does not reinstall them. Dev
# dependencies stay: tsx is one. @temporalio/core-bridge ships a prebuilt
# linux binary, so no compiler is needed.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund && npm cache clean --force

COPY . .
# npm ci ran before the sources were here: build the workflow bundle and the compiled worker now, not at every start
RUN npm run build && mkdir -p /app/reports && chown node:node /app/reports

ENV NODE_ENV=production \
    MAILFERRY_REPORTS_DIR=/app/reports
USER node

CMD ["bin/mailferry-worker"]
