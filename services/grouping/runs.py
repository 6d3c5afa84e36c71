"""One grouping run: read what to group, cluster it (off the event loop), write the individuals.

A run is incremental. Existing individuals start as clusters that never part (their tracklets
stay together, whatever was merged by hand); new tracklets join them or one another, and two
existing individuals may merge when new evidence joins them, never across a manual split. A live
grouping considers only the tracklets and individuals of its sliding window, so a person who
comes back within the window joins the same individual, later a new one.

The writes happen in one transaction that first checks that the grouping still exists, that this
replica still holds the run, and that nobody split, merged or deleted an individual since the run
read its input; otherwise the run is computed again from fresh input (or dropped).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field

import msgspec

from services.grouping import groupings, individuals, tracklets
from services.grouping.clustering import cluster
from services.grouping.groupings import Claim
from services.grouping.tracklets import RunInput
from shared.messages.grouping import GroupingProgress
from shared.runtime import ServiceContext
from shared.scores import similarity_floor

log = logging.getLogger(__name__)

ATTEMPTS = 3  # a run whose input went stale (a change by hand) is computed again this often


@dataclass
class Outcome:
    """What a run changed: individuals created, updated (gained tracklets or absorbed others),
    deleted (absorbed), with the tracklets each gained."""

    grouped: int = 0
    created: dict[str, list[str]] = field(default_factory=dict)
    updated: dict[str, list[str]] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)


def plan(data: RunInput, labels: list[int]) -> tuple[Outcome, list[tuple[str, str]], dict[str, list[str]]]:
    """From cluster labels: (outcome, new tracklet -> individual pairs, individual -> the existing
    individuals it absorbs). A cluster keeps its oldest existing individual; one without any is
    a new individual."""
    outcome = Outcome()
    members: dict[int, list[str]] = {}
    fresh: dict[int, list[str]] = {}
    for tracklet_id, individual_id, label in zip(data.tracklet_ids, data.individual_ids, labels, strict=True):
        if individual_id is None:
            fresh.setdefault(label, []).append(tracklet_id)
        elif individual_id not in members.setdefault(label, []):
            members[label].append(individual_id)
    pairs: list[tuple[str, str]] = []
    absorbs: dict[str, list[str]] = {}
    for label in set(members) | set(fresh):
        existing = sorted(members.get(label, []), key=lambda i: (data.created[i], i))
        added = fresh.get(label, [])
        if existing:
            keep, others = existing[0], existing[1:]
            if others:
                absorbs[keep] = others
                outcome.deleted += others
            if added or others:
                outcome.updated[keep] = added
        else:
            keep = str(uuid.uuid4())
            outcome.created[keep] = added
        pairs += [(t, keep) for t in added]
    outcome.grouped = len(pairs)
    return outcome, pairs, absorbs


def group(data: RunInput, groups: list[int], threshold: int, threads: int) -> list[int]:
    """The cluster label of each row of the run's input (CPU work: call it off the loop)."""
    floor = similarity_floor(threshold)
    return cluster(data.matrix(), floor, groups, data.splits, threads=threads).tolist()


@dataclass
class Runner:
    """Runs groupings for this replica (`name` tells replicas apart in the run leases)."""

    ctx: ServiceContext
    name: str

    async def read(self, run: Claim) -> RunInput | None:
        """The run's input; None when the grouping is gone."""
        async with self.ctx.db.acquire() as conn:
            record = await groupings.get(conn, run.kind, run.id)
            if record is None:
                return None
            window = run.window_s if run.kind == "live" else None
            return await tracklets.run_input(conn, run.id, groupings.streams(record), run.started_at, window)

    async def write(self, run: Claim, data: RunInput, labels: list[int]) -> Outcome | None:
        """Store the run's individuals; None when the run's input is stale or it lost the run."""
        outcome, pairs, absorbs = plan(data, labels)
        key = uuid.UUID(run.id)
        async with self.ctx.db.acquire() as conn, conn.transaction():
            if not await groupings.lock_for_write(conn, run, self.name):
                return None
            for individual_id, added in outcome.created.items():
                await individuals.insert(conn, individual_id, key, added[0])
            for keep, others in absorbs.items():
                await individuals.move(conn, keep, others)
            await tracklets.assign(conn, key, pairs)
            await individuals.refresh(conn, [*outcome.created, *outcome.updated])
        return outcome

    async def run(self, claimed: Claim) -> Outcome | None:
        """Group what the claimed run covers; None when the grouping went away meanwhile."""
        run = claimed
        for _ in range(ATTEMPTS):
            data = await self.read(run)
            if data is None:
                return None
            if data.new_count == 0:
                return Outcome()
            index: dict[str, int] = {}
            groups = [-1 if i is None else index.setdefault(i, len(index)) for i in data.individual_ids]
            threads = self.ctx.settings.worker_threads
            labels = await self.ctx.run_blocking(group, data, groups, run.threshold, threads)
            outcome = await self.write(run, data, labels)
            if outcome is not None:
                return outcome
            async with self.ctx.db.acquire() as conn:
                revision = await conn.fetchval("SELECT revision FROM groupings WHERE id = $1", uuid.UUID(run.id))
            if revision is None:
                return None
            run = msgspec.structs.replace(run, revision=revision)
        log.warning("grouping %s: its individuals kept changing by hand; run given up", run.id)
        return None


def progress(run: Claim, outcome: Outcome | None, started: float) -> GroupingProgress:
    """The finished run's progress event."""
    done = outcome or Outcome()
    return GroupingProgress(
        grouping_id=run.id, kind=run.kind, status="Ready", tracklets=done.grouped,
        created_individuals=len(done.created), updated_individuals=len(done.updated),
        deleted_individuals=len(done.deleted), duration_ms=int((time.monotonic() - started) * 1000),
    )  # fmt: skip
