#!/usr/bin/env bash
# Install Debian's headless-capable Chromium (the report test opens the usage report in it).
# Idempotent. Needs root (or sudo) for apt-get; used by .ci/run and `make chromium`.
set -euo pipefail

# shellcheck source=scripts/lib/apt-install.sh
. "$(dirname "$0")/lib/apt-install.sh"
apt_install chromium chromium
chromium --version
