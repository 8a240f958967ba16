"""An account facing a WebSocket SIP server that sends garbage among good answers."""

from __future__ import annotations

import trio
import trio_websocket
from ws_registrar import answer_registers

from kazoo_actors.actors.account_state import AccountState
from kazoo_actors.engine import open_engine
from kazoo_actors.params import RegisterParams

GARBAGE = [
    "this is not SIP at all\r\n\r\n",
    "SIP/2.0 200 OK\r\nVia: \r\nCSeq: banana\r\n\r\n",
    "INVITE sip:x SIP/2.0\r\nContent-Length: 99999\r\n\r\nshort",
    "\x00\xff\xfe",
]


async def test_malformed_messages_are_dropped_and_the_account_registers() -> None:
    async def accept(request: trio_websocket.WebSocketRequest) -> None:
        await answer_registers(
            await request.accept(subprotocol="sip"),
            junk_before=[*GARBAGE, b"\x80\x81binary junk"],
            expires="120",
        )

    async with trio.open_nursery() as nursery:
        server = await nursery.start(trio_websocket.serve_websocket, accept, "127.0.0.1", 0, None)
        connected = trio.Event()
        params = RegisterParams(
            ws_url=f"ws://127.0.0.1:{server.port}/",
            realm="bad.test",
            private_identity="mallory",
            public_identity="mallory",
            password="x",
            on_connected=lambda _event: connected.set(),
        )
        async with open_engine() as engine:
            account = await engine.register(params)
            with trio.fail_after(5):
                await connected.wait()
            assert account.state is AccountState.REGISTERED
            stats = account.statistics()
            assert stats.malformed_dropped == len(GARBAGE) + 1  # and the binary frame
            assert engine.statistics().supervisor.failures == 0
            await account.logout()
        nursery.cancel_scope.cancel()
