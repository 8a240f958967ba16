"""Who a call is with: targets the program gives, and the caller an INVITE names."""

from __future__ import annotations

import functools

from sipmessage import Address, Request

from kazoo_actors.call import CallError
from protocols.sip import checked_headers


def caller_identity(invite: Request) -> tuple[str, str, str]:
    """Display name, user part and URI of From (``caller_name``, ``caller_number``)."""
    address = checked_headers.from_address(invite)
    return (address.name or "").strip('"'), address.uri.user or "", str(address.uri)


@functools.lru_cache(maxsize=256)
def normalise_target(target: str, realm: str) -> str:
    """``bob`` or ``bob@host`` become SIP URIs (kazoo.js accepted bare numbers).

    Kept per text: a load test or a dialler calls the same targets again and again,
    and checking one with sipmessage's parser cost ~2 % of a signalling-only run."""
    text = target.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    if ":" not in text.split("@")[0]:
        text = f"sip:{text}" if "@" in text else f"sip:{text}@{realm}"
    try:
        Address.parse(f"<{text}>")
    except ValueError as exc:
        raise CallError(f"not a SIP address: {target!r}") from exc
    return text
