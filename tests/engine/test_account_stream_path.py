"""An account whose server is named (a trio stream, not the poller): commands still interrupt it."""

from __future__ import annotations

import trio
import trio_websocket
from ws_registrar import answer_registers

from kazoo_actors.actors.account_state import AccountState
from kazoo_actors.engine import open_engine
from kazoo_actors.params import RegisterParams


async def test_a_named_server_registers_reconnects_and_logs_out() -> None:
    async def accept(request: trio_websocket.WebSocketRequest) -> None:
        await answer_registers(await request.accept(subprotocol="sip"))

    async with trio.open_nursery() as nursery:
        server = await nursery.start(trio_websocket.serve_websocket, accept, "127.0.0.1", 0, None)
        registered = trio.Event()
        params = RegisterParams(
            # A host name: connected through a trio stream, waited on in a cancel scope.
            ws_url=f"ws://localhost:{server.port}/",
            realm="named.test",
            private_identity="nina",
            public_identity="nina",
            password="x",
            on_connected=lambda _event: registered.set(),
        )
        async with open_engine(monitor_connectivity=False) as engine:
            account = await engine.register(params)
            with trio.fail_after(5):
                await registered.wait()
            registered = trio.Event()
            account.reconnect()  # a command interrupts the wait on the stream
            with trio.fail_after(5):
                await registered.wait()
            assert account.statistics().registrations == 2
            with trio.fail_after(5):
                await account.logout()
            assert account.state is AccountState.LOGGED_OUT
            assert engine.statistics().supervisor.failures == 0
        nursery.cancel_scope.cancel()
