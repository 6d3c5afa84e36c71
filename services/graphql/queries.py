"""Query roots and nested relations, read from Postgres (read-only; the owning services write).

A root runs one statement for its page (LIMIT take+1 tells `hasNextPage`) and one more for
`totalCount` only when it is asked for. A nested relation (a member's `watchlists`, a face's
`tracklet`, ...) is loaded for all parents of one level at once: each parent asks a
`BatchLoader` for its key, and the loader runs one `... WHERE key = ANY($1)` per relation
(and per distinct `where`/`order`) when the level's resolvers have all asked.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from graphql import GraphQLError, GraphQLResolveInfo, GraphQLSchema, get_named_type

from services.graphql import limits
from services.graphql.entities import ENTITIES, ROOTS, Entity
from services.graphql.matching import matches, sort_rows
from services.graphql.sql import Query, is_list_output, select_list

log = logging.getLogger(__name__)

ENTITY_KEY = "__entity"
QUERY_TIMEOUT_S = 10.0

Row = dict[str, Any]


class BatchLoader:
    """Collects the keys asked for in one turn of the event loop, then fetches them at once."""

    def __init__(self, fetch: Callable[[list[Any]], Awaitable[dict[Any, list[Row]]]]) -> None:
        self._fetch = fetch
        self._waiting: list[tuple[Any, asyncio.Future[list[Row]]]] = []

    async def load(self, key: Any) -> list[Row]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Row]] = loop.create_future()
        if not self._waiting:
            # The task starts after the callbacks already queued: the other parents of this level.
            loop.call_soon(lambda: asyncio.ensure_future(self._dispatch()))
        self._waiting.append((key, future))
        return await future

    async def _dispatch(self) -> None:
        batch, self._waiting = self._waiting, []
        try:
            found = await self._fetch(list(dict.fromkeys(key for key, _ in batch)))
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for key, future in batch:
            if not future.done():
                future.set_result(found.get(key, []))


@dataclass
class Reader:
    """One request's access to Postgres: its loaders and a count of the statements it ran."""

    pool: asyncpg.Pool | None
    schema: GraphQLSchema
    loaders: dict[Hashable, BatchLoader] = field(default_factory=dict)
    statements: int = 0

    async def fetch(self, sql: str, params: list[Any]) -> list[asyncpg.Record]:
        self.statements += 1
        assert self.pool is not None, "started without Postgres"
        try:
            async with self.pool.acquire() as conn:
                return list(await conn.fetch(sql, *params, timeout=QUERY_TIMEOUT_S))
        except TimeoutError:
            raise GraphQLError(
                f"The query took longer than {QUERY_TIMEOUT_S:g} s; narrow its filter or page.",
                extensions={"code": "QUERY_TIMEOUT"},
            ) from None

    async def page(
        self, entity: Entity, skip: int, take: int, where: Any, order: Any, where_type: Any
    ) -> tuple[list[Row], bool]:
        q = Query(self.schema)
        condition = q.where(entity, where, where_type, "t")
        sql = (
            f"SELECT {select_list(q, entity, 't')} FROM {entity.source} t WHERE {condition} "
            f"ORDER BY {q.order_by(entity, order, 't')} "
            f"LIMIT {q.params.add(take + 1, 'bigint')} OFFSET {q.params.add(skip, 'bigint')}"
        )
        records = await self.fetch(sql, q.params.values)
        return [to_row(entity, r) for r in records[:take]], len(records) > take

    async def count(self, entity: Entity, where: Any, where_type: Any) -> int:
        q = Query(self.schema)
        condition = q.where(entity, where, where_type, "t")
        records = await self.fetch(f"SELECT count(*) FROM {entity.source} t WHERE {condition}", q.params.values)
        return int(records[0][0])

    def loader(self, entity: Entity, field_name: str, where: Any, order: Any, where_type: Any) -> BatchLoader:
        key = (entity.name, field_name, json.dumps(where, sort_keys=True, default=str), json.dumps(order, default=str))
        if key not in self.loaders:
            self.loaders[key] = BatchLoader(
                lambda keys: self._related(entity, field_name, keys, where, order, where_type)
            )
        return self.loaders[key]

    async def _related(
        self, parent: Entity, field_name: str, keys: list[Any], where: Any, order: Any, where_type: Any
    ) -> dict[Any, list[Row]]:
        rel = parent.relations[field_name]
        child = ENTITIES[rel.target]
        q = Query(self.schema)
        source, child_key = q.relation_source(rel, "t")
        condition = q.where(child, where, where_type, "t") if where_type is not None else "TRUE"
        sql = (
            f'SELECT {child_key} AS "__parent", {select_list(q, child, "t")} FROM {source} '
            f"WHERE {child_key} = ANY({q.params.add(keys, 'text[]')}::{_key_type(q, parent, rel.parent_field)}[]) "
            f"AND {condition} ORDER BY {q.order_by(child, order, 't')}"
        )
        grouped: dict[Any, list[Row]] = {}
        for record in await self.fetch(sql, q.params.values):
            grouped.setdefault(str(record["__parent"]), []).append(to_row(child, record))
        return grouped


