# The mailferry worker (and, with another command, the codec server for the
# Temporal Web UI). Used by docker-compose.yml; build alone with
#   docker build -t mailferry .
# TypeScript runs through tsx, as in development, so there is no build step
# and the image runs exactly the code in the repository.
FROM node:20-bookworm-slim

WORKDIR /app

# Dependencies first, so a code change does not reinstall them. Dev
# dependencies stay: tsx is one. @temporalio/core-bridge ships a prebuilt
# linux binary, so no compiler is needed.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund && npm cache clean --force

COPY . .
# npm ci ran before the sources were here: bundle the workflow code now, so the worker does not at every start
RUN npm run bundle:workflows && mkdir -p /app/reports && chown node:node /app/reports

ENV NODE_ENV=production \
    MAILFERRY_REPORTS_DIR=/app/reports
USER node

CMD ["npx", "tsx", "worker/main.ts"]
