"""Apply the numbered `migrations/*.sql` files in order, once each.

Run by `make run` before the services start and by the Helm migration Job:
`python -m shared.db.migrate`. An advisory lock makes concurrent runs wait for each other,
and each file runs in its own transaction with its row in `schema_migrations`. Given the
services' role passwords (`FACEGATE_MIGRATE_ROLE_PASSWORDS`, a JSON object service -> password;
`make run` passes the generated ones), it then creates or updates each service's role and its
rights (shared.db.roles): the services never connect as the migrator.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import msgspec

from shared.db.roles import apply_roles
from shared.settings import from_environment, load_settings

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
LOCK_KEY = 0x46474D  # any constant shared by all migrators ("FGM")
PREFIX = "FACEGATE_MIGRATE_"


class MigrationSettings(msgspec.Struct, frozen=True, kw_only=True):
    """`FACEGATE_MIGRATE_<FIELD>`: read by the migrator only."""

    # {"matcher": "<password>", ...}: create these services' roles (empty: leave roles alone).
    role_passwords: dict[str, str] = {}


async def ensure_database(database_url: str) -> None:
    """Create the database named in the URL if the server lacks it (fresh embedded servers)."""
    try:
        conn = await asyncpg.connect(database_url)
    except asyncpg.InvalidCatalogNameError:
        parts = urlsplit(database_url)
        name = parts.path.lstrip("/")
        admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.DuplicateDatabaseError:
            pass
        finally:
            await admin.close()
    else:
        await conn.close()


async def migrate(conn: asyncpg.Connection, role_passwords: dict[str, str] | None = None) -> list[str]:
    """Apply pending migrations, then set up the roles of the services given (service ->
    password), under one lock; return the names applied now."""
    applied_now: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   name text PRIMARY KEY,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
        for path in sorted(MIGRATIONS.glob("*.sql")):
            if path.name in done:
                continue
            async with conn.transaction():
                await conn.execute(path.read_text())
                await conn.execute("INSERT INTO schema_migrations(name) VALUES ($1)", path.name)
            applied_now.append(path.name)
            log.info("applied migration %s", path.name)
        if role_passwords:
            await apply_roles(conn, role_passwords)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
    return applied_now


async def migrate_url(database_url: str, role_passwords: dict[str, str] | None = None) -> list[str]:
    """Create the database if needed, apply pending migrations, then set up the services' roles
    (service -> password) if given."""
    await ensure_database(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        return await migrate(conn, role_passwords)
    finally:
        await conn.close()


def main() -> None:
    logging.basicConfig(level="INFO", format="%(asctime)s migrate %(levelname)s %(message)s")
    settings = load_settings()
    migration = from_environment(MigrationSettings, PREFIX, "README, Service credentials")
    applied = asyncio.run(migrate_url(settings.database_url, migration.role_passwords))
    print(f"migrations: {len(applied)} applied" + (f" ({', '.join(applied)})" if applied else ""))


if __name__ == "__main__":
    main()
