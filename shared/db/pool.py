"""The asyncpg pool every service opens once."""

from __future__ import annotations

import asyncio
import json
import logging

import asyncpg

log = logging.getLogger(__name__)


async def init_connection(conn: asyncpg.Connection) -> None:
    """What every Facegate connection gets: jsonb columns travel as Python objects."""
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(database_url: str, *, min_size: int = 1, max_size: int = 10, wait_s: float = 60) -> asyncpg.Pool:
    """Open a pool, waiting up to `wait_s` for the server (clusters start in any order)."""
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        try:
            return await asyncpg.create_pool(
                database_url, min_size=min_size, max_size=max_size, init=init_connection
            )
        except (OSError, asyncpg.CannotConnectNowError, asyncpg.InvalidCatalogNameError) as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise
            log.info("waiting for Postgres: %s", exc)
            await asyncio.sleep(0.5)
