"""Secrets at rest (a camera source's credentials): Fernet tokens (AES-128-CBC with an
HMAC-SHA256, from `cryptography`) under a key the operator keeps outside the database.

The key comes from FACEGATE_SECRET_KEY: one or more Fernet keys, comma-separated; the first
encrypts, every one decrypts, so a key is rotated by putting the new one first and keeping the
old one until the stored secrets were saved again. Without it (a developer's `make run`) the key
is read from FACEGATE_SECRET_KEY_FILE (default `var/secret.key`), which is generated on first
use: every process on the machine shares it. A cluster sets FACEGATE_SECRET_KEY from a Secret
(the Helm chart generates one); a replica that cannot write the key file exits with a message
saying so rather than invent a key the other replicas do not have.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from shared.settings import Settings

log = logging.getLogger(__name__)


class SecretUnreadable(Exception):
    """A token that none of the keys decrypts (another key, or altered data)."""


class SecretBox:
    """Encrypts and decrypts short secrets with the configured keys."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("no key")
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def seal(self, text: str) -> str:
        """The token of `text` (ASCII, safe in a text column)."""
        return self._fernet.encrypt(text.encode()).decode("ascii")

    def open(self, token: str) -> str:
        """The text sealed in `token`; SecretUnreadable when no key opens it."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeError) as exc:
            raise SecretUnreadable("no configured key decrypts this secret") from exc


def parse_keys(value: str) -> list[bytes]:
    """Fernet keys from a comma-separated list; ValueError for one that is not a key."""
    keys = [k.strip().encode() for k in value.split(",") if k.strip()]
    for key in keys:
        Fernet(key)  # ValueError: not 32 url-safe base64-encoded bytes
    if not keys:
        raise ValueError("no key given")
    return keys


def key_file(path: Path) -> list[bytes]:
    """The keys in `path`, generating a new key there (readable by this user only) if missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key()
        # O_EXCL: when several processes start at once, one writes the key and the others read it.
        with contextlib.suppress(FileExistsError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(key + b"\n")
            log.warning("generated a new secret key in %s (set FACEGATE_SECRET_KEY in production)", path)
    for _ in range(50):  # another process may be between creating and writing the file
        text = path.read_text().strip()
        if text:
            return parse_keys(text)
        time.sleep(0.01)
    raise ValueError(f"{path} is empty")


def load_secret_box(settings: Settings) -> SecretBox:
    """The box of the configured keys; exit 1 with a readable message when there is none."""
    try:
        if settings.secret_key:
            return SecretBox(parse_keys(settings.secret_key))
        return SecretBox(key_file(Path(settings.secret_key_file)))
    except (OSError, ValueError) as exc:
        where = f"FACEGATE_SECRET_KEY_FILE ({settings.secret_key_file})"
        if settings.secret_key:
            where = "FACEGATE_SECRET_KEY"
        sys.stderr.write(
            f"facegate: invalid configuration: {where}: {exc} (a Fernet key: "
            "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'; "
            "see README, Configuration)\n"
        )
        raise SystemExit(1) from exc