def _key_type(q: Query, entity: Entity, field_name: str) -> str:
    found = q.column(entity, field_name, "t")
    return found[1] if found else "text"


def to_row(entity: Entity, record: asyncpg.Record) -> Row:
    """A result row as the GraphQL object: mapped fields, then the jsonb fields by their names."""
    row: Row = {k: v for k, v in record.items() if k not in ("__json", "__parent")}
    extra = record.get("__json") if entity.json else None
    if isinstance(extra, str):
        extra = json.loads(extra)
    for key, value in (extra or {}).items():
        name = key if entity.json_camel else _camel(key)
        row.setdefault(name, value)
    row[ENTITY_KEY] = entity.name
    return row


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _where_type(info: GraphQLResolveInfo) -> Any:
    field_def = info.parent_type.fields[info.field_name]
    arg = field_def.args.get("where")
    return get_named_type(arg.type) if arg else None


def reader_of(info: GraphQLResolveInfo) -> Reader:
    reader: Reader = info.context["reader"]
    return reader


def empty_segment() -> dict[str, Any]:
    return {"items": [], "pageInfo": {"hasNextPage": False, "hasPreviousPage": False}, "totalCount": 0}


async def resolve_root(
    _obj: Any,
    info: GraphQLResolveInfo,
    skip: int | None = None,
    take: int | None = None,
    where: Any = None,
    order: Any = None,
) -> dict[str, Any]:
    """A `...CollectionSegment` root: a page of items, pageInfo and (when asked) totalCount."""
    skip, take = limits.checked_page(skip, take)
    entity_name = ROOTS.get(info.field_name)
    if entity_name is None:
        return empty_segment()  # a root whose data Facegate does not have
    entity = ENTITIES[entity_name]
    reader = reader_of(info)
    where_type = _where_type(info)
    items, more = await reader.page(entity, skip, take, where, order, where_type)

    async def total_count(_info: GraphQLResolveInfo) -> int:
        return await reader.count(entity, where, where_type)

    return {"items": items, "pageInfo": {"hasNextPage": more, "hasPreviousPage": skip > 0}, "totalCount": total_count}


async def resolve_relation(parent: Row, info: GraphQLResolveInfo, where: Any = None, order: Any = None) -> Any:
    """A nested relation of a row (a list, or one object or null)."""
    many = is_list_output(info.return_type)
    entity = ENTITIES.get(parent.get(ENTITY_KEY, "")) if isinstance(parent, dict) else None
    rel = entity.relations.get(info.field_name) if entity else None
    if entity is None or rel is None:
        return [] if many else None  # a relation Facegate has no data for
    if rel.target == "WatchlistMemberLabel":
        return _labels(parent, info, where, order)
    key = parent.get(rel.parent_field)
    if key is None:
        return [] if many else None
    loader = reader_of(info).loader(entity, info.field_name, where, order, _where_type(info))
    rows = await loader.load(str(key))
    return rows if many else (rows[0] if rows else None)


def _labels(parent: Row, info: GraphQLResolveInfo, where: Any, order: Any) -> list[Row]:
    """A member's labels ({key, value} in its row), filtered and sorted like the SQL would."""
    labels = [dict(label) for label in parent.get("_labels") or []]
    where_type = _where_type(info)
    return sort_rows([row for row in labels if matches(where, where_type, row)], order)
