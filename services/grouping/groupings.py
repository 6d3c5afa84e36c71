"""SQL of groupings (`groupings`, `grouping_inputs`): CRUD, linked inputs, their frames, and the
run bookkeeping (who runs which grouping, what is processed). Functions take the connection
first; ids are GUIDs, so a string that is not one names nothing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from shared.messages.common import Page, PageQuery
from shared.messages.grouping import GroupingConfig, GroupingKind, GroupingRecord, GroupingState, InputKind
from shared.messages.seen import Frame


def as_uuid(value: str | None) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


SELECT = """g.id, g.kind, g.description, g.threshold, g.enabled, g.step_s, g.window_s,
    coalesce((SELECT array_agg(i.kind || ':' || i.input_id::text ORDER BY i.kind, i.input_id)
              FROM grouping_inputs i WHERE i.grouping_id = g.id), '{}') AS inputs"""


def to_record(row: asyncpg.Record) -> GroupingRecord:
    inputs: dict[str, list[str]] = {}
    for entry in row["inputs"]:
        kind, _, input_id = entry.partition(":")
        inputs.setdefault(kind, []).append(input_id)
    config = GroupingConfig(threshold=row["threshold"], enabled=row["enabled"], step_s=row["step_s"],
                            window_s=row["window_s"])  # fmt: skip
    return GroupingRecord(kind=row["kind"], id=str(row["id"]), description=row["description"], config=config,
                          inputs=inputs)  # fmt: skip


async def create(
    conn: asyncpg.Connection, kind: GroupingKind, description: str | None, config: GroupingConfig
) -> GroupingRecord:
    """A new grouping; a live one's first run is due a step from now."""
    row = await conn.fetchrow(
        f"""INSERT INTO groupings AS g (id, kind, description, threshold, enabled, step_s, window_s, next_run_at)
            VALUES ($1, $2, $3, $4, $5, $6::integer, $7,
                    CASE WHEN $2 = 'live' THEN clock_timestamp() + $6::integer * interval '1 second' END)
            RETURNING {SELECT}""",
        uuid.uuid4(), kind, description, config.threshold, config.enabled, config.step_s, config.window_s,
    )  # fmt: skip
    return to_record(row)


async def update(
    conn: asyncpg.Connection, kind: GroupingKind, grouping_id: str, description: str | None, config: GroupingConfig
) -> GroupingRecord | None:
    """Replace a grouping's settings; a live one's next run is due a step after its last start."""
    row = await conn.fetchrow(
        f"""UPDATE groupings AS g SET description = $3, threshold = $4, enabled = $5, step_s = $6::integer,
                window_s = $7, next_run_at = CASE WHEN kind = 'live'
                    THEN coalesce(started_at, clock_timestamp()) + $6::integer * interval '1 second' END,
                updated_at = clock_timestamp()
            WHERE id = $1 AND kind = $2 RETURNING {SELECT}""",
        as_uuid(grouping_id), kind, description, config.threshold, config.enabled, config.step_s, config.window_s,
    )  # fmt: skip
    return to_record(row) if row else None


async def get(conn: asyncpg.Connection, kind: GroupingKind | None, grouping_id: str) -> GroupingRecord | None:
    """One grouping (of `kind`, when given)."""
    key = as_uuid(grouping_id)
    if key is None:
        return None
    row = await conn.fetchrow(
        f"SELECT {SELECT} FROM groupings g WHERE g.id = $1 AND ($2::text IS NULL OR g.kind = $2)", key, kind
    )
    return to_record(row) if row else None


async def list_all(conn: asyncpg.Connection, kind: GroupingKind) -> list[GroupingRecord]:
    rows = await conn.fetch(f"SELECT {SELECT} FROM groupings g WHERE g.kind = $1 ORDER BY g.created_at, g.id", kind)
    return [to_record(r) for r in rows]


RUNNING = "runner_until > clock_timestamp()"
# A record grouping with a Trigger no finished run has answered yet.
WANTED = "wanted_at IS NOT NULL AND (processed_before IS NULL OR wanted_at >= processed_before)"


