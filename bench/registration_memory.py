"""Memory held by one registered ``Registration`` (the engine keeps 10,000 of them).

    .venv/bin/python bench/registration_memory.py [--accounts 10000]

Each account gets its own credentials and goes through REGISTER, 401,
authenticated REGISTER and 200, so it holds what a registered account holds
between refreshes (its identifiers, one remembered nonce). tracemalloc counts
the Python allocations that stay alive, divided by the number of accounts.
"""

from __future__ import annotations

import argparse
import random
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sip_core import REGISTERED, UNAUTHORIZED
from protocols.sip.digest import DigestCredentials
from protocols.sip.message import parse_message
from protocols.sip.registration import Registration
from protocols.sip.registration_events import RegistrationState


def registered_accounts(count: int, rng: random.Random) -> list[Registration]:
    challenge = parse_message(UNAUTHORIZED)
    ok = parse_message(REGISTERED)
    accounts = []
    for index in range(count):
        registration = Registration(
            aor=f"sip:user{index}@example.com",
            credentials=DigestCredentials(f"user{index}", f"password-{index}"),
            rng=rng,
        )
        registration.register(0.0)
        for response in (challenge, ok):
            response.headers.set("CSeq", f"{registration.cseq} REGISTER")
            response.headers.set("Call-ID", registration.call_id)
            registration.receive_response(response, 0.01)  # type: ignore[arg-type]
        if registration.state is not RegistrationState.REGISTERED:
            raise RuntimeError(f"account {index} ended {registration.state}")
        accounts.append(registration)
    return accounts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    args = parser.parse_args()
    rng = random.Random(1)
    registered_accounts(10, rng)  # warm caches (regexes, the registrar URI) outside the count
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    accounts = registered_accounts(args.accounts, rng)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    held = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    print(f"accounts: {len(accounts):,}")
    print(f"bytes per registered Registration: {held / len(accounts):,.0f}")


if __name__ == "__main__":
    main()
