"""The floor: the least a client can do to register over SIP-over-WebSocket, as a bench peer.

No SIP stack, no transactions, no refresh: one non-blocking socket per account, byte
templates, a regular expression for the nonce and MD5 digest. Like the engine, it sends
credentials in the first REGISTER once any account has learned the server's nonce (one
round trip instead of two). Two loops:

- ``--loop epoll``: one plain epoll loop. How many WebSocket registrations per second do
  *this machine and this Kamailio* allow when the client costs almost nothing?
- ``--loop trio``: the same exchange from Trio, one task per account as the engine's
  design requires, ``--concurrency`` of them in flight. What Trio's own scheduling and
  socket waits cost per registration, before any SIP work.

    python bench/peers/floor_register.py --loop epoll --ws-url ws://127.0.0.1:PORT \
        --realm R --password P --count 10000 --concurrency 50

Prints one JSON line: registered, failed, duration_s, registrations_per_s, cpu_s
(this process). The connections stay open until the process exits (no unregister);
``--first`` offsets the user names so that runs against one server never collide.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import resource
import select
import socket
import struct
import time
from urllib.parse import urlsplit

import trio

_NONCE = re.compile(rb'nonce="([^"]+)"')
_STATUS = re.compile(rb"SIP/2\.0 (\d{3}) ")


def _frame(payload: bytes) -> bytes:
    """A masked text frame (RFC 6455 s.5.2), as a client must send."""
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        head = struct.pack("!BB", 0x81, 0x80 | length)
    else:
        head = struct.pack("!BBH", 0x81, 0x80 | 126, length)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


def _unframe(data: bytes) -> bytes | None:
    """The payload of one complete unmasked server frame, or None if more bytes are needed."""
    if len(data) < 2:
        return None
    length = data[1] & 0x7F
    start = 2
    if length == 126:
        if len(data) < 4:
            return None
        (length,) = struct.unpack("!H", data[2:4])
        start = 4
    if len(data) < start + length:
        return None
    return data[start : start + length]


class Registrar:
    def __init__(self, host: str, port: int, realm: str, password: str) -> None:
        self.address = (host, port)
        self.realm = realm
        self.password = password
        self.nonce: str | None = None  # the latest nonce the server challenged with
        self.upgrade = (
            f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n\r\n"
        ).encode()

    def first_register(self, index: int) -> bytes:
        """CSeq 1: with credentials when a nonce is known (pre-emptive, as the engine)."""
        if self.nonce is None:
            return self.register(index, 1)
        return self.register(index, 1, self.authorization(index, self.nonce))

    def answer(self, index: int, payload: bytes) -> bytes | None:
        """The REGISTER answering a 401 (CSeq 2), learning its nonce; None without one."""
        found = _NONCE.search(payload)
        if found is None:
            return None
        self.nonce = found.group(1).decode()
        return self.register(index, 2, self.authorization(index, self.nonce))

    def register(self, index: int, cseq: int, authorization: str = "") -> bytes:
        user = f"floor{index}"
        realm = self.realm
        return (
            f"REGISTER sip:{realm} SIP/2.0\r\n"
            f"Via: SIP/2.0/WS floor{index}.invalid;branch=z9hG4bK{index}x{cseq}\r\n"
            "Max-Forwards: 70\r\n"
            f"To: <sip:{user}@{realm}>\r\n"
            f"From: <sip:{user}@{realm}>;tag=t{index}\r\n"
            f"Call-ID: floor-{index}\r\n"
            f"CSeq: {cseq} REGISTER\r\n"
            f"Contact: <sip:{user}@floor{index}.invalid;transport=ws>;expires=600\r\n"
            f"{authorization}"
            "Content-Length: 0\r\n\r\n"
        ).encode()

    def authorization(self, index: int, nonce: str) -> str:
        user = f"floor{index}"
        uri = f"sip:{self.realm}"
        ha1 = hashlib.md5(f"{user}:{self.realm}:{self.password}".encode()).hexdigest()
        ha2 = hashlib.md5(f"REGISTER:{uri}".encode()).hexdigest()
        response = hashlib.md5(f"{ha1}:{nonce}:00000001:c0ffee:auth:{ha2}".encode()).hexdigest()
        return (
            f'Authorization: Digest username="{user}", realm="{self.realm}", '
            f'nonce="{nonce}", uri="{uri}", response="{response}", algorithm=MD5, '
            'qop=auth, nc=00000001, cnonce="c0ffee"\r\n'
        )


def _registrar(args: argparse.Namespace) -> Registrar:
    url = urlsplit(args.ws_url)
    return Registrar(url.hostname or "127.0.0.1", url.port or 80, args.realm, args.password)


def _report(
    loop: str, registered: int, count: int, duration: float, cpu: float
) -> dict[str, object]:
    return {
        "event": "result",
        "peer": f"floor-{loop}",
        "registered": registered,
        "failed": count - registered,
        "duration_s": round(duration, 3),
        "registrations_per_s": round(registered / duration, 1) if duration else 0.0,
        "cpu_s": round(cpu, 3),
    }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_epoll(args: argparse.Namespace) -> dict[str, object]:
    registrar = _registrar(args)
    poller = select.epoll()
    sockets: dict[int, socket.socket] = {}
    state: dict[int, tuple[int, int, bytes]] = {}  # fd -> (account, step, buffered bytes)
    next_account = 0
    in_flight = 0
    registered = failed = 0
    kept: list[socket.socket] = []
    deadline = time.monotonic() + args.timeout
    started = time.perf_counter()
    cpu0 = _cpu_seconds()

    def start() -> None:
        nonlocal next_account, in_flight
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.connect_ex(registrar.address)
        fd = sock.fileno()
        sockets[fd] = sock
        state[fd] = (args.first + next_account, 0, b"")
        poller.register(fd, select.EPOLLOUT)
        next_account += 1
        in_flight += 1

    def finish(fd: int, ok: bool) -> None:
        nonlocal in_flight, registered, failed
        poller.unregister(fd)
        sock = sockets.pop(fd)
        del state[fd]
        in_flight -= 1
        if ok:
            registered += 1
            kept.append(sock)
        else:
            failed += 1
            sock.close()

    while (registered + failed < args.count) and time.monotonic() < deadline:
        while in_flight < args.concurrency and next_account < args.count:
            start()
        for fd, mask in poller.poll(1.0):
            account, step, buffered = state[fd]
            sock = sockets[fd]
            if mask & (select.EPOLLERR | select.EPOLLHUP):
                finish(fd, False)
                continue
            if step == 0:
                sock.send(registrar.upgrade)
                poller.modify(fd, select.EPOLLIN)
                state[fd] = (account, 1, b"")
                continue
            data = buffered + sock.recv(65536)
            if step == 1:
                if b"\r\n\r\n" not in data:
                    state[fd] = (account, 1, data)
                    continue
                if not data.startswith(b"HTTP/1.1 101"):
                    finish(fd, False)
                    continue
                sock.send(_frame(registrar.first_register(account)))
                state[fd] = (account, 2, b"")
                continue
            payload = _unframe(data)
            if payload is None:
                state[fd] = (account, step, data)
                continue
            status = _STATUS.match(payload)
            code = status.group(1) if status else b""
            if step == 2 and code == b"401":
                retry = registrar.answer(account, payload)
                if retry is None:
                    finish(fd, False)
                    continue
                sock.send(_frame(retry))
                state[fd] = (account, 3, b"")
            elif step in (2, 3) and code == b"200":
                finish(fd, True)
            elif code.startswith(b"1"):
                state[fd] = (account, step, b"")
            else:
                finish(fd, False)
    report = _report(
        "epoll", registered, args.count, time.perf_counter() - started, _cpu_seconds() - cpu0
    )
    for sock in kept:
        sock.close()
    return report


async def _register_trio(registrar: Registrar, account: int) -> trio.socket.SocketType:
    sock = trio.socket.socket()
    try:
        await sock.connect(registrar.address)
        await sock.send(registrar.upgrade)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = await sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed during the upgrade")
            data += chunk
        if not data.startswith(b"HTTP/1.1 101"):
            raise ConnectionError("upgrade refused")
        await sock.send(_frame(registrar.first_register(account)))
        payload = await _receive_frame(sock)
        status = _STATUS.match(payload)
        if status is not None and status.group(1) == b"401":
            retry = registrar.answer(account, payload)
            if retry is None:
                raise ConnectionError("no usable challenge")
            await sock.send(_frame(retry))
            status = _STATUS.match(await _receive_frame(sock))
        if status is None or status.group(1) != b"200":
            raise ConnectionError("not registered")
    except BaseException:
        sock.close()
        raise
    return sock


async def _receive_frame(sock: trio.socket.SocketType) -> bytes:
    data = b""
    while True:
        chunk = await sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
        payload = _unframe(data)
        if payload is not None:
            return payload


def run_trio(args: argparse.Namespace) -> dict[str, object]:
    registrar = _registrar(args)
    accounts = iter(range(args.first, args.first + args.count))
    kept: list[trio.socket.SocketType] = []

    async def worker() -> None:
        # A pool of --concurrency tasks, each registering one account after another: the
        # cheapest shape for Trio (no waiting tasks), so this is Trio's floor.
        for account in accounts:
            with contextlib.suppress(OSError, ConnectionError):
                kept.append(await _register_trio(registrar, account))

    async def main() -> dict[str, object]:
        started, cpu0 = time.perf_counter(), _cpu_seconds()
        with trio.move_on_after(args.timeout):
            async with trio.open_nursery() as nursery:
                for _ in range(args.concurrency):
                    nursery.start_soon(worker)
        report = _report(
            "trio", len(kept), args.count, time.perf_counter() - started, _cpu_seconds() - cpu0
        )
        for sock in kept:
            sock.close()
        return report

    return trio.run(main)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop", choices=("epoll", "trio"), default="epoll")
    parser.add_argument("--ws-url", required=True)
    parser.add_argument("--realm", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--first", type=int, default=0, help="number of the first user")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # one socket per account
    run = run_epoll if args.loop == "epoll" else run_trio
    print(json.dumps(run(args)), flush=True)


if __name__ == "__main__":
    main()