async def delete(conn: asyncpg.Connection, kind: GroupingKind, grouping_id: str) -> str:
    """'deleted', 'missing', or 'busy' (a run is in progress or wanted: SmartFace's 409)."""
    key = as_uuid(grouping_id)
    if key is None:
        return "missing"
    busy = await conn.fetchval(
        f"SELECT coalesce({RUNNING}, false) OR ({WANTED}) FROM groupings WHERE id = $1 AND kind = $2 FOR UPDATE",
        key, kind,
    )  # fmt: skip
    if busy is None:
        return "missing"
    if busy:
        return "busy"
    await conn.execute("DELETE FROM groupings WHERE id = $1", key)
    return "deleted"


async def unknown_inputs(conn: asyncpg.Connection, input_kind: InputKind, ids: Sequence[str]) -> list[str]:
    """The ids that name no input of this kind: cameras, video records and edge streams are
    camera_ingest's (`cameras`, `video_records`, `edge_streams`)."""
    keys = {i: as_uuid(i) for i in ids}
    table = {"camera": "cameras", "video_record": "video_records", "edge_stream": "edge_streams"}.get(input_kind)
    if table is None:
        return list(ids)
    known = {
        r["id"]
        for r in await conn.fetch(f"SELECT id FROM {table} WHERE id = ANY($1::uuid[])", [k for k in keys.values() if k])
    }
    return [i for i, k in keys.items() if k not in known]


async def link(
    conn: asyncpg.Connection, grouping_id: str, input_kind: InputKind, ids: Sequence[str], linked: bool
) -> None:
    """Link (or unlink) inputs; linking one twice or unlinking one not linked changes nothing."""
    key = as_uuid(grouping_id)
    keys = [k for k in (as_uuid(i) for i in ids) if k is not None]
    if linked:
        await conn.executemany(
            """INSERT INTO grouping_inputs (grouping_id, input_id, kind) VALUES ($1, $2, $3)
               ON CONFLICT (grouping_id, input_id) DO NOTHING""",
            [(key, k, input_kind) for k in keys],
        )
    else:
        await conn.execute(
            "DELETE FROM grouping_inputs WHERE grouping_id = $1 AND kind = $2 AND input_id = ANY($3::uuid[])",
            key, input_kind, keys,
        )  # fmt: skip


def streams(record: GroupingRecord) -> list[uuid.UUID]:
    """The stream ids whose frames and tracklets a grouping groups: its linked inputs, and a
    record grouping's own uploads (their stream id is the grouping's)."""
    ids = [uuid.UUID(i) for kind_ids in record.inputs.values() for i in kind_ids]
    return [*ids, uuid.UUID(record.id)] if record.kind == "record" else ids


FRAME_SELECT = "id, state, image_id, received_at, position_ms, created_at, updated_at"


def to_frame(row: asyncpg.Record) -> Frame:
    return Frame(
        state=row["state"], image_data_id=str(row["image_id"]) if row["image_id"] else None,
        received_at=row["received_at"], position_in_ms=row["position_ms"], id=str(row["id"]),
        created_at=row["created_at"], updated_at=row["updated_at"],
    )  # fmt: skip


async def frames(conn: asyncpg.Connection, record: GroupingRecord, page: PageQuery) -> Page[Frame]:
    """The frames of the grouping's streams (camera_ingest's `seen_frames`), by creation time."""
    order = "ASC" if page.ascending else "DESC"
    ids = streams(record)
    rows = await conn.fetch(
        f"""SELECT {FRAME_SELECT} FROM seen_frames WHERE camera_id = ANY($1::uuid[])
            ORDER BY created_at {order}, id {order} LIMIT $2 OFFSET $3""",
        ids, page.page_size + 1, page.offset,
    )  # fmt: skip
    total = None
    if page.show_total_count:
        total = await conn.fetchval("SELECT count(*) FROM seen_frames WHERE camera_id = ANY($1::uuid[])", ids)
    return Page(items=[to_frame(r) for r in rows[: page.page_size]], has_next=len(rows) > page.page_size,
                total_items_count=total)  # fmt: skip


