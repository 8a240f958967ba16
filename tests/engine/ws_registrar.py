"""A registrar in the test's own process: a trio-websocket handler answering REGISTERs."""

from __future__ import annotations

from collections.abc import Sequence

import trio_websocket

from protocols.sip.message import parse_message
from protocols.sip.replies import response_to


async def answer_registers(
    ws: trio_websocket.WebSocketConnection,
    *,
    junk_before: Sequence[str | bytes] = (),
    expires: str | None = None,
) -> None:
    """Answer every REGISTER (un-REGISTERs included) 200 OK with its Contact.

    The 200 grants ``expires``, or echoes the request's Expires (120 without
    one); each frame of ``junk_before`` goes out before every answer.
    """
    try:
        while True:
            frame = await ws.get_message()
            request = parse_message(frame.encode() if isinstance(frame, str) else frame)
            for junk in junk_before:
                await ws.send_message(junk)
            ok = response_to(request, 200, to_tag="srv1")  # type: ignore[arg-type]
            ok.headers.add("Contact", request.headers.get("Contact") or "")
            ok.headers.add("Expires", expires or request.headers.get("Expires") or "120")
            await ws.send_message(bytes(ok).decode())
    except trio_websocket.ConnectionClosed:
        pass
