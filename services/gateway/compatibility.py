"""Which SmartFace operations Facegate implements (IMPLEMENTED: the operations of
statuses.SMARTFACE_STATUSES, the one list), as the contract test and the compatibility table
(docs/compatibility.md) see them.

An operation is `(METHOD, path)` with the path exactly as SmartFace's OpenAPI document writes it.
Every operation the gateway serves must be in IMPLEMENTED or carry the FACEGATE_TAG (an
addition); the contract test fails otherwise. Everything else SmartFace has is planned (with the
issue that brings it) or out of scope (with the reason).

The table is made from both documents: SmartFace's (every operation, with its status) and the
one the gateway serves (Facegate's additions, and which implemented operations it serves). The
script builds the gateway's document offline, from the same code the running gateway serves.

    python -m services.gateway.compatibility          # rewrite docs/compatibility.md
    python -m services.gateway.compatibility --check  # exit 1 when it is stale
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

from services.gateway.openapi import FACEGATE_TAG
from services.gateway.statuses import SMARTFACE_STATUSES, Operation
from services.graphql import compatibility as graphql_compatibility

ROOT = Path(__file__).resolve().parents[2]
SMARTFACE_OPENAPI = ROOT.parent / "shared" / "design" / "smartface-openapi.json"
TABLE = ROOT / "docs" / "compatibility.md"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")

# The operations of SMARTFACE_STATUSES (services/gateway/statuses.py, which the gateway answers from).
IMPLEMENTED: frozenset[Operation] = frozenset(SMARTFACE_STATUSES)

# Substring of the path -> why Facegate does not offer it. Checked before PLANNED.
OUT_OF_SCOPE: dict[str, str] = {
    "Palm": "palm recognition is not offered (face only)",
    "/Totp/": "TOTP second factor is not offered",
}

# Implemented operation -> what a SmartFace client could notice Facegate doing differently
# (beyond the statuses any client handles, which every operation may answer). Shown in the
# table's note column; each must name an implemented operation (the contract test says so).
_MEMBER_FACE = (
    "a member's face: `frameId` is the nil GUID (no camera saw it), `trackletId` a GUID derived from the member id"
)
_VALIDATION = "`faceValidationMode` `predefined` refuses a blurred face (sharpness under 1500 of 10000), nothing else"
_EDGE_MQTT = "devices speak Facegate's MQTT topics and payloads to NATS's MQTT listener (docs/edge_streams.md)"
_EDGE = f"`clientId` is one MQTT topic level: letters, digits, '-' and '_'; {_EDGE_MQTT}"
DIFFERENCES: dict[Operation, str] = {
    ("POST", "/api/v1/WatchlistMembers/Register"): (
        f"{_MEMBER_FACE}; {_VALIDATION}; `keepAutoLearnPhotos` keeps the whole photos, and the camera "
        "crops of the faces auto-learn adds to the member"
    ),
    ("POST", "/api/v1/WatchlistMembers/{id}/AddNewFace"): f"{_MEMBER_FACE}; {_VALIDATION}",
    ("POST", "/api/v1/WatchlistMembers/{id}/AddFaceFromSystem"): (
        "the member's face keeps the camera face's id (so a face is linked to one member only, 409 after); "
        "`GET /Faces/{id}` answers the camera's face while it exists; a face stored before Facegate kept "
        f"templates of camera faces is a 422; {_VALIDATION}"
    ),
    ("GET", "/api/v1/WatchlistMembers/{id}/Faces"): _MEMBER_FACE,
    ("POST", "/api/v1/Watchlists/Search"): "`faceValidationMode` is checked for its value, every face is searched",
    ("POST", "/api/v1/EdgeStreams"): _EDGE,
    ("PUT", "/api/v1/EdgeStreams"): _EDGE,
    ("POST", "/api/v1/EdgeStreams/Settings/Synchronize"): _EDGE_MQTT,
    ("PUT", "/api/v1/EdgeStreams/{id}/WatchlistSynchronization"): _EDGE_MQTT,
    ("POST", "/api/v1/Faces/Search"): (
        "the session's hits are read with Facegate's `GET /api/v1/Faces/Search/{searchSessionId}` or GraphQL "
        "`searchSessions`; the largest face of the image is searched; a session keeps its best 10000 hits"
    ),
    ("GET", "/api/v1/Images/{id}"): (
        "always JPEG; a member face's image is the 224x224 aligned face crop, or its whole registration "
        "photo with FACEGATE_KEEP_REGISTRATION_PHOTOS"
    ),
}

# Path prefix -> what brings it (the first matching prefix wins, so longer ones come first).
# Each must still name an operation that is not implemented (the contract test says so).
PLANNED: dict[str, str] = {
}


def operations(doc: dict[str, Any]) -> list[Operation]:
    """Every operation of an OpenAPI document, in document order."""
    return [(m.upper(), path) for path, item in doc["paths"].items() for m in item if m in HTTP_METHODS]


def served_document() -> dict[str, Any]:
    """The OpenAPI document the gateway serves, built without starting it (no NATS needed)."""
    with warnings.catch_warnings():  # Litestar's deprecation notes are the gateway's to print
        warnings.simplefilter("ignore", DeprecationWarning)
        from litestar.serialization import encode_json

        from services.gateway.app import create_app
        from shared.settings import Settings

        app = create_app(Settings())  # never started: the document needs only the routes
        doc: dict[str, Any] = json.loads(encode_json(app.openapi_schema.to_schema()))
    return doc


def additions(served: dict[str, Any]) -> list[tuple[Operation, str]]:
    """Facegate's own operations (tagged FACEGATE_TAG) with their summaries, in document order."""
    return [
        ((method.upper(), path), operation.get("summary", ""))
        for path, item in served["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS and FACEGATE_TAG in operation.get("tags", [])
    ]


def status(op: Operation) -> tuple[str, str]:
    """(status, note) of one SmartFace operation; an implemented one's note is its difference."""
    if op in IMPLEMENTED:
        return "implemented", DIFFERENCES.get(op, "")
    path = op[1]
    for needle, reason in OUT_OF_SCOPE.items():
        if needle in path:
            return "out of scope", reason
    for prefix, what in PLANNED.items():
        if path.startswith(prefix):
            return "planned", what
    return "planned", "not yet scheduled"


def render(smartface: dict[str, Any], served: dict[str, Any]) -> str:
    """docs/compatibility.md from SmartFace's document, the served one and the lists above."""
    ops = operations(smartface)
    rows = [(op, *status(op)) for op in ops]
    served_ops = set(operations(served))
    rows = [(op, st, "not served" if st == "implemented" and op not in served_ops else note) for op, st, note in rows]
    implemented = sum(1 for _, s, _ in rows if s == "implemented")
    out_of_scope = sum(1 for _, s, _ in rows if s == "out of scope")
    version = smartface.get("info", {}).get("version", "?")
    lines = [
        "# SmartFace compatibility",
        "",
        f"**{implemented} of {len(ops)} SmartFace operations implemented** "
        f"({out_of_scope} out of scope, {len(ops) - implemented - out_of_scope} planned), "
        f"against SmartFace REST API {version}.",
        "",
        "Generated by `python -m services.gateway.compatibility` (`make compat`) from SmartFace's OpenAPI",
        "document, the one the gateway serves (`/swagger/v1/swagger.json`) and the implemented list in",
        "`services/gateway/compatibility.py`; the contract test (`tests/contract/`) fails when this file",
        "is stale and checks every implemented operation field by field against SmartFace's document.",
        f"Facegate's own additions are tagged `{FACEGATE_TAG}` in the served document (listed at the end).",
        "The note of an implemented operation says what a SmartFace client could notice Facegate doing",
        "differently (`DIFFERENCES`); besides, any operation may answer 401, 403, 413, 429 or 503.",
        "",
        "| operation | status | note |",
        "|---|---|---|",
    ]
    lines += [f"| `{method} {path}` | {st} | {note} |" for (method, path), st, note in rows]
    extra = additions(served)
    lines += [
        "",
        f"## Facegate additions ({len(extra)})",
        "",
        f"Operations SmartFace does not have, tagged `{FACEGATE_TAG}` in the served document.",
        "",
        "| operation | summary |",
        "|---|---|",
    ]
    lines += [f"| `{method} {path}` | {summary} |" for (method, path), summary in extra]
    lines += graphql_compatibility.lines()
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description="Write (or check) docs/compatibility.md.")
    parser.add_argument("--smartface", type=Path, default=SMARTFACE_OPENAPI, help="SmartFace's OpenAPI document")
    parser.add_argument("--check", action="store_true", help="exit 1 when the table is stale")
    args = parser.parse_args()
    text = render(json.loads(args.smartface.read_text()), served_document())
    if args.check:
        if not TABLE.exists() or TABLE.read_text() != text:
            sys.exit(f"{TABLE} is stale: run python -m services.gateway.compatibility")
        return
    TABLE.parent.mkdir(exist_ok=True)
    TABLE.write_text(text)
    print(text.splitlines()[2])


if __name__ == "__main__":
    main()