async def state(conn: asyncpg.Connection, record: GroupingRecord) -> GroupingState:
    """Frames no finished run has grouped yet, those not in the running one either, and whether
    a run is in progress or wanted."""
    row = await conn.fetchrow(
        f"""SELECT processed_before, CASE WHEN {RUNNING} THEN started_at END AS running_since,
                   coalesce({RUNNING}, false) OR ({WANTED}) AS busy
            FROM groupings WHERE id = $1""",
        uuid.UUID(record.id),
    )
    ids = streams(record)
    counts = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE $2::timestamptz IS NULL OR created_at >= $2) AS unprocessed,
                  count(*) FILTER (WHERE ($2::timestamptz IS NULL OR created_at >= $2)
                                     AND ($3::timestamptz IS NULL OR created_at >= $3)) AS new
           FROM seen_frames WHERE camera_id = ANY($1::uuid[])""",
        ids, row["processed_before"], row["running_since"],
    )  # fmt: skip
    return GroupingState(id=record.id, num_new_frames=counts["new"], num_unproc_frames=counts["unprocessed"],
                         status="Processing" if row["busy"] else "Ready")  # fmt: skip


async def trigger(conn: asyncpg.Connection, grouping_id: str) -> bool:
    """Ask for a run of a record grouping; False when there is none."""
    key = as_uuid(grouping_id)
    done = await conn.fetchval(
        "UPDATE groupings SET wanted_at = clock_timestamp() WHERE id = $1 AND kind = 'record' RETURNING true", key
    )
    return bool(done)


class Claim(msgspec.Struct, frozen=True, kw_only=True):
    """A run this replica took: the grouping as it was then."""

    id: str
    kind: GroupingKind
    threshold: int
    window_s: int
    revision: int
    started_at: datetime


async def claim(conn: asyncpg.Connection, runner: str, lease_s: float) -> Claim | None:
    """Take the grouping whose run is due longest (a Trigger, a live step, a run whose replica
    died), if any, for `lease_s` seconds."""
    row = await conn.fetchrow(
        f"""UPDATE groupings g SET runner = $1, runner_until = clock_timestamp() + $2::float8 * interval '1 second',
                started_at = clock_timestamp()
            WHERE g.id = (
                SELECT id FROM groupings
                WHERE (runner_until IS NULL OR runner_until < clock_timestamp())
                  AND ((kind = 'record' AND {WANTED})
                       OR (kind = 'live' AND enabled AND next_run_at <= clock_timestamp()))
                ORDER BY coalesce(wanted_at, next_run_at) LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING g.id, g.kind, g.threshold, g.window_s, g.revision, g.started_at""",
        runner, lease_s,
    )  # fmt: skip
    if row is None:
        return None
    return Claim(id=str(row["id"]), kind=row["kind"], threshold=row["threshold"], window_s=row["window_s"],
                 revision=row["revision"], started_at=row["started_at"])  # fmt: skip


async def renew(conn: asyncpg.Connection, grouping_id: str, runner: str, lease_s: float) -> bool:
    """Keep holding a run; False when the grouping is gone or another replica took it over."""
    done = await conn.fetchval(
        """UPDATE groupings SET runner_until = clock_timestamp() + $3::float8 * interval '1 second'
           WHERE id = $1 AND runner = $2 RETURNING true""",
        uuid.UUID(grouping_id), runner, lease_s,
    )  # fmt: skip
    return bool(done)


async def lock_for_write(conn: asyncpg.Connection, run: Claim, runner: str) -> bool:
    """In the run's writing transaction: lock the grouping; False when it is gone, another
    replica holds the run, or a change by hand came after the run read its input."""
    row: Any = await conn.fetchrow("SELECT runner, revision FROM groupings WHERE id = $1 FOR UPDATE", uuid.UUID(run.id))
    return row is not None and row["runner"] == runner and row["revision"] == run.revision


async def finish(conn: asyncpg.Connection, run: Claim, runner: str) -> None:
    """Release the run: what existed when it started is processed; a live grouping's next step
    is due a step after this one started."""
    await conn.execute(
        """UPDATE groupings SET runner = NULL, runner_until = NULL, processed_before = $3,
               next_run_at = CASE WHEN kind = 'live' THEN $3::timestamptz + step_s * interval '1 second' END
           WHERE id = $1 AND runner = $2""",
        uuid.UUID(run.id), runner, run.started_at,
    )  # fmt: skip


async def touch_revision(conn: asyncpg.Connection, grouping_id: uuid.UUID) -> None:
    """A change by hand: a run that read its input before it must compute again."""
    await conn.execute("UPDATE groupings SET revision = revision + 1 WHERE id = $1", grouping_id)


async def release(conn: asyncpg.Connection, run: Claim, runner: str) -> None:
    """Hand a run back unfinished (the replica stops): it is due again at once."""
    await conn.execute(
        "UPDATE groupings SET runner = NULL, runner_until = NULL WHERE id = $1 AND runner = $2",
        uuid.UUID(run.id), runner,
    )  # fmt: skip
