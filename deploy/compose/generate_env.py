"""Write deploy/compose/.env from .env.example with a generated password for every user.

    cd deploy/compose && python3 generate_env.py

Every empty `*PASSWORD*=` line of the example gets a random URL-safe password (safe inside the
URLs compose builds from it); an existing .env keeps the values it has (run it again after an
upgrade to add new users' passwords). The file is written 0600: it holds every credential of the
cluster. Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$")


def generated(example: str, existing: dict[str, str]) -> str:
    """The .env text: the example's lines, existing values kept, empty passwords generated."""
    out = []
    for line in example.splitlines():
        found = LINE.match(line)
        if found:
            name, value = found.groups()
            if name in existing:
                value = existing[name]
            elif "PASSWORD" in name and not value:
                value = secrets.token_urlsafe(32)
            line = f"{name}={value}"
        out.append(line)
    return "\n".join(out) + "\n"


def read_env(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    return {m.group(1): m.group(2) for m in map(LINE.match, path.read_text().splitlines()) if m}


def main(folder: Path = HERE) -> None:
    target = folder / ".env"
    text = generated((folder / ".env.example").read_text(), read_env(target))
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    target.chmod(0o600)
    print(f"wrote {target} (keep it secret: it holds every password of the cluster)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
