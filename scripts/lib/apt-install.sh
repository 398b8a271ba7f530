# Sourced by the setup scripts: `apt_install PACKAGE COMMAND` installs Debian's PACKAGE unless
# COMMAND is already on PATH (refreshing the package index once if the first attempt fails).
# Sets SUDO to "sudo" when not root, for the caller's own privileged commands.
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

apt_install() {
    local package="$1" command="$2"
    if command -v "$command" >/dev/null 2>&1; then return 0; fi
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "$package" >/dev/null \
        || { $SUDO apt-get update >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "$package" >/dev/null; }
}
