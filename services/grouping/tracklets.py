"""SQL of `grouping_tracklets`, the tracklet templates a run clusters, and the reads a run makes:
the tracklets it groups now, the members of the individuals they may join, the manual splits."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import asyncpg
import msgspec
import numpy as np
import numpy.typing as npt

from shared.messages.grouping import TrackletSummary


async def insert(conn: asyncpg.Connection, summary: TrackletSummary) -> bool:
    """Keep a tracklet's template; False when its tracklet is gone (deleted meanwhile) or it is
    known already (an event delivered twice)."""
    try:
        done = await conn.fetchval(
            """INSERT INTO grouping_tracklets (id, stream_id, template, template_model, faces, best_face_id,
                   best_quality, time_appeared, time_disappeared)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING RETURNING true""",
            uuid.UUID(summary.id), uuid.UUID(summary.stream_id), summary.template, summary.template_model,
            summary.faces, uuid.UUID(summary.best_face_id), summary.best_quality, summary.time_appeared,
            summary.time_disappeared,
        )  # fmt: skip
    except asyncpg.ForeignKeyViolationError:
        return False
    return bool(done)


class RunInput(msgspec.Struct, frozen=True, kw_only=True):
    """What a run clusters: members of existing individuals (with their individual) and new
    tracklets (individual None), templates in the same order, and split sides by row."""

    tracklet_ids: list[str]
    individual_ids: list[str | None]
    templates: bytes  # float32 rows, concatenated
    dim: int
    splits: dict[int, dict[str, bool]]
    created: dict[str, datetime]  # existing individuals' creation times

    def matrix(self) -> npt.NDArray[np.float32]:
        if not self.tracklet_ids:
            return np.zeros((0, max(self.dim, 1)), np.float32)
        return np.frombuffer(self.templates, "<f4").reshape(len(self.tracklet_ids), self.dim)

    @property
    def new_count(self) -> int:
        return sum(1 for i in self.individual_ids if i is None)


async def run_input(
    conn: asyncpg.Connection,
    grouping_id: str,
    streams: list[uuid.UUID],
    started_at: datetime,
    window_s: int | None,
) -> RunInput:
    """The tracklets of `streams` no run of the grouping has grouped (ended within the window
    for a live grouping, `window_s`), and every member of the individuals they may join (all, or
    those seen within the window). Only templates of one model (the newest tracklet's) take part:
    templates of two models cannot be compared."""
    key = uuid.UUID(grouping_id)
    since = started_at - timedelta(seconds=window_s) if window_s is not None else None
    new = await conn.fetch(
        """SELECT t.id, t.template, t.template_model FROM grouping_tracklets t
           WHERE t.stream_id = ANY($1::uuid[]) AND t.created_at <= $2
             AND ($3::timestamptz IS NULL OR t.time_disappeared >= $3)
             AND NOT EXISTS (SELECT 1 FROM individual_tracklets it WHERE it.grouping_id = $4 AND it.tracklet_id = t.id)
           ORDER BY t.time_appeared, t.id""",
        streams, started_at, since, key,
    )  # fmt: skip
    if not new:
        return RunInput(tracklet_ids=[], individual_ids=[], templates=b"", dim=0, splits={}, created={})
    members = await conn.fetch(
        """SELECT t.id, t.template, t.template_model, i.id AS individual_id, i.created_at
           FROM individual_tracklets it
           JOIN individuals i ON i.id = it.individual_id
           JOIN grouping_tracklets t ON t.id = it.tracklet_id
           WHERE it.grouping_id = $1 AND ($2::timestamptz IS NULL OR i.exit_time >= $2)
           ORDER BY i.created_at, i.id, t.time_appeared""",
        key, since,
    )  # fmt: skip
    model = new[-1]["template_model"]
    members = [r for r in members if r["template_model"] == model]
    fresh = [r for r in new if r["template_model"] == model]
    ids = [str(r["id"]) for r in [*members, *fresh]]
    row_of = {tracklet_id: i for i, tracklet_id in enumerate(ids)}
    splits: dict[int, dict[str, bool]] = {}
    for s in await conn.fetch("SELECT split_id, tracklet_id, side FROM grouping_splits WHERE grouping_id = $1", key):
        row = row_of.get(str(s["tracklet_id"]))
        if row is not None:
            splits.setdefault(row, {})[str(s["split_id"])] = s["side"]
    return RunInput(
        tracklet_ids=ids,
        individual_ids=[str(r["individual_id"]) for r in members] + [None] * len(fresh),
        templates=b"".join(r["template"] for r in [*members, *fresh]), dim=len(fresh[0]["template"]) // 4,
        splits=splits, created={str(r["individual_id"]): r["created_at"] for r in members},
    )  # fmt: skip


async def assign(conn: asyncpg.Connection, grouping_id: uuid.UUID, pairs: list[tuple[str, str]]) -> None:
    """Put new tracklets (tracklet id, individual id) into their individuals."""
    await conn.executemany(
        """INSERT INTO individual_tracklets (grouping_id, tracklet_id, individual_id) VALUES ($1, $2, $3)
           ON CONFLICT (grouping_id, tracklet_id) DO NOTHING""",
        [(grouping_id, uuid.UUID(t), uuid.UUID(i)) for t, i in pairs],
    )
