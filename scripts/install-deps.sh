#!/bin/sh
# install-deps.sh - install the Debian packages the build, tests and devdb need.
# Runs apt-get only for what is missing, and only as root; otherwise it names
# the missing packages and fails. Usage: scripts/install-deps.sh [extra packages]
set -eu
pkgs="gcc make pkg-config libc6-dev libmicrohttpd-dev libjansson-dev libpq-dev check libyaml-dev libssl-dev
libcurl4-openssl-dev postgresql postgresql-client curl ca-certificates nodejs npm $*"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages:$missing (run as root, or: sudo apt-get install$missing)" >&2
    exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has empty package lists; refresh them once per hour at most.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -60 2>/dev/null | head -1)" ]; then
    apt-get update -qq
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
