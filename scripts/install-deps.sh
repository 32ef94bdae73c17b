#!/bin/sh
# install-deps.sh - install the Debian packages the build, tests and devdb need.
# Each need is checked by what it provides (a command, a pkg-config module, a
# file), not by package name, so an equivalent install from elsewhere (e.g.
# Node.js from another repository) counts. apt-get runs only for what is
# missing, and only as root; otherwise the missing packages are named.
set -eu
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pc() { have_cmd pkg-config && pkg-config --exists "$1"; }
have_numpy() { /usr/bin/python3 -c 'import numpy' >/dev/null 2>&1; }
have_glob() { for f in $1; do [ -e "$f" ] && return 0; done; return 1; }

missing=""
need() { # need CHECK ARG PACKAGE
    "$1" "$2" || missing="$missing $3"
}
need have_cmd gcc gcc
need have_cmd make make
need have_cmd pkg-config pkg-config
need have_glob /usr/include/stdio.h libc6-dev
need have_pc libmicrohttpd libmicrohttpd-dev
need have_pc jansson libjansson-dev
need have_pc libpq libpq-dev
need have_pc check check
need have_pc yaml-0.1 libyaml-dev
need have_pc openssl libssl-dev
need have_pc zlib zlib1g-dev
need have_pc libcurl libcurl4-openssl-dev
need have_glob "/usr/lib/postgresql/*/bin/initdb" postgresql
need have_cmd psql postgresql-client
need have_cmd curl curl
need have_glob /etc/ssl/certs/ca-certificates.crt ca-certificates
need have_cmd node nodejs
need have_cmd npm npm
for extra in "$@"; do
    case "$extra" in
    fuzz) # make fuzz: clang and libFuzzer's runtime
        need have_cmd clang clang
        need have_glob "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a" libclang-rt-14-dev ;;
    pgbench) # make bench: the webhook ingest reference (Debian ships it with the server)
        need have_glob "/usr/lib/postgresql/*/bin/pgbench" postgresql ;;
    chromium) # make test-browser: the console in a real browser (Debian's chromium, driven by puppeteer-core)
        need have_cmd chromium chromium ;;
    numpy) # make bench: the numpy Monte Carlo reference (Debian's python3-numpy)
        need have_numpy x python3-numpy ;;
    *) need have_cmd "$extra" "$extra" ;;
    esac
done

[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing:$missing (run as root, or: sudo apt-get install$missing)" >&2
    exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has empty package lists; refresh them at most once an hour.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -60 2>/dev/null | head -1)" ]; then
    apt-get update -qq
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
