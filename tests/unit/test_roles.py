"""Every table has one owning service, and NATS users follow the subjects."""

from __future__ import annotations

import re

from shared import subjects
from shared.db.migrate import MIGRATIONS
from shared.db.roles import OWNER_RIGHTS, READS, SHARED_RIGHTS, TABLE_OWNERS, UNREAD_COLUMNS
from shared.nats_users import authorization_block, events_reader_permissions, principals, service_permissions


def created_tables() -> set[str]:
    text = "\n".join(p.read_text() for p in sorted(MIGRATIONS.glob("*.sql")))
    return set(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", text, re.IGNORECASE))


def test_every_table_a_migration_creates_has_an_owning_service() -> None:
    missing = created_tables() - set(TABLE_OWNERS)
    assert not missing, f"add {sorted(missing)} to TABLE_OWNERS in shared/db/roles.py (the service that writes it)"
    assert set(TABLE_OWNERS.values()) <= set(subjects.SERVICES)
    assert all(set(tables) <= created_tables() | {"schema_migrations"} for tables in READS.values())
    assert all(set(rights) <= created_tables() for rights in SHARED_RIGHTS.values())
    assert set(OWNER_RIGHTS) <= set(TABLE_OWNERS) and set(UNREAD_COLUMNS) <= created_tables()


def test_the_cleanup_reads_every_table_that_points_at_camera_images() -> None:
    """Its orphaned-image sweep asks each of them whether an image is still used (a table it may
    not read stops every cleanup run)."""
    text = "\n".join(p.read_text() for p in sorted(MIGRATIONS.glob("*.sql")))
    pointing = set()
    for table, body in re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+) \((.*?)\n\);", text, re.S | re.I):
        if "REFERENCES seen_images" in body:
            pointing.add(table)
    assert pointing >= {"seen_faces", "seen_pedestrians"}
    readable = {t for t, rights in SHARED_RIGHTS["cleanup"].items() if "SELECT" in rights}
    assert pointing <= readable | {t for t, owner in TABLE_OWNERS.items() if owner == "cleanup"}


def test_a_service_subscribes_only_to_its_own_requests_and_reads_no_one_elses_inbox() -> None:
    for service in subjects.SERVICES:
        allowed = service_permissions(service)["subscribe"]["allow"]
        requests = [s for s in allowed if s.startswith(subjects.RPC_PREFIX)]
        assert requests == [f"{subjects.RPC_PREFIX}.{service}.>"], service
        assert [s for s in allowed if s.startswith("_INBOX")] == [f"_INBOX_{service}.>"]
    gateway = service_permissions("gateway")["publish"]["allow"]
    assert f"{subjects.RPC_PREFIX}.matcher.>" in gateway
    assert not any(s.startswith(subjects.RPC_PREFIX) for s in service_permissions("detector")["publish"]["allow"])


def test_the_events_reader_reads_events_only() -> None:
    permissions = events_reader_permissions("FACEGATE_EVENTS")
    assert permissions["subscribe"]["allow"] == ["facegate.evt.>", "_INBOX.>"]
    assert not any(s.startswith(subjects.RPC_PREFIX) for s in permissions["publish"]["allow"])


def test_passwords_from_the_environment_stay_unquoted_in_the_config() -> None:
    block = authorization_block({user: f"$NATS_PASSWORD_{user.upper()}" for user in principals()}, "FACEGATE_EVENTS")
    assert '"password": $NATS_PASSWORD_MATCHER' in block and '"$NATS_PASSWORD' not in block


def test_edge_devices_speak_mqtt_only_on_their_topics() -> None:
    from shared.nats_users import EDGE_DEVICE, edge_device_permissions, users

    (edge,) = [u for u in users(dict.fromkeys(principals(), "x"), "FACEGATE_EVENTS") if u["user"] == EDGE_DEVICE]
    assert edge["allowed_connection_types"] == ["MQTT"]
    assert edge_device_permissions() == {
        "publish": {"allow": ["facegate.edge.*.results"]},
        "subscribe": {"allow": ["facegate.edge.*.settings", "facegate.edge.*.watchlists", "$MQTT.sub.>"]},
    }
    ingest = service_permissions("camera_ingest")
    assert {"facegate.edge.*.settings", "facegate.edge.*.watchlists"} <= set(ingest["publish"]["allow"])
    assert "facegate.edge.*.results" in ingest["subscribe"]["allow"]
    assert not any("facegate.edge" in s for other in subjects.SERVICES if other != "camera_ingest"
                   for s in service_permissions(other)["publish"]["allow"])  # fmt: skip
