"""Run inside a private network namespace (``unshare -n``) by test_link_loss_netns.py.

Brings ``lo`` up, starts a lab Kamailio, registers one account, sets ``lo`` down
and up again, and prints every event of the account as a JSON line, then
``{"done": ...}``. Only loopback exists in the namespace, so nothing leaves it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import trio

from kazoo_actors.engine import open_engine
from kazoo_actors.events import Notification
from kazoo_actors.lab.kamailio import KamailioServer
from kazoo_actors.params import RegisterParams


def link(state: str) -> None:
    subprocess.run(["ip", "link", "set", "lo", state], check=True)


def say(record: dict[str, object]) -> None:
    print(json.dumps(record), flush=True)


async def main() -> None:
    link("up")
    with KamailioServer() as server:
        async with open_engine(connectivity_period=0.2) as engine:
            account = await engine.register(
                RegisterParams(
                    ws_url=server.ws_url,
                    realm=server.realm,
                    private_identity="nina",
                    public_identity="nina",
                    password=server.password,
                    reconnect_delay=2000,
                )
            )
            events = account.events()
            with trio.fail_after(20):
                connected = 0
                async for event in events:
                    say(event.as_dict())
                    if event.key == "connected":
                        connected += 1
                        if connected == 1:
                            link("down")
                            say({"link": "down"})
                        else:
                            break
                    elif isinstance(event, Notification) and event.status == "offline":
                        await trio.sleep(1.0)
                        link("up")
                        say({"link": "up"})
            say({"done": True, "state": account.state.value})
            await account.logout()


if __name__ == "__main__":
    trio.run(main)
    sys.exit(0)
