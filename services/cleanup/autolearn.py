"""Watchlist auto-learn (`Setup/Watchlists/AutoLearn`): members learn better faces from what
cameras matched to them.

Each run looks at the match results stored since the previous run (`auto_learn_runs.until`):
- a camera face matched to a member at `selectionThreshold` or above (a masked face:
  `maskedSelectionThreshold`) is a candidate, the best of each tracklet (by quality) only, when
  the camera kept its template; its cluster is `Mask` when its face mask confidence is at
  `faceMaskConfidenceThreshold` or above, `NoMask` at `noFaceMaskConfidenceThreshold` or below
  (or unknown: no mask model ships), neither in between (not learnt);
- the member keeps its enrolled faces whatever happens (they are neither replaced nor counted)
  and at most `maxAutoLearnFacesCount` learnt faces: the candidates and its learnt faces so far
  compete by quality (a tie keeps the face it has), so a candidate becomes a member face when
  there is room or when it is better than the weakest learnt face, which it replaces;
- faces are added and removed through the matcher (`FACE_ADD`, `FACE_REMOVE`), as
  AddFaceFromSystem and RemoveFace do, so the change log, every replica's index and the
  gateways' freshness follow. A learnt face keeps the camera face's id and says `type`
  `AutoLearn` and its cluster (`autolearnClusterType`); it keeps the camera's crop as its image
  only when the member was registered with `keepAutoLearnPhotos` and its privacy allows
  registration images (the template alone otherwise).

When: at `executionStartTime` (UTC) each day while `enabled` (schedule.py's rule: a replica that
starts after a start time nobody ran catches up at once; changing the value waits for the next
start time), checked every `check_interval_s`; and at once on `AUTO_LEARN_RUN` (Facegate,
internal), whatever `enabled` says. One run at a time in the cluster: each takes a Postgres
advisory lock of its own (not the retention lease: a long retention run never delays it) and
checks again under it whether the run is still due, so two replicas never run the same day's.
Each run is recorded (`auto_learn_runs`, 90 days), announced
(`facegate.evt.autolearn.completed.<runId>`) and answered to whoever asked for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
import msgspec

from services.cleanup import schedule
from services.cleanup.settings import CleanupSettings
from shared import setup, subjects
from shared.bus import Empty
from shared.db.pool import init_connection
from shared.errors import Conflict, FacegateError, NotFound
from shared.messages.autolearn import AutoLearnCompleted, AutoLearnTrigger, Cluster, LearntFace
from shared.messages.common import ById
from shared.messages.matcher import AddFacesReply, AddFacesRequest, ChangeAck, NewFace, RemoveFaceRequest
from shared.messages.seen import StoredFace
from shared.messages.setup import WatchlistAutoLearnConfig
from shared.runtime import ServiceContext
from shared.setup import Followed

log = logging.getLogger(__name__)

LOCK_KEY = 0x464741  # "FGA": every cleanup replica's auto-learn lock (lease.py's is 0x464743)
RUNS_KEPT_DAYS = 90
# Each run also looks again at the last OVERLAP_S before the previous run's end: a match result
# stamped just before that end but committed after it is not missed (a face looked at twice is
# harmless: once learnt it is a member face and left out, otherwise it competes again).
OVERLAP_S = 60.0
REQUESTED_RUN_WAIT_S = 60.0  # a requested run waits this long for a run in progress to finish
LEARNT_TYPE = "AutoLearn"  # a member face's `type` once learnt (SmartFace's FaceType)


# --- choosing (pure) ---


@dataclass(frozen=True)
class Candidate:
    """A camera face matched to a member."""

    member_id: str
    face_id: str
    score: int
    quality: int
    mask_confidence: float | None


@dataclass(frozen=True)
class Learnt:
    """A face the member learnt in an earlier run."""

    face_id: str
    quality: int
    cluster: Cluster


@dataclass
class Plan:
    """What one member gets (best first) and loses (weakest first) in a run."""

    add: list[tuple[Candidate, Cluster]] = field(default_factory=list)
    remove: list[Learnt] = field(default_factory=list)


def cluster_of(mask_confidence: float | None, config: WatchlistAutoLearnConfig) -> Cluster | None:
    """The cluster a face learns into; None when its mask confidence is undecided."""
    if mask_confidence is None or mask_confidence <= config.no_face_mask_confidence_threshold:
        return "NoMask"
    if mask_confidence >= config.face_mask_confidence_threshold:
        return "Mask"
    return None


def eligible(candidate: Candidate, config: WatchlistAutoLearnConfig) -> Cluster | None:
    """The candidate's cluster when it passes that cluster's threshold, else None."""
    cluster = cluster_of(candidate.mask_confidence, config)
    if cluster is None:
        return None
    threshold = config.masked_selection_threshold if cluster == "Mask" else config.selection_threshold
    return cluster if candidate.score >= threshold else None


def plan(learnt: list[Learnt], candidates: Iterable[Candidate], config: WatchlistAutoLearnConfig) -> Plan:
    """One member's run: the eligible candidates and the faces learnt so far compete by quality for
    `maxAutoLearnFacesCount` places (a tie keeps the face the member has, then the higher score);
    enrolled faces never enter it."""
    pool: list[tuple[tuple[int, int, int], Learnt | tuple[Candidate, Cluster]]] = [
        ((f.quality, 1, 0), f) for f in learnt
    ]
    known = {f.face_id for f in learnt}
    for c in candidates:
        cluster = eligible(c, config)
        if cluster is not None and c.face_id not in known:
            known.add(c.face_id)
            pool.append(((c.quality, 0, c.score), (c, cluster)))
    pool.sort(key=lambda entry: entry[0], reverse=True)
    kept, dropped = pool[: config.max_auto_learn_faces_count], pool[config.max_auto_learn_faces_count :]
    result = Plan()
    result.add = [entry for _, entry in kept if isinstance(entry, tuple)]
    result.remove = [entry for _, entry in reversed(dropped) if isinstance(entry, Learnt)]
    return result


# --- reading what there is ---


def _int(value: str | None) -> int:
    return round(float(value)) if value is not None else 0


async def candidates(
    conn: asyncpg.Connection, since: datetime | None, until: datetime, min_score: int
) -> dict[str, list[Candidate]]:
    """Per member: the camera faces (with a template) matched to it in (since - OVERLAP_S, until],
    the best of each tracklet, leaving out faces that already are member faces."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (r.watchlist_member_id, r.tracklet_id)
                  r.watchlist_member_id AS member_id, r.face_id, r.score,
                  f.face->>'quality' AS quality, f.face->>'face_mask_confidence' AS mask
             FROM seen_match_results r
             JOIN seen_faces f ON f.id = r.face_id
            WHERE r.created_at > coalesce($1::timestamptz - make_interval(secs => $4::float8), '-infinity'::timestamptz)
              AND r.created_at <= $2
              AND r.score >= $3 AND r.watchlist_member_id IS NOT NULL AND f.template IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM member_faces m WHERE m.id = r.face_id::text)
            ORDER BY r.watchlist_member_id, r.tracklet_id,
                     coalesce((f.face->>'quality')::numeric, 0) DESC, r.score DESC, r.created_at DESC""",
        since, until, min_score, OVERLAP_S,
    )  # fmt: skip
    found: dict[str, list[Candidate]] = {}
    for r in rows:
        mask = float(r["mask"]) if r["mask"] is not None else None
        found.setdefault(r["member_id"], []).append(
            Candidate(r["member_id"], str(r["face_id"]), int(r["score"]), _int(r["quality"]), mask)
        )
    return found


@dataclass(frozen=True)
class Member:
    keeps_images: bool  # keepAutoLearnPhotos, and its privacy allows registration images
    learnt: list[Learnt]


async def members(conn: asyncpg.Connection, member_ids: list[str]) -> dict[str, Member]:
    """The members (those still there) with their learnt faces."""
    rows = await conn.fetch(
        """SELECT id, keep_auto_learn_photos
                  AND coalesce((privacy->>'saveRegistrationImages')::boolean, true) AS keeps
             FROM watchlist_members WHERE id = ANY($1::text[])""",
        member_ids,
    )
    faces = await conn.fetch(
        """SELECT id, member_id, face->>'quality' AS quality, face->>'autolearn_cluster_type' AS cluster
             FROM member_faces WHERE member_id = ANY($1::text[]) AND face->>'type' = $2""",
        member_ids, LEARNT_TYPE,
    )  # fmt: skip
    learnt: dict[str, list[Learnt]] = {}
    for f in faces:
        cluster: Cluster = "Mask" if f["cluster"] == "Mask" else "NoMask"
        learnt.setdefault(f["member_id"], []).append(Learnt(f["id"], _int(f["quality"]), cluster))
    return {r["id"]: Member(bool(r["keeps"]), learnt.get(r["id"], [])) for r in rows}


# --- running ---


class AutoLearner:
    """Runs auto-learn at AutoLearn's start time each day, and when asked (`AUTO_LEARN_RUN`)."""

    def __init__(self, ctx: ServiceContext, settings: CleanupSettings, auto_learn: Followed[WatchlistAutoLearnConfig]):
        self.ctx, self.settings, self.auto_learn = ctx, settings, auto_learn
        # The start time whose run this replica saw made (or not due) under the lock: nothing to
        # look at until the next one.
        self.settled: datetime | None = None
        self.runs = self.learnt = self.replaced = 0  # this replica's, since it started
        self.last_run: datetime | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def changed(self, _config: WatchlistAutoLearnConfig) -> None:
        """AutoLearn changed: look again now. (Its start time counts from the change on, read from
        `setup_values.updated_at` under the lock: a start time already passed today waits for
        tomorrow, as DbCleanup's does.)"""
        self.settled = None
        self._wake.set()

    def stats(self) -> dict[str, object]:
        """This replica's runs, in its `$SRV.STATS` (`autoLearn`)."""
        last = self.last_run.isoformat() if self.last_run else None
        return {"runs": self.runs, "learnt": self.learnt, "replaced": self.replaced, "lastRun": last}

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run_forever(), name="auto-learn")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run_forever(self) -> None:
        while True:
            try:
                config = self.auto_learn.value
                if config.enabled and schedule.latest_start(config.execution_start_time, _now()) != self.settled:
                    await self.run("schedule")
            except asyncio.CancelledError:
                raise
            except Exception:  # Postgres or NATS away: try again at the next check
                log.exception("auto-learn: the scheduled run failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.check_interval_s)
            self._wake.clear()

    async def run_now(self, _: Empty) -> AutoLearnCompleted:
        """`AUTO_LEARN_RUN`: a run now, with the stored AutoLearn values (enabled or not); 409
        when another run kept the lock for REQUESTED_RUN_WAIT_S."""
        done = await self.run("request")
        assert done is not None
        return done

    async def run(self, trigger: AutoLearnTrigger) -> AutoLearnCompleted | None:
        """A run under the lock: None when the schedule's run is not due (or another replica
        runs); a requested run waits for the lock."""
        conn = await asyncpg.connect(self.ctx.settings.database_url)
        try:
            await init_connection(conn)
            if not await self._lock(conn, wait_s=REQUESTED_RUN_WAIT_S if trigger == "request" else 0.0):
                if trigger == "request":
                    raise Conflict("An auto-learn run is in progress; try again when it has finished.")
                return None
            # The lock goes with the connection (closed below, or dropped by Postgres).
            config = await setup.read(conn, setup.AUTO_LEARN)
            if trigger == "request":
                return await self._run(conn, trigger, config)
            now = _now()
            start = schedule.latest_start(config.execution_start_time, now)
            if config.enabled and schedule.due(config.execution_start_time, await self._baseline(conn), now):
                done = await self._run(conn, trigger, config)
                self.settled = start
                return done
            self.settled = start
            return None
        finally:
            with contextlib.suppress(Exception):
                await conn.close()

    @staticmethod
    async def _lock(conn: asyncpg.Connection, wait_s: float) -> bool:
        deadline = time.monotonic() + wait_s
        while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.2)
        return True

    async def _baseline(self, conn: asyncpg.Connection) -> datetime:
        """The last scheduled run or the last change of AutoLearn, whichever is later (now when
        neither happened): a start time passed since then is a run nobody made."""
        row = await conn.fetchrow(
            """SELECT (SELECT max(started_at) FROM auto_learn_runs WHERE trigger = 'schedule') AS ran,
                      (SELECT updated_at FROM setup_values WHERE key = $1) AS changed""",
            setup.AUTO_LEARN.key,
        )
        known = [at for at in (row["ran"], row["changed"]) if at is not None]
        return max(known) if known else _now()

    async def _run(
        self, conn: asyncpg.Connection, trigger: AutoLearnTrigger, config: WatchlistAutoLearnConfig
    ) -> AutoLearnCompleted:
        started = _now()
        since: datetime | None = await conn.fetchval("SELECT max(until) FROM auto_learn_runs")
        until: datetime = await conn.fetchval("SELECT clock_timestamp()")
        min_score = min(config.selection_threshold, config.masked_selection_threshold)
        found = await candidates(conn, since, until, min_score)
        # Members with more learnt faces than the cap allows (it was lowered) lose the weakest.
        over = await conn.fetch(
            """SELECT member_id FROM member_faces WHERE face->>'type' = $1
                GROUP BY member_id HAVING count(*) > $2""",
            LEARNT_TYPE, config.max_auto_learn_faces_count,
        )  # fmt: skip
        for row in over:
            found.setdefault(row["member_id"], [])
        known = await members(conn, sorted(found))
        learnt: list[LearntFace] = []
        replaced: list[LearntFace] = []
        for member_id, member in known.items():
            chosen = plan(member.learnt, found[member_id], config)
            if chosen.add or chosen.remove:
                added, removed = await self._apply(member_id, member, chosen)
                learnt += added
                replaced += removed
        done = AutoLearnCompleted(
            run_id=str(uuid.uuid4()), instance=self.ctx.host.instance_id, trigger=trigger, started_at=started,
            finished_at=_now(), since=since, until=until, members=len(known), learnt=learnt, replaced=replaced,
        )  # fmt: skip
        await conn.execute(
            """INSERT INTO auto_learn_runs (id, instance, trigger, started_at, finished_at, until, members, learnt,
                                            replaced)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
            uuid.UUID(done.run_id), done.instance, trigger, done.started_at, done.finished_at, until,
            done.members, len(learnt), len(replaced),
        )  # fmt: skip
        await conn.execute(
            "DELETE FROM auto_learn_runs WHERE started_at < clock_timestamp() - make_interval(days => $1)",
            RUNS_KEPT_DAYS,
        )
        self.runs, self.learnt, self.replaced = self.runs + 1, self.learnt + len(learnt), self.replaced + len(replaced)
        self.last_run = done.finished_at
        await self.ctx.bus.publish_event(subjects.AUTO_LEARN_COMPLETED.subject(done.run_id), done)
        log.info("auto-learn %s (%s): %d members, learnt %d, replaced %d", done.run_id, trigger, done.members,
                 len(learnt), len(replaced))  # fmt: skip
        return done

    async def _apply(self, member_id: str, member: Member, chosen: Plan) -> tuple[list[LearntFace], list[LearntFace]]:
        """Add the chosen faces one by one through the matcher, then take away as many of the
        weakest learnt faces as the cap needs (fewer when an add failed: a face that vanished, a
        member deleted meanwhile)."""
        bus = self.ctx.bus
        added: list[LearntFace] = []
        for candidate, cluster in chosen.add:
            try:
                stored = await bus.request(subjects.SEEN_FACE_STORED, ById(id=candidate.face_id), StoredFace)
                if stored.template is None:
                    continue
                name, _, version = stored.template_model.partition("@")
                face = msgspec.structs.replace(stored.face, type=LEARNT_TYPE, autolearn_cluster_type=cluster)
                new = NewFace(
                    template=stored.template, model_name=name, model_version=version, face_id=candidate.face_id,
                    face=face, crop=stored.crop if member.keeps_images else None,
                )  # fmt: skip
                await bus.request(subjects.FACE_ADD, AddFacesRequest(member_id=member_id, faces=[new]), AddFacesReply)
            except NotFound:  # the camera face was deleted meanwhile, or the member
                continue
            except FacegateError as exc:  # its id taken meanwhile, another model's template
                log.warning("auto-learn: face %s not learnt by %s: %s", candidate.face_id, member_id, exc.detail)
                continue
            added.append(LearntFace(member_id=member_id, face_id=candidate.face_id, cluster=cluster,
                                    quality=candidate.quality, score=candidate.score))  # fmt: skip
        over = len(chosen.remove) - (len(chosen.add) - len(added))
        removed: list[LearntFace] = []
        for old in chosen.remove[: max(0, over)]:
            try:
                request = RemoveFaceRequest(member_id=member_id, face_id=old.face_id)
                await bus.request(subjects.FACE_REMOVE, request, ChangeAck)
            except NotFound:  # removed meanwhile (RemoveFace)
                continue
            removed.append(LearntFace(member_id=member_id, face_id=old.face_id, cluster=old.cluster,
                                      quality=old.quality))  # fmt: skip
        return added, removed


def _now() -> datetime:
    return datetime.now(UTC)
