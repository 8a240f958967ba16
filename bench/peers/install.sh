#!/bin/sh
# Installs the benchmark peers' Node packages, exactly as pinned in package-lock.json, into
# bench/peers/node_modules (never globally). On a fresh Debian 12 run as root it first
# installs node and npm from apt when they are missing.
set -eu
cd "$(dirname "$0")"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
    else
        echo "install.sh: node and npm are missing (Debian: apt-get install nodejs npm)" >&2
        exit 1
    fi
fi

npm ci --no-audit --no-fund --loglevel=error
