#!/usr/bin/env bash
# mermaid-env.sh - make Mermaid's own CLI (mmdc) and a headless Chromium available, then print
#   export HEX_ACTION_MMDC=/path/to/mmdc HEX_ACTION_MMDC_PUPPETEER=/path/to/puppeteer.json
# on stdout (everything else goes to stderr), so callers can run: eval "$(scripts/mermaid-env.sh)"
#
# Why: the job summary's diagrams are checked by Mermaid's own parser and renderer, not by string
# comparison (tests/test_summary_mermaid.py), and docs/summary-example.png is rendered with it. The
# machines here reach Debian's and npm's registries only, so (see shared/mermaid.md):
#   (a) Chromium comes from Debian (apt: chromium), never from Puppeteer's own download;
#   (b) @mermaid-js/mermaid-cli@$MMDC_VERSION is npm-installed with PUPPETEER_SKIP_DOWNLOAD=1 into
#       $HEX_ACTION_MERMAID_DIR (default /var/tmp/hex-action-mermaid), outside the work tree, so one
#       install serves every checkout on the machine;
#   (c) a puppeteer.json beside it points at /usr/bin/chromium (no sandbox: CI runs as root).
# Idempotent: when both are there it only checks and prints (well under a second).
#
# Usage: scripts/mermaid-env.sh
set -euo pipefail

MMDC_VERSION=12.2.0
STATE_DIR=${HEX_ACTION_MERMAID_DIR:-/var/tmp/hex-action-mermaid}
CHROMIUM=/usr/bin/chromium
MMDC="$STATE_DIR/node_modules/.bin/mmdc"
CONFIG="$STATE_DIR/puppeteer.json"

log() { printf 'mermaid-env: %s\n' "$*" >&2; }

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    if [[ $(id -u) -ne 0 ]]; then
        log "need root to apt-get install $*"
        exit 1
    fi
    log "installing $* (apt)"
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "$@" >&2
}

if [[ ! -x $CHROMIUM ]]; then
    apt_install chromium fonts-dejavu-core
fi
if ! command -v npm >/dev/null 2>&1; then
    apt_install nodejs npm
fi

installed=""
if [[ -f "$STATE_DIR/node_modules/@mermaid-js/mermaid-cli/package.json" ]]; then
    installed=$(node -p "require('$STATE_DIR/node_modules/@mermaid-js/mermaid-cli/package.json').version" 2>/dev/null || true)
fi
if [[ $installed != "$MMDC_VERSION" || ! -x $MMDC ]]; then
    log "installing @mermaid-js/mermaid-cli@$MMDC_VERSION into $STATE_DIR (npm, no browser download)"
    mkdir -p "$STATE_DIR"
    [[ -f "$STATE_DIR/package.json" ]] || printf '{"private": true}\n' >"$STATE_DIR/package.json"
    PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix "$STATE_DIR" --no-audit --no-fund --loglevel=error \
        "@mermaid-js/mermaid-cli@$MMDC_VERSION" >&2
fi
printf '{"executablePath": "%s", "args": ["--no-sandbox", "--disable-gpu"]}\n' "$CHROMIUM" >"$CONFIG.tmp"
mv "$CONFIG.tmp" "$CONFIG"
printf 'export HEX_ACTION_MMDC=%q HEX_ACTION_MMDC_PUPPETEER=%q\n' "$MMDC" "$CONFIG"
