"""Request bodies read the way SmartFace's server reads them.

- A number where SmartFace takes an id (`"id": 1`, `"watchlistIds": [1, 2]`) is that id as a
  string: clients that seed members from a database send their integer keys, and SmartFace's
  JSON reader turns a number into the string its schema asks for. Only ids get this leniency
  (every other field keeps its strict type); a boolean is never an id.
- Any JSON media type is read as JSON: `application/json-patch+json` and other
  `application/*+json` bodies, which clients generated from SmartFace's document send, decode
  like `application/json`; other media types are refused (body_limits.py).
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from services.gateway.body_limits import check_depth, check_media_type, invalid_body


def is_id_field(name: str) -> bool:
    """`id`, `watchlistId`, `faceId`, ...: the camelCase names SmartFace gives its ids."""
    return name == "id" or name.endswith("Id")


def is_ids_field(name: str) -> bool:
    """`watchlistIds`, `watchlistMembersIds`, ...: lists of ids."""
    return name.endswith("Ids")


def ids_as_strings(value: Any) -> Any:
    """The decoded JSON body with every integer id (at any depth) as its decimal string."""
    if isinstance(value, list):
        return [ids_as_strings(item) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if is_id_field(key) and _is_integer(item):
            out[key] = str(item)
        elif is_ids_field(key) and isinstance(item, list):
            out[key] = [str(i) if _is_integer(i) else i for i in item]
        else:
            out[key] = ids_as_strings(item)
    return out


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class SmartFaceRequest(Request[Any, Any, Any]):
    """The gateway's request: its JSON body checked (body_limits.py), integer ids read as strings."""

    async def json(self) -> Any:
        check_media_type(self.headers.get("content-type"))
        try:
            value = await super().json()
        except (UnicodeDecodeError, RecursionError) as exc:  # msgspec's own, not its DecodeError
            raise invalid_body(exc) from None
        check_depth(value)
        return ids_as_strings(value)
