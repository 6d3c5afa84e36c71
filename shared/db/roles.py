"""Postgres roles: one per service, with the least rights it needs; none is a superuser.

Each table has one owning service that writes it (conventions): that service's role may read and
write it (and use its sequences), other services read only what they must (the GraphQL API reads
what it serves, the matcher the schema version and, for Faces/Search, camera faces' templates),
and where a service must change rows of another's table, SHARED_RIGHTS says which (the
cleanup's retention). Every service has a role,
even one with no table rights yet, so that no service ever runs with the migrator's credentials. The migrator
(an administrator: superuser or a role with CREATEROLE that owns the tables) creates or updates
the roles and their passwords, then grants, after each migration run; rights on a table not
listed here are granted to nobody, and tests/unit/test_roles.py checks that every table a
migration creates has its owner here.
"""

from __future__ import annotations

import asyncpg

from shared.subjects import SERVICES

ROLE_PREFIX = "facegate_"

# Table -> the service that writes it.
GALLERY = (
    "watchlists", "watchlist_members", "watchlist_links", "member_faces", "template_changes", "gallery_identity",
)  # fmt: skip
SEEN = ("seen_images", "seen_frames", "seen_tracklets", "seen_faces", "seen_match_results", "seen_image_garbage")
SEARCH_SESSIONS = ("search_sessions", "search_session_objects")
BODIES = ("seen_pedestrians", "seen_objects")  # migration 0080: pedestrians and objects cameras saw
GROUPING = (
    "groupings", "grouping_inputs", "grouping_tracklets", "individuals", "individual_tracklets", "grouping_splits",
)  # fmt: skip
TABLE_OWNERS: dict[str, str] = {
    **dict.fromkeys(GALLERY, "matcher"),
    **dict.fromkeys(("cameras", "video_records", *SEEN, *BODIES, "setup_values", "edge_streams"), "camera_ingest"),
    "audit_log": "gateway",  # services/gateway/audit.py
    "cleanup_runs": "cleanup",
    "auto_learn_runs": "cleanup",  # services/cleanup/autolearn.py (migration 0075)
    **dict.fromkeys(GROUPING, "grouping"),  # services/grouping (migration 0060)
    **dict.fromkeys(SEARCH_SESSIONS, "matcher"),  # Faces/Search (migration 0070, services/matcher/face_search.py)
}
WRITE = "SELECT, INSERT, UPDATE, DELETE"
# Owners' rights where less than WRITE: the audit log is append-only (migration 0020), so its
# writer may add and read entries, and delete them only for retention (the trigger checks that).
OWNER_RIGHTS: dict[str, str] = {"audit_log": "SELECT, INSERT, DELETE"}
# Service -> table -> rights on tables it does not own. The cleanup service keeps the Setup
# values other than image storage (its rows of setup_values, migration 0050) and enforces
# retention: it deletes old camera data (a deleted image's trigger lists its file in
# seen_image_garbage, a deleted face's or tracklet's trigger its match results) and the gallery's
# change log below what every matcher has applied.
SHARED_RIGHTS: dict[str, dict[str, str]] = {
    "cleanup": {
        "setup_values": WRITE,
        **dict.fromkeys(SEEN[:5], "SELECT, DELETE"),
        # Its orphaned-image sweep reads every table that points at seen_images (retention.py).
        **dict.fromkeys(BODIES, "SELECT, DELETE"),
        "seen_image_garbage": WRITE,  # its sweep locks rows (FOR UPDATE needs UPDATE)
        "template_changes": "SELECT, DELETE",
        "gallery_identity": "SELECT",
        # SearchSessionsCleanup: finished sessions (their objects go with them, ON DELETE CASCADE).
        **dict.fromkeys(SEARCH_SESSIONS, "SELECT, DELETE"),
    },
}
# Service -> tables it reads without owning them.
READS: dict[str, tuple[str, ...]] = {
    "matcher": ("schema_migrations",),  # the database version the API reports
    # Grouping checks the cameras, video records and edge streams a grouping links and reads the frames and
    # tracklets of the faces it groups (camera_ingest's).
    "grouping": ("cameras", "video_records", "edge_streams", "seen_frames", "seen_tracklets"),
    # Edge streams: the watchlists synchronised to devices (members and their templates) and the
    # members a device's own matches name (services/camera_ingest/edge_sync.py).
    "camera_ingest": GALLERY[:5],
    # Auto-learn reads members (keepAutoLearnPhotos, privacy) and their faces' attributes to choose
    # what to learn; it changes faces only through the matcher.
    "cleanup": ("watchlist_members", "member_faces"),
    # What the GraphQL API serves (services/graphql/entities.py); never images or the change log.
    "graphql": (
        *GALLERY[:4], "cameras", "video_records", *SEEN[1:5], *BODIES, "individuals", "individual_tracklets",
        *SEARCH_SESSIONS,
    ),
}
# Service -> table -> the only columns it reads (instead of all but UNREAD_COLUMNS): Faces/Search
# compares the templates of camera faces, and needs nothing else of them but where and when.
READ_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "matcher": {
        "seen_faces": ("id", "camera_id", "tracklet_id", "frame_id", "image_id", "created_at", "template",
                       "template_model"),
    },
}  # fmt: skip
# Columns a reader never gets (column grants leave them out): images, templates and camera
# credentials, which GraphQL does not serve (it answers imageDataId, never the bytes).
UNREAD_COLUMNS: dict[str, tuple[str, ...]] = {
    "member_faces": ("template", "crop", "photo"),
    "seen_faces": ("template", "template_model"),
    "cameras": ("source_secret",),
}
# Of those, what one reader does get: camera_ingest sends members' templates to edge devices.
READ_ANYWAY: dict[str, dict[str, tuple[str, ...]]] = {"camera_ingest": {"member_faces": ("template",)}}


