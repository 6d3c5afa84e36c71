"""Faces/Search sessions: started on request, run in the background by the replica that took
the request, their hits stored for any replica (and GraphQL) to read.

A session compares the probe with every stored camera face of the probe's model (face_scan.py:
exact, batched; search_sessions.py: the SQL). Each replica runs CONCURRENT_SEARCHES sessions at
a time (the others wait, Running with no progress): a search reads every stored template, so
running more at once would only share Postgres' throughput. While a session waits or runs, its
replica writes its progress every few seconds; one whose replica was killed falls silent and
reads as Failed (search_sessions.STALE_S), and a replica stopping (SIGTERM) marks its sessions
Failed at once. The hits are written when the scan ends, best first, at most MAX_SESSION_OBJECTS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

import asyncpg
import numpy as np

from services.matcher import search_sessions
from services.matcher.face_scan import Hits, as_matrix, probe_vector
from services.matcher.search_sessions import HEARTBEAT_S, STALE_ERROR, Hit
from shared import subjects
from shared.errors import NotFound
from shared.messages.face_search import (
    MAX_SESSION_OBJECTS,
    FaceSearchQuery,
    FaceSearchStart,
    SearchInFacesResponse,
    SearchSessionPage,
)
from shared.runtime import ServiceContext

log = logging.getLogger(__name__)

CONCURRENT_SEARCHES = 1
# Faces read and compared at a time: 2 MB of templates (8 MB at 512 floats), milliseconds of the event loop.
BATCH = 4096
FAILED = "The search failed (see the matcher's log); search again."


@dataclass
class FaceSearches:
    """This replica's sessions (waiting or running) and the two endpoints."""

    ctx: ServiceContext
    progress: dict[str, int] = field(default_factory=dict)  # session id -> faces compared so far
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(CONCURRENT_SEARCHES))
    _heartbeats: asyncio.Task[None] | None = None

    async def register(self) -> None:
        """Serve FACE_SEARCH_START and FACE_SEARCH_GET; stop the sessions on shutdown."""
        await self.ctx.host.add(subjects.FACE_SEARCH_START, FaceSearchStart, self.start)
        await self.ctx.host.add(subjects.FACE_SEARCH_GET, FaceSearchQuery, self.get)
        self._heartbeats = asyncio.create_task(self._beat_forever(), name="face-search-heartbeat")
        self.ctx.on_shutdown.append(self.stop)

    async def start(self, req: FaceSearchStart) -> SearchInFacesResponse:
        """Store the session, start its search, answer its id at once."""
        probe_vector(req.template)  # a 400 now rather than a failed session later
        session_id = str(uuid.uuid4())
        async with self.ctx.db.acquire() as conn:
            await search_sessions.create(conn, session_id, req.threshold, req.template_model, self.ctx.host.instance_id)
        self.progress[session_id] = 0
        self.tasks[session_id] = asyncio.create_task(self._run(session_id, req), name=f"face-search-{session_id}")
        return SearchInFacesResponse(search_session_id=session_id)

    async def get(self, q: FaceSearchQuery) -> SearchSessionPage:
        """A session and a page of its objects, best first; 404 for an unknown (or deleted) one."""
        async with self.ctx.db.acquire() as conn:
            session = await search_sessions.get(conn, q.id)
            if session is None:
                raise NotFound(f"Search session '{q.id}' does not exist.")
            page = await search_sessions.objects_page(conn, session, q.page)
        return SearchSessionPage(session=session, page=page)

    async def stop(self) -> None:
        """SIGTERM: end the heartbeats and the sessions of this replica, marked Failed."""
        if self._heartbeats is not None:
            self._heartbeats.cancel()
        running = list(self.tasks.items())
        for _, task in running:
            task.cancel()
        for _, task in running:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if running:
            async with self.ctx.db.acquire() as conn:
                await search_sessions.fail(conn, [session_id for session_id, _ in running], STALE_ERROR)

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                async with self.ctx.db.acquire() as conn:
                    await search_sessions.heartbeat(conn, dict(self.progress))
            except Exception:  # Postgres away a moment: the next beat tells (the loop must go on)
                log.warning("face search: writing the sessions' progress failed", exc_info=True)

    async def _run(self, session_id: str, req: FaceSearchStart) -> None:
        try:
            async with self.slots:
                searched, hits = await self._scan(session_id, req)
            async with self.ctx.db.acquire() as conn:
                await search_sessions.finish(conn, session_id, searched, hits)
            log.info("face search %s: %d of %d faces scored %d or more", session_id, len(hits), searched, req.threshold)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("face search %s failed", session_id)
            with contextlib.suppress(Exception):
                async with self.ctx.db.acquire() as conn:
                    await search_sessions.fail(conn, [session_id], FAILED)
        finally:
            self.progress.pop(session_id, None)
            self.tasks.pop(session_id, None)

    async def _scan(self, session_id: str, req: FaceSearchStart) -> tuple[int, list[tuple[float, int, Hit]]]:
        def progress(searched: int) -> None:
            self.progress[session_id] = searched

        return await scan(self.ctx.db, self.ctx.run_blocking, req, progress)


async def scan(
    pool: asyncpg.Pool,
    run_blocking: Callable[..., Awaitable[Any]],
    req: FaceSearchStart,
    progress: Callable[[int], None] = lambda _: None,
) -> tuple[int, list[tuple[float, int, Hit]]]:
    """Every stored face of the probe's model, a batch at a time, compared in `run_blocking`'s
    threads: (faces compared, hits best first). `progress` hears the count after each batch."""
    probe = probe_vector(req.template)
    hits = Hits.for_threshold(req.threshold, MAX_SESSION_OBJECTS)
    after = None
    searched = 0
    while True:
        async with pool.acquire() as conn:
            rows = await search_sessions.face_batch(conn, req.template_model, after, BATCH)
        if not rows:
            break
        after = (rows[-1]["created_at"], rows[-1]["id"])
        await run_blocking(compare, hits, probe, rows)
        searched += len(rows)
        progress(searched)
        if len(rows) < BATCH:
            break
    ranked = await run_blocking(hits.best, req.threshold)
    best = [(sim, score, cast(uuid.UUID, face_id)) for sim, score, face_id in ranked]
    async with pool.acquire() as conn:  # a face deleted since it was compared is no hit
        found = await search_sessions.hits_of(conn, [face_id for _, _, face_id in best])
    return searched, [(sim, score, found[face_id]) for sim, score, face_id in best if face_id in found]


def compare(hits: Hits, probe: np.ndarray, rows: list[asyncpg.Record]) -> None:
    """One batch of stored faces against the probe (a worker thread's work); a hit keeps the
    face's id."""
    matrix, kept = as_matrix([r["template"] for r in rows], probe.size)
    hits.add_batch(probe, matrix, [rows[i]["id"] for i in kept])
