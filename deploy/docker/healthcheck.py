"""Docker HEALTHCHECK of every Facegate image: GET /readyz on the port the service answers on.

The gateway answers on its REST port (FACEGATE_GATEWAY_PORT); the workers on
FACEGATE_HEALTH_PORT. Standard library only, so it adds nothing to the image.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def probe_url(environ: dict[str, str]) -> str:
    """The /readyz URL of the service this container runs."""
    service = environ.get("FACEGATE_SERVICE", "gateway")
    key = "FACEGATE_GATEWAY_PORT" if service == "gateway" else "FACEGATE_HEALTH_PORT"
    return f"http://127.0.0.1:{environ.get(key, '8098' if service == 'gateway' else '8080')}/readyz"


def main() -> int:
    try:
        with urllib.request.urlopen(probe_url(dict(os.environ)), timeout=4) as reply:
            return 0 if reply.status == 200 else 1
    except (OSError, urllib.error.URLError) as exc:
        sys.stderr.write(f"not ready: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
