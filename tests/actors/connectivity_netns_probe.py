"""Run inside a fresh network namespace: toggle links, print what the monitor saw.

Started by tests/actors/test_connectivity_netns.py as
``unshare --net --mount sh -c 'mount -t sysfs sysfs /sys && exec python THIS'`` (a private
sysfs, so /sys/class/net shows this namespace's interfaces).  Prints one JSON object per
line: ``{"step": ..., "address": ..., "status": ..., "interface": ..., "reason": ...}``.
"""

from __future__ import annotations

import json
import subprocess

import trio

from kazoo_actors.actors.connectivity import ConnectivityMonitor, PathChanged, PathWatch

# (step name, shell command, address whose watch must report a change)
STEPS = [
    ("lo up", "ip link set lo up", "127.0.0.1"),
    ("lo down", "ip link set lo down", "127.0.0.1"),
    ("lo up again", "ip link set lo up", "127.0.0.1"),
    (
        "veth up",
        "ip link add kz0 type veth peer name kz1 && ip addr add 10.77.0.1/24 dev kz0"
        " && ip link set kz1 up && ip link set kz0 up",
        "10.77.0.2",
    ),
    ("peer down (carrier lost, route kept)", "ip link set kz1 down", "10.77.0.2"),
    ("peer up", "ip link set kz1 up", "10.77.0.2"),
    ("link down (route removed)", "ip link set kz0 down", "10.77.0.2"),
    ("link up", "ip link set kz0 up", "10.77.0.2"),
]


def report(step: str, address: str, event: PathChanged | None, watch: PathWatch) -> None:
    line: dict[str, str | None] = {"step": step, "address": address, "status": str(watch.status)}
    if event is not None:
        line |= {"status": str(event.status), "interface": event.interface, "reason": event.reason}
    print(json.dumps(line), flush=True)


async def main() -> None:
    monitor = ConnectivityMonitor(period=0.05)
    async with trio.open_nursery() as nursery:
        await nursery.start(monitor.run)
        watches = {a: monitor.watch(a) for a in ("127.0.0.1", "10.77.0.2")}
        for address, watch in watches.items():
            report("initial", address, None, watch)
        for step, command, address in STEPS:
            subprocess.run(command, shell=True, check=True)
            event = None
            with trio.move_on_after(5):
                received = await watches[address].receive()
                assert isinstance(received, PathChanged)
                event = received
            report(step, address, event, watches[address])
        nursery.cancel_scope.cancel()


if __name__ == "__main__":
    trio.run(main)
