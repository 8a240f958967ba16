"""Settings of a lab Kamailio and the rendering of its config template."""

from __future__ import annotations

import re
import resource
from importlib import resources
from pathlib import Path

import attrs

TEMPLATE_NAME = "kamailio.cfg"
DEFAULT_MODULES_DIR = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules")

_PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")
# The password and realm are pasted into Kamailio string literals and SIP headers, so they
# are restricted to characters that need no quoting in either.
_PASSWORD = re.compile(r"[A-Za-z0-9._~-]{1,64}")
_REALM = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,250}[A-Za-z0-9])?")
_WANTED_OPEN_FILES = 32768
MEMORY_MANAGERS = ("tlsf", "fm", "qm")
DEFAULT_SHARED_MEMORY_MB = 1024
SHARED_MEMORY_PER_WEBSOCKET_KB = 128
"""Kamailio's shared memory per WebSocket connection: 70-110 KB measured (LAB-NOTES), rounded
up; a lab sized below it refuses connections ("could not allocate shared memory")."""
# The notifier is reached over UDP on loopback-style addresses: a host and a port, no URI.
_MWI_SERVER = re.compile(r"[A-Za-z0-9.-]{1,253}:([0-9]{1,5})")


def _check_password(_instance: object, _attribute: object, value: str) -> None:
    if not _PASSWORD.fullmatch(value):
        raise ValueError(f"password must match {_PASSWORD.pattern}")


def _check_realm(_instance: object, _attribute: object, value: str) -> None:
    if not _REALM.fullmatch(value):
        raise ValueError(f"realm must be a host name, got {value!r}")


def _check_mwi_server(_instance: object, _attribute: object, value: str | None) -> None:
    if value is None:
        return
    match = _MWI_SERVER.fullmatch(value)
    if match is None or not 0 < int(match.group(1)) < 65536:
        raise ValueError(f"mwi_server must be host:port, got {value!r}")


@attrs.frozen
class KamailioSettings:
    """What a test may change about the lab server; every field has a working default."""

    realm: str = attrs.field(default="kazoo.test", validator=_check_realm)
    password: str = attrs.field(default="lab-secret", validator=_check_password)
    # Short expiries are allowed by default so registration-refresh tests run in seconds.
    min_expires: int = attrs.field(default=10, validator=attrs.validators.ge(0))
    max_expires: int = attrs.field(default=3600, validator=attrs.validators.ge(1))
    default_expires: int = attrs.field(default=600, validator=attrs.validators.ge(1))
    children: int = attrs.field(default=2, validator=attrs.validators.ge(1))
    tcp_children: int = attrs.field(default=2, validator=attrs.validators.ge(1))
    shared_memory_mb: int = attrs.field(
        default=DEFAULT_SHARED_MEMORY_MB, validator=attrs.validators.ge(64)
    )
    tcp_max_connections: int = attrs.field(default=20000, validator=attrs.validators.ge(16))
    # Kamailio pings idle WebSocket clients; 0 disables it, 1 sends WebSocket pings.
    ws_keepalive_mechanism: int = attrs.field(default=1, validator=attrs.validators.in_((0, 1, 2)))
    ws_keepalive_timeout: int = attrs.field(default=180, validator=attrs.validators.ge(1))
    log_level: int = attrs.field(default=2, validator=attrs.validators.in_(range(-5, 4)))
    # Kamailio's shared- and private-memory allocator (its -x option). Debian's build defaults
    # to qm, the allocator with memory-debugging bookkeeping: under a registration storm it
    # spent 30 % of Kamailio's CPU in qm_malloc, and Kamailio's CPU per registration fell
    # from 0.60-0.69 ms to 0.36-0.53 ms with tlsf (bench/engine_peer.py registering and logging
    # out 5,000 accounts; fm was close to tlsf).
    memory_manager: str = attrs.field(
        default="tlsf", validator=attrs.validators.in_(MEMORY_MANAGERS)
    )
    # host:port of a message-summary notifier (kazoo_actors.lab.mwi_notifier): local users'
    # initial SUBSCRIBEs for message-summary are relayed there over UDP instead of looked up.
    mwi_server: str | None = attrs.field(default=None, validator=_check_mwi_server)

    def __attrs_post_init__(self) -> None:
        if self.min_expires > self.max_expires:
            raise ValueError("min_expires must not exceed max_expires")
        if not self.min_expires <= self.default_expires <= self.max_expires:
            raise ValueError("default_expires must lie between min_expires and max_expires")


def shared_memory_for(connections: int) -> int:
    """Megabytes of shared memory for a lab that holds ``connections`` WebSockets at once."""
    wanted = 256 + connections * SHARED_MEMORY_PER_WEBSOCKET_KB // 1024
    return max(DEFAULT_SHARED_MEMORY_MB, wanted)


def open_files_limit() -> int:
    """The descriptor limit Kamailio may ask for: it refuses to start if it cannot get it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        return _WANTED_OPEN_FILES
    return max(soft, min(hard, _WANTED_OPEN_FILES))


def _mwi_defines(mwi_server: str | None) -> str:
    """Preprocessor lines that switch the template's message-summary relay on, or a comment."""
    if mwi_server is None:
        return "# no message-summary notifier: SUBSCRIBEs go to registered users"
    return f'#!define WITH_MWI\n#!define MWI_DESTINATION "sip:{mwi_server};transport=udp"'


def render_config(
    settings: KamailioSettings,
    *,
    sip_port: int,
    ws_port: int,
    run_dir: Path,
    modules_dir: Path = DEFAULT_MODULES_DIR,
) -> str:
    """The shipped template with every placeholder filled; an unknown placeholder is an error."""
    values = {
        "LOG_LEVEL": str(settings.log_level),
        "CHILDREN": str(settings.children),
        "TCP_CHILDREN": str(settings.tcp_children),
        "SIP_PORT": str(sip_port),
        "WS_PORT": str(ws_port),
        "REALM": settings.realm,
        "PASSWORD": settings.password,
        "TCP_MAX_CONNECTIONS": str(settings.tcp_max_connections),
        "OPEN_FILES_LIMIT": str(open_files_limit()),
        "MODULES_DIR": f"{modules_dir}/",
        "RUN_DIR": str(run_dir),
        "DEFAULT_EXPIRES": str(settings.default_expires),
        "MIN_EXPIRES": str(settings.min_expires),
        "MAX_EXPIRES": str(settings.max_expires),
        "WS_KEEPALIVE_MECHANISM": str(settings.ws_keepalive_mechanism),
        "WS_KEEPALIVE_TIMEOUT": str(settings.ws_keepalive_timeout),
        "MWI_DEFINES": _mwi_defines(settings.mwi_server),
    }
    template = resources.files("kazoo_actors.lab").joinpath(TEMPLATE_NAME).read_text()

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"{TEMPLATE_NAME} uses unknown placeholder {name}")
        return values[name]

    return _PLACEHOLDER.sub(fill, template)
