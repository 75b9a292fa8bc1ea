#!/bin/sh
# Installs Debian packages that a make target needs, once: as root, through sudo, or by telling the
# user the command to run. Usage: scripts/apt-install.sh "WHAT NEEDS THEM" PACKAGE...
set -eu
why=$1
shift
echo "Installing $* ($why)"
if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "$why needs $*, and this user can neither install them nor use sudo." >&2
    echo "Run as root:  apt-get update && apt-get install -y $*" >&2
    exit 1
fi
if ! { $SUDO apt-get update && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"; }; then
    echo "Installing failed. Run:  sudo apt-get update && sudo apt-get install -y $*" >&2
    exit 1
fi
