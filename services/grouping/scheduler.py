"""Which replica runs which grouping, and when; what a run announces.

Every replica polls for a due run (a Trigger of a record grouping, a live grouping's step, a run
whose replica died) and takes it with a lease in Postgres (`groupings.claim`: one replica per
run, SKIP LOCKED so replicas never wait on each other); a Trigger wakes the replica it reached at
once. The lease is renewed while the run goes on, so a replica that dies loses it within
`LEASE_S` and another one runs the grouping again. One run at a time per replica: runs are CPU
work in the replica's thread pool, more at once would only share the same cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable

from services.grouping import groupings, individuals
from services.grouping.groupings import Claim
from services.grouping.runs import Outcome, Runner, progress
from shared import subjects
from shared.messages.grouping import GroupingProgress, IndividualEvent
from shared.runtime import ServiceContext

log = logging.getLogger(__name__)

LEASE_S = 30.0
TICK_S = 1.0  # how often a replica looks for due runs (a Trigger wakes it at once)
PUBLISH_AT_ONCE = 64  # events in flight to JetStream at once


class Scheduler:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.name = f"{ctx.name}-{ctx.host.instance_id}-{uuid.uuid4().hex[:6]}"
        self.runner = Runner(ctx, self.name)
        self.runs = 0
        self.grouped = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop())
        self.ctx.on_shutdown.append(self.stop)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def wake(self) -> None:
        """A run may be due now (a Trigger): look at once."""
        self._wake.set()

    def stats(self) -> dict[str, int]:
        return {"runs": self.runs, "grouped_tracklets": self.grouped}

    async def _loop(self) -> None:
        while True:
            claimed = None
            try:
                async with self.ctx.db.acquire() as conn:
                    claimed = await groupings.claim(conn, self.name, LEASE_S)
            except Exception:  # Postgres away for a moment: try again at the next tick
                log.exception("looking for due grouping runs failed")
            if claimed is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), TICK_S)
                self._wake.clear()
                continue
            try:
                await self._run(claimed)
            except asyncio.CancelledError:
                raise
            except Exception:  # Postgres away while finishing: the lease runs out, the run is due again
                log.exception("grouping %s: the run could not be finished", claimed.id)

    async def _run(self, run: Claim) -> None:
        started = time.monotonic()
        await self._publish(subjects.GROUPING_PROGRESSED.subject(run.id),
                            GroupingProgress(grouping_id=run.id, kind=run.kind, status="Processing"))  # fmt: skip
        keeper = asyncio.create_task(self._keep(run))
        outcome: Outcome | None = None
        try:
            outcome = await self.runner.run(run)
        except asyncio.CancelledError:
            # Stopping: hand the run back so that another replica takes it at once.
            async with self.ctx.db.acquire() as conn:
                await groupings.release(conn, run, self.name)
            raise
        except Exception:
            log.exception("grouping %s: the run failed", run.id)
        finally:
            keeper.cancel()
        async with self.ctx.db.acquire() as conn:
            await groupings.finish(conn, run, self.name)
        self.runs += 1
        self.grouped += outcome.grouped if outcome else 0
        if outcome is not None and outcome.grouped:
            log.info("grouping %s: %d tracklets grouped, %d new individuals, %d changed, %d merged away", run.id,
                     outcome.grouped, len(outcome.created), len(outcome.updated), len(outcome.deleted))  # fmt: skip
        await self.announce(run.id, outcome or Outcome())
        await self._publish(subjects.GROUPING_PROGRESSED.subject(run.id), progress(run, outcome, started))

    async def _keep(self, run: Claim) -> None:
        while True:
            await asyncio.sleep(LEASE_S / 3)
            try:
                async with self.ctx.db.acquire() as conn:
                    await groupings.renew(conn, run.id, self.name, LEASE_S)
            except Exception:
                log.exception("grouping %s: renewing the run's lease failed", run.id)

    async def announce(self, grouping_id: str, outcome: Outcome) -> None:
        """The individual events of a run or a change by hand."""
        async with self.ctx.db.acquire() as conn:
            found = {i.id: i for i in await individuals.by_ids(conn, [*outcome.created, *outcome.updated])}
        pending: list[Awaitable[None]] = []
        for kind, changed in ((subjects.INDIVIDUAL_CREATED, outcome.created),
                              (subjects.INDIVIDUAL_UPDATED, outcome.updated)):  # fmt: skip
            for individual_id, added in changed.items():
                if individual_id in found:
                    event = IndividualEvent(grouping_id=grouping_id, id=individual_id,
                                            individual=found[individual_id], tracklet_ids=added)  # fmt: skip
                    pending.append(self._publish(kind.subject(grouping_id), event))
        for individual_id in outcome.deleted:
            event = IndividualEvent(grouping_id=grouping_id, id=individual_id)
            pending.append(self._publish(subjects.INDIVIDUAL_DELETED.subject(grouping_id), event))
        for start in range(0, len(pending), PUBLISH_AT_ONCE):
            await asyncio.gather(*pending[start : start + PUBLISH_AT_ONCE])

    async def _publish(self, subject: str, event: IndividualEvent | GroupingProgress) -> None:
        try:
            await self.ctx.bus.publish_event(subject, event)
        except Exception:  # an event lost must not undo the stored run
            log.exception("publishing %s failed", subject)
