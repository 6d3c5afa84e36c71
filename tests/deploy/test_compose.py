"""deploy/compose: the whole cluster on one host, read as data (no Docker engine here)."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.support import CHART, DEPLOY, ROOT, RUNNABLE, SERVICES, known_settings

COMPOSE = DEPLOY / "compose"
INFRA = ("nats", "postgres", "redis")
CREDENTIALS = ("FACEGATE_NATS_URL", "FACEGATE_DATABASE_URL")  # each service's own


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((COMPOSE / "compose.yaml").read_text())
    return data["services"]


def test_every_service_and_server_is_there() -> None:
    expected = {s.replace("_", "-") for s in SERVICES} | set(INFRA) | {"migrate"}
    assert set(compose()) == expected
    # Planned services (no worker yet) start only with `--profile planned`.
    assert {s.replace("_", "-") for s in SERVICES if not compose()[s.replace("_", "-")].get("profiles")} == {
        s.replace("_", "-") for s in RUNNABLE
    }


def test_facegate_containers_are_hardened_and_wait_for_the_migration() -> None:
    services = compose()
    for name in (s.replace("_", "-") for s in SERVICES):
        svc = services[name]
        assert svc["read_only"] is True, name
        assert svc["user"] == "10001:10001", name
        assert svc["cap_drop"] == ["ALL"], name
        assert svc["healthcheck"]["test"] == ["CMD", "python", "/opt/facegate/healthcheck.py"], name
        assert svc["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
        for server in INFRA:
            assert svc["depends_on"][server] == {"condition": "service_healthy"}, name
    built = {svc["build"]["args"]["SERVICE"] for name, svc in services.items() if name != "migrate" and "build" in svc}
    assert built == set(SERVICES)


def test_migrate_is_a_one_shot() -> None:
    migrate = compose()["migrate"]
    assert migrate["command"] == ["python", "-m", "shared.db.migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}


def test_servers_have_health_checks() -> None:
    services = compose()
    for name in INFRA:
        assert services[name]["healthcheck"]["test"], name


def test_nats_runs_jetstream_with_8mb_messages() -> None:
    conf = (COMPOSE / "nats.conf").read_text()
    assert re.search(r"^max_payload: 8MB$", conf, re.M)
    assert "jetstream {" in conf
    assert "/etc/nats/facegate.conf" in compose()["nats"]["command"]


def test_env_example_names_every_variable_the_files_use() -> None:
    used = set()
    for path in COMPOSE.glob("compose*.yaml"):
        used |= set(re.findall(r"\$\{([A-Z_]+)", path.read_text()))
    example = (COMPOSE / ".env.example").read_text()
    defined = set(re.findall(r"^([A-Z_]+)=", example, re.M))
    assert used == defined


def test_every_facegate_variable_is_a_setting_a_service_reads() -> None:
    """A misspelt FACEGATE_* name would be ignored without a word (unknown ones are skipped)."""
    for name, svc in compose().items():
        if name in INFRA:
            continue
        unknown = {key for key in svc["environment"] if key.startswith("FACEGATE_")} - known_settings()
        assert not unknown, f"{name}: {sorted(unknown)}"
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    assert set(re.findall(r"\b(FACEGATE_[A-Z_]+)=", dockerfile)) <= known_settings()


def test_camera_images_in_folder_storage_are_kept_in_a_volume() -> None:
    """Folder storage writes where camera-ingest can (the root filesystem is read-only), in a named
    volume (a tmpfs would lose the images on restart), shared by its replicas."""
    services = compose()
    ingest = services["camera-ingest"]
    folder = ingest["environment"]["FACEGATE_CAMERA_IMAGE_FOLDER"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in ingest["volumes"]}  # path in the container -> volume
    (mount,) = [m for m in mounts if folder == m or folder.startswith(m.rstrip("/") + "/")]
    assert mounts[mount] in yaml.safe_load((COMPOSE / "compose.yaml").read_text())["volumes"]
    assert not any(t.split(":")[0] == mount for t in ingest["tmpfs"])
    # The other settings are the shared ones, not lost by giving camera-ingest its own block.
    own = ("FACEGATE_CAMERA_IMAGE_FOLDER", "FACEGATE_SECRET_KEY_FILE", *CREDENTIALS)
    detector = {k: v for k, v in services["detector"]["environment"].items() if k not in CREDENTIALS}
    assert {k: v for k, v in ingest["environment"].items() if k not in own} == detector


def test_the_key_of_camera_credentials_is_generated_into_camera_ingests_volume() -> None:
    """Kept across restarts and shared by the replicas, like the images; nothing else reads it."""
    services = compose()
    ingest = services["camera-ingest"]
    path = ingest["environment"]["FACEGATE_SECRET_KEY_FILE"]
    assert any(path.startswith(v.split(":")[1].rstrip("/") + "/") for v in ingest["volumes"])
    others = [s.get("environment", {}) for name, s in services.items() if name != "camera-ingest"]
    assert not any("FACEGATE_SECRET_KEY_FILE" in env for env in others)


def test_the_published_gateway_and_graphql_require_authentication_with_a_generated_key() -> None:
    """The gateway listens on all addresses (the port is published), so it must authenticate: at
    first start it writes a generated admin key into a named volume (kept across restarts, shared
    by replicas); the other settings are the shared ones."""
    services = compose()
    gateway = services["gateway"]
    env = gateway["environment"]
    assert env["FACEGATE_GATEWAY_HOST"] == "0.0.0.0"
    keys_file = env["FACEGATE_AUTH_API_KEYS_FILE"]
    assert "FACEGATE_ALLOW_UNAUTHENTICATED" not in env
    mounts = {v.split(":")[1]: v.split(":")[0] for v in gateway["volumes"]}
    (mount,) = [m for m in mounts if keys_file.startswith(m.rstrip("/") + "/")]
    assert mounts[mount] in yaml.safe_load((COMPOSE / "compose.yaml").read_text())["volumes"]
    assert not any(t.split(":")[0] == mount for t in gateway["tmpfs"])
    own = {"FACEGATE_GATEWAY_HOST", "FACEGATE_AUTH_API_KEYS_FILE"}
    detector = {k: v for k, v in services["detector"]["environment"].items() if k not in CREDENTIALS}
    assert {k: v for k, v in env.items() if k not in own | set(CREDENTIALS)} == detector
    # GraphQL is published too: the same keys, from the same volume.
    graphql = services["graphql"]
    assert {k: graphql["environment"][k] for k in own} == {k: env[k] for k in own}
    assert graphql["volumes"] == gateway["volumes"] and graphql["tmpfs"] == gateway["tmpfs"]


def test_images_default_to_the_version_being_built() -> None:
    """The chart's appVersion (its default image tag), compose's default FACEGATE_TAG and the
    .env example follow pyproject.toml: a release never deploys the previous release's images."""
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"] == version
    for path in COMPOSE.glob("compose*.yaml"):
        assert set(re.findall(r"\$\{FACEGATE_TAG:-([^}]+)\}", path.read_text())) == {version}, path.name
    assert f"FACEGATE_TAG={version}\n" in (COMPOSE / ".env.example").read_text()


