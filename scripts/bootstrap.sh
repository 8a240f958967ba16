#!/bin/sh
# Installs everything kazoo-actors needs on a fresh Debian 12 machine (as root):
# the Debian packages for the real SIP server and fault tests, then a virtual
# environment in .venv with the project and its development tools.
set -eu
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends \
        kamailio kamailio-websocket-modules kamailio-tls-modules \
        sip-tester iproute2 procps python3-venv ca-certificates libopus0 >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
