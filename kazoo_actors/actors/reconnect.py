"""The reconnect actor: runs reconnection attempts for one account by the seed's rules.

Usage (inside the account that owns it)::

    reconnector = Reconnector(policy, attempt=try_to_register, on_attempt=announce,
                              gate=engine_gate, rng=rng)
    await nursery.start(reconnector.run)      # task_status.started(reconnector)
    reconnector.disconnected()                # the transport went away unexpectedly
    reconnector.registered()                  # a registration succeeded some other way
    reconnector.replaced()                    # replaced_registration: no more auto attempts
    reconnector.start_auto_reconnect(); reconnector.stop_auto_reconnect()
    reconnector.reconnect_now()               # the program's reconnect()
    reconnector.statistics()

``attempt(n)`` is an async callable doing one connect-and-register try; it returns True
once registered and False on a failure worth retrying (an exception is a bug and ends
the actor, for its supervisor to see).  ``on_attempt(n)`` is called synchronously as each
attempt starts, manual ones included: the account turns it into
``reconnecting_notification`` with ``attempt=n``.

The rules:

- ``disconnected()`` starts a run when automatic reconnection is on and the registration
  was not replaced: attempt 1 after ``policy.delay_before(1)`` (shortly), then attempt n
  after ``delay_before(n)`` counted from the end of the failed attempt n-1, while
  ``policy.allows_another`` says so.  Attempt numbers count 1, 2, ... from the
  disconnection.
- the first successful attempt (or ``registered()``) ends the run and resets the count.
- ``replaced()`` ends the run; no automatic attempt happens until a registration
  succeeds again (a manual ``reconnect_now()`` may bring it back).
- ``stop_auto_reconnect()`` ends the run; ``start_auto_reconnect()`` turns automatic
  reconnection on and, while disconnected, brings the next attempt forward to "shortly"
  (a fresh run, counted from 1, when none was going on) — also what the account does
  when the network path comes back online.
- ``reconnect_now()`` makes an attempt at once (unless one is in flight), whatever the
  configuration; if it fails and a run is going on, the run goes on after ``delay``.

An attempt in flight is never cancelled by these calls: it is a connect that may still
succeed, and its result is applied to the state as it then is.  When a ``gate``
(``AttemptGate``) is given, each attempt holds one of its slots, bounding the attempts
in flight across all accounts; ``attempt`` must not take a slot of the same gate again.
The actor task lives as long as its owner (who cancels it); between runs it only waits.
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable

import attrs
import trio

from kazoo_actors.attempt_gate import AttemptGate
from kazoo_actors.reconnect_policy import ReconnectPolicy

__all__ = ["ReconnectPolicy", "ReconnectStatistics", "Reconnector"]


@attrs.frozen(kw_only=True)
class ReconnectStatistics:
    attempts: int
    manual_attempts: int
    successes: int
    failures: int
    runs: int
    current_attempt: int
    in_flight: bool
    next_attempt_at: float | None
    auto_reconnect: bool
    disconnected: bool
    replaced: bool


class Reconnector:
    def __init__(
        self,
        policy: ReconnectPolicy,
        attempt: Callable[[int], Awaitable[bool]],
        *,
        on_attempt: Callable[[int], object] | None = None,
        gate: AttemptGate | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy
        self._attempt_fn = attempt
        self._on_attempt = on_attempt
        self._gate = gate
        self._rng = rng if rng is not None else random.SystemRandom()
        self._auto = policy.auto_enabled
        self._explicit = False
        self._disconnected = False
        self._replaced = False
        self._attempt = 0
        self._next_at: float | None = None
        self._manual = False
        self._in_flight = False
        self._wakeup = trio.Event()
        self._attempts = 0
        self._manual_attempts = 0
        self._successes = 0
        self._failures = 0
        self._runs = 0

    # -- control (sync, never blocks) -----------------------------------------------

    def disconnected(self) -> None:
        if self._disconnected:
            return
        self._disconnected = True
        self._attempt = 0
        if self._auto and not self._replaced:
            self._begin_run()

    def registered(self) -> None:
        self._disconnected = False
        self._replaced = False
        self._attempt = 0
        self._next_at = None
        self._manual = False
        self._wake()

    def replaced(self) -> None:
        self._replaced = True
        self._next_at = None
        self._wake()

    def start_auto_reconnect(self) -> None:
        self._auto = True
        self._explicit = True
        if not self._disconnected or self._replaced or self._in_flight:
            return
        if self._next_at is None:
            self._attempt = 0
            self._begin_run()
            return
        soon = trio.current_time() + self.policy.delay_before(1, self._rng)
        self._next_at = min(self._next_at, soon)
        self._wake()

    def stop_auto_reconnect(self) -> None:
        self._auto = False
        self._explicit = False
        self._next_at = None
        self._wake()

    def reconnect_now(self) -> None:
        if self._in_flight:
            return
        self._manual = True
        self._wake()

    def statistics(self) -> ReconnectStatistics:
        return ReconnectStatistics(
            attempts=self._attempts,
            manual_attempts=self._manual_attempts,
            successes=self._successes,
            failures=self._failures,
            runs=self._runs,
            current_attempt=self._attempt,
            in_flight=self._in_flight,
            next_attempt_at=self._next_at,
            auto_reconnect=self._auto,
            disconnected=self._disconnected,
            replaced=self._replaced,
        )

    # -- the task -------------------------------------------------------------------

    async def run(
        self, *, task_status: trio.TaskStatus[Reconnector] = trio.TASK_STATUS_IGNORED
    ) -> None:
        task_status.started(self)
        while True:
            wakeup = self._wakeup = trio.Event()
            if self._manual:
                self._manual = False
                self._next_at = None
                await self._attempt_once(manual=True)
                continue
            deadline = math.inf if self._next_at is None else self._next_at
            with trio.move_on_at(deadline):
                await wakeup.wait()
                continue
            self._next_at = None
            await self._attempt_once(manual=False)

    # -- internals ------------------------------------------------------------------

    def _wake(self) -> None:
        self._wakeup.set()

    def _begin_run(self) -> None:
        self._runs += 1
        self._next_at = trio.current_time() + self.policy.delay_before(1, self._rng)
        self._wake()

    async def _attempt_once(self, *, manual: bool) -> None:
        self._attempt += 1
        number = self._attempt
        self._attempts += 1
        self._manual_attempts += manual
        self._in_flight = True
        try:
            if self._on_attempt is not None:
                self._on_attempt(number)
            if self._gate is None:
                ok = await self._attempt_fn(number)
            else:
                async with self._gate.slot(self):
                    ok = await self._attempt_fn(number)
        finally:
            self._in_flight = False
        if ok:
            self._successes += 1
            self.registered()
            return
        self._failures += 1
        if (
            self._next_at is None  # else a run began while the attempt was in flight
            and self._disconnected
            and self._auto
            and not self._replaced
            and self.policy.allows_another(self._attempt, explicitly_started=self._explicit)
        ):
            self._next_at = trio.current_time() + self.policy.delay_before(
                self._attempt + 1, self._rng
            )