def role_name(service: str) -> str:
    """The Postgres role of a service."""
    return f"{ROLE_PREFIX}{service}"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def apply_roles(conn: asyncpg.Connection, passwords: dict[str, str]) -> None:
    """Create or update the role of each service in `passwords` (service -> password) and set its
    rights on the current database. Idempotent; run after migrations, in one transaction."""
    database = await conn.fetchval("SELECT current_database()")
    tables = {r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    async with conn.transaction():
        for service in SERVICES:
            if service not in passwords:
                continue
            role = _ident(role_name(service))
            exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role_name(service))
            verb = "ALTER" if exists else "CREATE"
            # The password as a literal: utility statements take no parameters.
            password = passwords[service].replace("'", "''")
            await conn.execute(
                f"{verb} ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
                f"PASSWORD '{password}'"
            )
            await conn.execute(f"GRANT CONNECT ON DATABASE {_ident(database)} TO {role}")
            await conn.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
            # Start from nothing, so that a right taken away here is taken away in the database.
            await conn.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}")
            await conn.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}")
            for table in sorted(tables):
                shared = SHARED_RIGHTS.get(service, {}).get(table)
                if TABLE_OWNERS.get(table) == service or shared:
                    rights = shared or OWNER_RIGHTS.get(table, WRITE)
                    await conn.execute(f"GRANT {rights} ON {_ident(table)} TO {role}")
                    for sequence in await _sequences_of(conn, table) if "INSERT" in rights else []:
                        await conn.execute(f"GRANT USAGE, SELECT ON SEQUENCE {_ident(sequence)} TO {role}")
                elif table in READ_COLUMNS.get(service, {}):
                    columns = ", ".join(_ident(c) for c in READ_COLUMNS[service][table])
                    await conn.execute(f"GRANT SELECT ({columns}) ON {_ident(table)} TO {role}")
                elif table in READS.get(service, ()):
                    columns = await _readable_columns(conn, table, READ_ANYWAY.get(service, {}).get(table, ()))
                    await conn.execute(f"GRANT SELECT ({columns}) ON {_ident(table)} TO {role}")


async def _readable_columns(conn: asyncpg.Connection, table: str, anyway: tuple[str, ...] = ()) -> str:
    """The column list a reader of `table` is granted: all but UNREAD_COLUMNS (except `anyway`)."""
    rows = await conn.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 "
        "ORDER BY ordinal_position",
        table,
    )
    hidden = set(UNREAD_COLUMNS.get(table, ())) - set(anyway)
    return ", ".join(_ident(r["column_name"]) for r in rows if r["column_name"] not in hidden)


async def _sequences_of(conn: asyncpg.Connection, table: str) -> list[str]:
    """Sequences owned by a table's columns (serial and identity columns)."""
    rows = await conn.fetch(
        """SELECT s.relname FROM pg_class s
             JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')
             JOIN pg_class t ON t.oid = d.refobjid
            WHERE s.relkind = 'S' AND t.relname = $1""",
        table,
    )
    return [r["relname"] for r in rows]
