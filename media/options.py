"""How a media session is set up (immutable, validated when built)."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from media.dtmf import DEFAULT_DURATION_MS, DEFAULT_GAP_MS

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
KNOWN_CODECS = ("opus", "PCMU", "PCMA")


def _tuple_of_str(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Iterable):
        raise TypeError(f"expected a string or strings, got {value!r}")
    return tuple(str(item) for item in value)


@attrs.frozen
class IceServer:
    """A STUN or TURN server, e.g. ``IceServer("stun:stun.example.org:3478")``."""

    urls: tuple[str, ...] = attrs.field(converter=_tuple_of_str)
    username: str | None = None
    credential: str | None = None


def _check_codecs(instance: object, attribute: object, value: tuple[str, ...]) -> None:
    if not value:
        raise ValueError("at least one codec must be offered")
    known = {c.lower() for c in KNOWN_CODECS}
    for name in value:
        if name.lower() not in known:
            raise ValueError(f"unsupported codec {name!r}: choose from {', '.join(KNOWN_CODECS)}")


def _optional_addresses(value: object) -> tuple[str, ...] | None:
    return None if value is None else _tuple_of_str(value)


@attrs.frozen(kw_only=True)
class MediaOptions:
    """Options of a :class:`media.session.MediaSession`.

    - ``direction``: ``inactive`` offers/answers ``a=inactive`` for signalling-only calls.
    - ``ice_servers``: none by default (aiortc would otherwise use a public STUN server).
    - ``host_addresses``: gather host candidates only on these local addresses, e.g.
      ``("127.0.0.1",)`` to keep tests on loopback; None gathers on every interface but
      loopback, as aioice does.
    - ``codecs``: offered and accepted, in preference order.
    - ``telephone_events``: negotiate RFC 4733 ``telephone-event`` (8 kHz and 48 kHz clocks).
    - ``dtmf_duration_ms`` / ``dtmf_gap_ms``: length of each sent event and pause between events.
    - ``dtmf_buffer`` / ``state_buffer``: bound of the received-DTMF and state-change channels.
    - ``signalling_only``: write and check SDP (``a=inactive``) without any ICE/DTLS transport,
      for signalling-only load; needs ``direction="inactive"``.
    - ``probe_window_ms``: how much recent received audio ``MediaSession.probe()`` analyses.
    - ``opus_complexity``: libopus encoder complexity 0-10 (None: the library's default);
      lower trades quality for CPU per call.
    """

    direction: str = attrs.field(default="sendrecv", validator=attrs.validators.in_(DIRECTIONS))
    ice_servers: tuple[IceServer, ...] = attrs.field(default=(), converter=tuple)
    host_addresses: tuple[str, ...] | None = attrs.field(
        default=None, converter=_optional_addresses
    )
    codecs: tuple[str, ...] = attrs.field(
        default=KNOWN_CODECS, converter=_tuple_of_str, validator=_check_codecs
    )
    telephone_events: bool = True
    dtmf_duration_ms: int = attrs.field(default=DEFAULT_DURATION_MS)
    dtmf_gap_ms: int = attrs.field(default=DEFAULT_GAP_MS, validator=attrs.validators.ge(0))
    dtmf_buffer: int = attrs.field(default=32, validator=attrs.validators.ge(1))
    state_buffer: int = attrs.field(default=16, validator=attrs.validators.ge(1))
    probe_window_ms: int = attrs.field(default=200, validator=attrs.validators.ge(20))
    signalling_only: bool = attrs.field(default=False)
    opus_complexity: int | None = attrs.field(
        default=None,
        validator=attrs.validators.optional([attrs.validators.ge(0), attrs.validators.le(10)]),
    )

    @signalling_only.validator
    def _check_signalling_only(self, attribute: object, value: bool) -> None:
        if value and self.direction != "inactive":
            raise ValueError('signalling_only sessions carry no audio: use direction="inactive"')

    @dtmf_duration_ms.validator
    def _check_duration(self, attribute: object, value: int) -> None:
        if not 40 <= value <= 1300:
            raise ValueError("dtmf_duration_ms must be 40..1300")
