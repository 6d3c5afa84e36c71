"""What `/readyz` answers: each server and worker a replica needs, and whether it is reachable.

NATS is checked live (the client knows at once); Postgres, Redis and workers (NATS service
discovery) are checked in the background every `CHECK_INTERVAL_S`, so a probe never waits on a
server that hangs. A failed `required` check makes the replica not ready (503); an optional one
(the matcher's Redis: only a cache) is reported and does not. The body lists every check, e.g.

    nats: ok
    postgres: unavailable (connection refused)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

CHECK_INTERVAL_S = 5.0
CHECK_TIMEOUT_S = 2.0
OK = "ok"

Probe = Callable[[], Awaitable[object]]  # raises (or times out) when the dependency is unavailable


@dataclass
class Readiness:
    """The checks of one replica and their last results."""

    live: dict[str, Callable[[], bool]] = field(default_factory=dict)
    probes: dict[str, Probe] = field(default_factory=dict)
    optional: set[str] = field(default_factory=set)
    results: dict[str, str] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None

    def add_live(self, name: str, check: Callable[[], bool]) -> None:
        """A check cheap enough to run on every probe (e.g. NATS connected)."""
        self.live[name] = check

    def add_probe(self, name: str, probe: Probe, *, required: bool = True) -> None:
        """A check run in the background; `required=False` reports it without failing readiness."""
        self.probes[name] = probe
        if not required:
            self.optional.add(name)

    async def check_now(self) -> None:
        """Run every background check once (at start, so the first probe has results)."""

        async def one(name: str, probe: Probe) -> None:
            try:
                await asyncio.wait_for(probe(), CHECK_TIMEOUT_S)
                result = OK
            except TimeoutError:
                result = f"unavailable (no answer within {CHECK_TIMEOUT_S:g} s)"
            except Exception as exc:
                reason = str(exc).strip()
                result = f"unavailable ({reason.splitlines()[0][:160] if reason else type(exc).__name__})"
            if result != self.results.get(name) and name in self.results:
                log.log(logging.INFO if result == OK else logging.WARNING, "%s: %s", name, result)
            self.results[name] = result

        await asyncio.gather(*(one(name, probe) for name, probe in self.probes.items()))

    async def start(self) -> None:
        """Check once now, then every `CHECK_INTERVAL_S` until `stop`."""
        await self.check_now()

        async def loop() -> None:
            while True:
                await asyncio.sleep(CHECK_INTERVAL_S)
                await self.check_now()

        self._task = asyncio.create_task(loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def report(self) -> dict[str, str]:
        """Every check's state, live ones evaluated now."""
        states = {name: OK if check() else "unavailable" for name, check in self.live.items()}
        for name in self.probes:
            states[name] = self.results.get(name, "not checked yet")
            if name in self.optional and states[name] != OK:
                states[name] += ", optional"
        return states

    def ready(self) -> tuple[bool, str]:
        """Whether every required check passes, and the text `/readyz` answers."""
        states = self.report()
        ok = all(state == OK for name, state in states.items() if name not in self.optional)
        return ok, "".join(f"{name}: {state}\n" for name, state in states.items())
