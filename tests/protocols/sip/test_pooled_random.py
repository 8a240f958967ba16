"""PooledSystemRandom draws like random.SystemRandom, never hands the same bytes
out twice (threads included), and a forked child does not repeat its parent."""

from __future__ import annotations

import os
import threading

from protocols.sip.pooled_random import PooledSystemRandom


def test_draws_have_the_shapes_of_system_random() -> None:
    rng = PooledSystemRandom()
    for n in (0, 1, 7, 16, 17, 32, 100, 5000):
        assert len(rng.randbytes(n)) == n
    for k in (0, 1, 5, 8, 53, 64, 128, 129, 300):
        values = [rng.getrandbits(k) for _ in range(50)]
        assert all(0 <= v < 2**k for v in values)
        if k >= 16:
            assert max(values).bit_length() > k - 8  # the top bits are used too
    floats = [rng.random() for _ in range(1000)]
    assert all(0.0 <= f < 1.0 for f in floats)
    assert 0.4 < sum(floats) / len(floats) < 0.6
    assert 0 <= rng.randrange(10) < 10 and 1.0 <= rng.uniform(1.0, 2.0) <= 2.0


def test_no_chunk_is_handed_out_twice_across_threads() -> None:
    rng = PooledSystemRandom()
    drawn: list[list[bytes]] = [[], [], [], []]

    def draw(into: list[bytes]) -> None:
        for _ in range(3000):
            into.append(rng.randbytes(16))

    threads = [threading.Thread(target=draw, args=(into,)) for into in drawn]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [chunk for into in drawn for chunk in into]
    assert len(set(everything)) == len(everything) == 12000


def test_a_forked_child_does_not_repeat_its_parent() -> None:
    rng = PooledSystemRandom()
    rng.randbytes(16)  # the pool is filled before the fork
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        os.write(write_end, b"".join(rng.randbytes(16) for _ in range(8)))
        os._exit(0)
    os.close(write_end)
    child = b""
    while len(child) < 128:
        part = os.read(read_end, 128)
        if not part:
            break
        child += part
    os.close(read_end)
    os.waitpid(pid, 0)
    parent = b"".join(rng.randbytes(16) for _ in range(8))
    assert len(child) == 128
    assert {child[i : i + 16] for i in range(0, 128, 16)}.isdisjoint(
        parent[i : i + 16] for i in range(0, 128, 16)
    )
