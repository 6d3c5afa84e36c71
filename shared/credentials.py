"""Generated secrets of the embedded servers, and URLs that carry a principal's credentials.

Each server has its own user per service: NATS (`shared.nats_users`), Postgres (roles of
`shared.db.roles`) and Redis (one password). `make run` and the tests generate the passwords
once under the data root (`var/secrets/`, one file per secret, folder 0700, files 0600) and give
every service process URLs with its own credentials; the launcher, migrations and tests use the
admin ones. Nothing here talks to a server.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

ADMIN = "admin"


def with_credentials(url: str, user: str, password: str) -> str:
    """`url` with `user:password@` (percent-encoded) in place of any credentials it had; Redis's
    default user is written as an empty user name (`redis://:password@host`)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"))


@dataclass(frozen=True)
class Secrets:
    """Passwords kept as files in `folder`; each is generated on first use and kept after."""

    folder: Path

    def password(self, name: str) -> str:
        """The password called `name` (e.g. `nats-matcher`), created if missing."""
        path = self.folder / name
        if path.exists():
            return path.read_text().strip()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        value = secrets.token_urlsafe(32)  # URL-safe: no quoting surprises in URLs or config files
        # O_EXCL: two processes generating at once must not end with different passwords.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as out:
            out.write(value + "\n")
        return value