def test_each_service_uses_its_own_nats_user_and_postgres_role() -> None:
    """Least privilege on one host too: a service's URLs carry its own user (whose rights
    shared/nats_users.py and shared/db/roles.py give), never the administrator's."""
    services = compose()
    for service in SERVICES:
        env = services[service.replace("_", "-")]["environment"]
        assert env["FACEGATE_NATS_URL"].startswith(f"nats://{service}:${{NATS_PASSWORD_{service.upper()}:?"), service
        assert env["FACEGATE_DATABASE_URL"].startswith(
            f"postgresql://facegate_{service}:${{DATABASE_PASSWORD_{service.upper()}:?"
        ), service
        assert env["FACEGATE_REDIS_URL"].startswith("redis://:${REDIS_PASSWORD:?"), service
    migrate = services["migrate"]["environment"]
    assert migrate["FACEGATE_DATABASE_URL"].startswith("postgresql://${POSTGRES_USER:-facegate}:${POSTGRES_PASSWORD:?")
    roles = re.findall(r'"(\w+)": "\$\{DATABASE_PASSWORD_(\w+):\?', migrate["FACEGATE_MIGRATE_ROLE_PASSWORDS"])
    assert sorted(roles) == sorted((s, s.upper()) for s in SERVICES)


def test_nats_and_redis_refuse_clients_without_credentials() -> None:
    """NATS includes the chart's generated authorization block (every user's rights; passwords from
    the environment, each one given to the container); Redis requires its password."""
    services = compose()
    nats = services["nats"]
    assert re.search(r"^include \./authorization\.conf$", (COMPOSE / "nats.conf").read_text(), re.M)
    (mount,) = [v for v in nats["volumes"] if v.endswith(":/etc/nats/authorization.conf:ro")]
    block = (COMPOSE / mount.split(":")[0]).read_text()
    assert block == (CHART / "files" / "nats-authorization.conf").read_text()
    wanted = set(re.findall(r"\$(NATS_PASSWORD_[A-Z_]+)", block))
    assert wanted == {f"NATS_PASSWORD_{u.upper()}" for u in ("admin", "events", "edge", *SERVICES)}
    assert set(nats["environment"]) == wanted
    redis = services["redis"]
    assert "--requirepass" in " ".join(redis["command"]) and redis["environment"]["REDISCLI_AUTH"]


