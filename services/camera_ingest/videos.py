"""SQL of the `video_records` table (owned by camera_ingest) and of what a record produced (the
seen_* rows whose stream id is the record's).

The analysis writes (start, progress, checkpoint, finish) name the replica that runs it: a
replica that lost the record (cleared, disabled, deleted, or taken over after it was presumed
dead) changes nothing and learns that it must stop.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import msgspec

from services.camera_ingest.records import as_uuid
from shared.messages.video_records import VideoRecord, VideoRecordSettings, VideoRecordStatus, VideoState


@dataclass(frozen=True)
class RecordSpec:
    """What the ingest needs of a record to analyse; a change of it restarts the analysis."""

    record_id: str
    source: str
    sample_interval_ms: int


@dataclass(frozen=True)
class Run:
    """A record as its analysis starts (or resumes)."""

    record: VideoRecord
    resume_ms: int
    frames_analysed: int
    row: asyncpg.Record


SELECT = """id, name, source, enabled, state, state_reason, recorded_at, duration_ms, config, tags, owner,
            position_ms, resume_ms, frames_analysed, run_started_at, run_started_ms, processing_started_at,
            processing_ms, created_at, updated_at"""


def to_settings(row: asyncpg.Record) -> VideoRecordSettings:
    return msgspec.json.decode(row["config"], type=VideoRecordSettings)


def to_record(row: asyncpg.Record) -> VideoRecord:
    settings = msgspec.to_builtins(to_settings(row))
    return msgspec.convert(
        {
            **settings, "state": row["state"], "id": str(row["id"]), "name": row["name"], "source": row["source"],
            "recordedAt": row["recorded_at"], "videoDurationMs": row["duration_ms"], "enabled": row["enabled"],
            "processingStartTime": row["processing_started_at"], "processingDurationMs": row["processing_ms"],
        },
        VideoRecord,
        from_attributes=False,
        strict=False,
    )  # fmt: skip


def to_status(row: asyncpg.Record, now: datetime) -> VideoRecordStatus:
    speed = None
    if row["state"] == "Processing" and row["run_started_at"] is not None:
        took = (now - row["run_started_at"]).total_seconds()
        if took > 0:
            speed = round((row["position_ms"] - row["run_started_ms"]) / 1000 / took, 2)
    return VideoRecordStatus(
        video_record_id=str(row["id"]), state=row["state"], enabled=row["enabled"], reason=row["state_reason"],
        owner=row["owner"] if row["state"] == "Processing" else None, position_ms=row["position_ms"],
        resume_ms=row["resume_ms"], video_duration_ms=row["duration_ms"], frames_analysed=row["frames_analysed"],
        speed=speed, updated_at=row["updated_at"],
    )  # fmt: skip


def _config(settings: VideoRecordSettings) -> str:
    return msgspec.json.encode(settings).decode()


# --- the API ---


async def insert(
    conn: asyncpg.Connection,
    record_id: uuid.UUID,
    name: str,
    source: str,
    enabled: bool,
    recorded_at: datetime,
    settings: VideoRecordSettings,
) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"""INSERT INTO video_records (id, name, source, enabled, recorded_at, interval_ms, config)
            VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {SELECT}""",
        record_id, name, source, enabled, recorded_at, settings.redetection_time, _config(settings),
    )  # fmt: skip
    assert row is not None
    return row


async def update(
    conn: asyncpg.Connection,
    record_id: uuid.UUID,
    name: str,
    source: str,
    enabled: bool,
    recorded_at: datetime,
    settings: VideoRecordSettings,
) -> asyncpg.Record | None:
    """Replace a record's settings; None when it does not exist. A record in Error is Ready again
    (a fixed source is tried anew); one being analysed and now disabled is Ready again (its
    analysis stops and resumes where it stood when enabled again)."""
    return await conn.fetchrow(
        f"""UPDATE video_records SET name = $2, source = $3, enabled = $4, recorded_at = $5, interval_ms = $6,
                config = $7, updated_at = clock_timestamp(),
                state = CASE WHEN state = 'Error' OR (state = 'Processing' AND NOT $4) THEN 'Ready' ELSE state END,
                state_reason = CASE WHEN state = 'Error' THEN NULL ELSE state_reason END,
                owner = CASE WHEN $4 THEN owner END
            WHERE id = $1 RETURNING {SELECT}""",
        record_id, name, source, enabled, recorded_at, settings.redetection_time, _config(settings),
    )  # fmt: skip


async def get_row(conn: asyncpg.Connection, record_id: str) -> asyncpg.Record | None:
    key = as_uuid(record_id)
    return key and await conn.fetchrow(f"SELECT {SELECT} FROM video_records WHERE id = $1", key)


async def get(conn: asyncpg.Connection, record_id: str) -> VideoRecord | None:
    row = await get_row(conn, record_id)
    return to_record(row) if row else None


async def list_all(conn: asyncpg.Connection) -> list[VideoRecord]:
    """Every record, oldest first (SmartFace answers a plain array, no paging)."""
    return [to_record(r) for r in await conn.fetch(f"SELECT {SELECT} FROM video_records ORDER BY created_at, id")]


async def delete(conn: asyncpg.Connection, record_id: str) -> bool:
    """Delete a record and what it produced; False when there is none."""
    key = as_uuid(record_id)
    if key is None or await conn.fetchval("DELETE FROM video_records WHERE id = $1 RETURNING true", key) is None:
        return False
    await purge(conn, record_id, 0)
    return True


async def clear(conn: asyncpg.Connection, record_id: str) -> asyncpg.Record | None:
    """Forget what the record produced and its analysis: Ready and disabled (enable it to analyse
    it again); None when there is no such record."""
    key = as_uuid(record_id)
    row = key and await conn.fetchrow(
        f"""UPDATE video_records SET state = 'Ready', enabled = false, state_reason = NULL, owner = NULL,
                position_ms = 0, resume_ms = 0, frames_analysed = 0, resume_frames = 0, run_started_at = NULL,
                run_started_ms = 0, processing_started_at = NULL, processing_ms = NULL,
                updated_at = clock_timestamp()
            WHERE id = $1 RETURNING {SELECT}""",
        key,
    )
    if row:
        await purge(conn, record_id, 0)
    return row


async def get_tags(conn: asyncpg.Connection, record_id: str) -> list[str] | None:
    key = as_uuid(record_id)
    if key is None:
        return None
    tags = await conn.fetchval("SELECT tags FROM video_records WHERE id = $1", key)
    return list(tags) if tags is not None else None


async def set_tags(conn: asyncpg.Connection, record_id: str, tags: list[str]) -> list[str] | None:
    """Replace the tags (duplicates dropped, the first kept in place); None when no such record."""
    key = as_uuid(record_id)
    if key is None:
        return None
    unique = list(dict.fromkeys(tags))
    found = await conn.fetchval(
        "UPDATE video_records SET tags = $2, updated_at = clock_timestamp() WHERE id = $1 RETURNING tags",
        key, unique,
    )  # fmt: skip
    return list(found) if found is not None else None


async def exists(conn: asyncpg.Connection, record_id: str) -> bool:
    key = as_uuid(record_id)
    found = key and await conn.fetchval("SELECT EXISTS (SELECT 1 FROM video_records WHERE id = $1)", key)
    return bool(found)


async def purge(conn: asyncpg.Connection, record_id: str, from_ms: int) -> None:
    """Delete what the record produced from `from_ms` of the video on: the tracklets that
    appeared there (with their faces and match results) and the frames (with their images)."""
    key = uuid.UUID(record_id)
    await conn.execute("DELETE FROM seen_tracklets WHERE camera_id = $1 AND appeared_ms >= $2", key, from_ms)
    await conn.execute("DELETE FROM seen_frames WHERE camera_id = $1 AND position_ms >= $2", key, from_ms)


# --- the scheduler and the analysis ---


async def wanted(conn: asyncpg.Connection) -> list[RecordSpec]:
    """The records to analyse: enabled and neither done nor failed."""
    rows = await conn.fetch(
        """SELECT id::text AS id, source, interval_ms FROM video_records
           WHERE enabled AND state IN ('Ready', 'Processing') ORDER BY id"""
    )
    return [RecordSpec(r["id"], r["source"], r["interval_ms"]) for r in rows]


async def start_run(conn: asyncpg.Connection, record_id: str, owner: str) -> Run | None:
    """Take the record for analysis (Processing, owned by `owner`), from where the last run left
    every tracklet complete; what it produced after that is deleted. None when it is no longer
    to be analysed."""
    async with conn.transaction():
        row = await conn.fetchrow(
            f"""UPDATE video_records SET state = 'Processing', owner = $2, state_reason = NULL,
                    position_ms = resume_ms, frames_analysed = resume_frames, run_started_at = clock_timestamp(),
                    run_started_ms = resume_ms, processing_started_at = coalesce(processing_started_at, now()),
                    updated_at = clock_timestamp()
                WHERE id = $1 AND enabled AND state IN ('Ready', 'Processing') RETURNING {SELECT}""",
            uuid.UUID(record_id), owner,
        )  # fmt: skip
        if row is None:
            return None
        await purge(conn, record_id, row["resume_ms"])
    return Run(to_record(row), row["resume_ms"], row["frames_analysed"], row)


async def set_duration(conn: asyncpg.Connection, record_id: str, owner: str, duration_ms: int | None) -> bool:
    return await _owned(conn, "duration_ms = $3", record_id, owner, duration_ms)


async def progress(conn: asyncpg.Connection, record_id: str, owner: str, position_ms: int, frames: int) -> bool:
    """How far the analysis got; False when this replica no longer runs the record."""
    return await _owned(conn, "position_ms = $3, frames_analysed = $4", record_id, owner, position_ms, frames)


async def checkpoint(conn: asyncpg.Connection, record_id: str, owner: str, resume_ms: int, frames: int) -> bool:
    """Every tracklet that appeared before `resume_ms` is complete and stored: a new owner resumes
    there. False when this replica no longer runs the record."""
    return await _owned(conn, "resume_ms = $3, resume_frames = $4", record_id, owner, resume_ms, frames)


async def finish(
    conn: asyncpg.Connection,
    record_id: str,
    owner: str,
    state: VideoState,
    reason: str | None,
    end_ms: int,
    frames: int,
) -> asyncpg.Record | None:
    """The analysis ended (Processed, or Error with the reason) with everything up to `end_ms`
    complete and stored; the record's row, None when this replica no longer ran it."""
    return await conn.fetchrow(
        f"""UPDATE video_records SET state = $3, state_reason = $4, position_ms = $5::bigint,
                resume_ms = $5::bigint + 1, frames_analysed = $6, resume_frames = $6,
                processing_ms = (extract(epoch FROM clock_timestamp() - processing_started_at) * 1000)::bigint,
                updated_at = clock_timestamp()
            WHERE id = $1 AND owner = $2 AND state = 'Processing' RETURNING {SELECT}""",
        uuid.UUID(record_id), owner, state, reason, end_ms, frames,
    )  # fmt: skip


async def _owned(conn: asyncpg.Connection, assignments: str, record_id: str, owner: str, *values: object) -> bool:
    done = await conn.fetchval(
        f"""UPDATE video_records SET {assignments}, updated_at = clock_timestamp()
            WHERE id = $1 AND owner = $2 AND state = 'Processing' RETURNING true""",
        uuid.UUID(record_id), owner, *values,
    )  # fmt: skip
    return bool(done)


async def purge_stray(conn: asyncpg.Connection, record_id: str, owner: str) -> None:
    """After a run stopped: what it stored after the record's resume position goes (it is
    analysed again when the record resumes), unless another replica runs the record now."""
    key = uuid.UUID(record_id)
    row = await conn.fetchrow("SELECT owner, state, resume_ms FROM video_records WHERE id = $1", key)
    if row is None:
        await purge(conn, record_id, 0)
    elif row["owner"] in (None, owner) or row["state"] != "Processing":
        await purge(conn, record_id, row["resume_ms"])
