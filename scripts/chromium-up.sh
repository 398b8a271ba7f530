#!/usr/bin/env bash
# Install Debian's headless-capable Chromium (the report test opens the usage report in it).
# Idempotent. Needs root (or sudo) for apt-get; used by .ci/run and `make chromium`.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

if ! command -v chromium >/dev/null 2>&1; then
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >/dev/null \
        || { $SUDO apt-get update >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >/dev/null; }
fi
chromium --version