def test_generate_env_fills_every_password_once(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_text((COMPOSE / ".env.example").read_text())
    script = COMPOSE / "generate_env.py"
    subprocess.run([sys.executable, str(script), str(tmp_path)], check=True, capture_output=True)
    env_file = tmp_path / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    first = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if re.match(r"^[A-Z]", line))
    passwords = {k: v for k, v in first.items() if "PASSWORD" in k}
    assert passwords and all(len(v) >= 32 for v in passwords.values())
    assert len(set(passwords.values())) == len(passwords)
    subprocess.run([sys.executable, str(script), str(tmp_path)], check=True, capture_output=True)
    again = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if re.match(r"^[A-Z]", line))
    assert again == first  # kept: a second run never changes a password the servers already use
    assert os.access(script, os.R_OK)


def test_edge_streams_overlay_opens_nats_mqtt_with_authentication() -> None:
    """compose.edge.yaml: NATS's MQTT listener on a host port, the main file's users (devices as
    `edge`, MQTT only); camera-ingest publishes over MQTT as its own user."""
    overlay = yaml.safe_load((COMPOSE / "compose.edge.yaml").read_text())["services"]
    assert overlay["nats"]["command"] == ["nats-server", "--config", "/etc/nats/facegate-edge.conf"]
    assert overlay["nats"]["ports"] == ["${FACEGATE_MQTT_PORT:-1883}:1883"]
    url = overlay["camera-ingest"]["environment"]["FACEGATE_EDGE_MQTT_URL"]
    assert url.startswith("mqtt://camera_ingest:${NATS_PASSWORD_CAMERA_INGEST:?")
    conf = (COMPOSE / "nats-edge.conf").read_text()
    assert "include ./facegate.conf" in conf and "mqtt {\n  port: 1883\n}" in conf and "server_name:" in conf
    assert "authorization" not in conf and "no_auth_user" not in conf  # the main file's users only
    block = (CHART / "files" / "nats-authorization.conf").read_text()
    edge = block[block.index('"user": "edge"'):]
    assert '"allowed_connection_types": [\n        "MQTT"\n      ]' in edge
