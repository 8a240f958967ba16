#!/bin/sh
# Installs everything kazoo-actors needs on a fresh Debian 12 machine (as root):
# the Debian packages for the real SIP server and fault tests and a C compiler
# (setup.py compiles the SIP core with mypyc), then a virtual environment in
# .venv with the project and its development tools.
set -eu
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends \
        kamailio kamailio-websocket-modules kamailio-tls-modules \
        sip-tester iproute2 procps python3-venv ca-certificates libopus0 \
        gcc libc6-dev python3-dev >/dev/null
fi

# Debian's own /usr/bin/python3 is preferred over whatever python3 comes first on PATH: it is
# built with profile-guided optimisation and LTO and linked statically, while a pyenv build
# (--enable-shared, no PGO) spent 20-25 % more CPU per registration here. PYTHON overrides.
if [ -z "${PYTHON:-}" ]; then
    PYTHON=python3
    if /usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        PYTHON=/usr/bin/python3
    fi
fi
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# Dependencies and tools first (the package itself as plain Python), then the package built
# again without build isolation: mypyc (setup.py) type-checks the modules it compiles against
# the installed packages (trio, attrs, ...), which an isolated build environment lacks.
PIP=".venv/bin/python -m pip install -q --disable-pip-version-check"
$PIP 'setuptools>=77'
KAZOO_ACTORS_PURE_PYTHON=1 $PIP -e '.[dev]'
$PIP --no-build-isolation --no-deps -e .
