"""What a JSON request body must be before it is read: JSON by its media type, UTF-8, and no
deeper than MAX_JSON_DEPTH. Each refusal is a client error with a reason, never a 500.

- Media type: `application/json`, `text/json` or any `application/*+json` (what ASP.NET, and so
  SmartFace, reads as JSON), with no charset or `utf-8`. Anything else, or none, is 415
  Unsupported Media Type (answered as SmartFace's 400 where an operation declares no 415:
  statuses.py): a `text/plain` body is not parsed as JSON.
- UTF-8 (RFC 8259): other bytes are a 400 naming the offset.
- Depth: SmartFace's deepest body nests 4 levels (a camera's object types); 64 leaves room for
  any client while keeping a hostile nesting (10,000 `[`) from exhausting the recursion of the
  decoder and of what walks the decoded body afterwards.
"""

from __future__ import annotations

from typing import Any

from shared.errors import UnsupportedMediaType, ValidationFailed

MAX_JSON_DEPTH = 64
JSON_TYPES = ("application/json", "text/json")


def check_media_type(content_type: str | None) -> None:
    """415 unless `content_type` names JSON in UTF-8."""
    media, _, params = (content_type or "").partition(";")
    media = media.strip().lower()
    is_json = media in JSON_TYPES or (media.startswith("application/") and media.endswith("+json"))
    if not is_json:
        shown = media or "none"
        raise UnsupportedMediaType(f"The body must be JSON (Content-Type: application/json), not {shown}.")
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise UnsupportedMediaType(f"JSON bodies are UTF-8, not {value.strip()}.")


def invalid_body(exc: UnicodeDecodeError | RecursionError) -> ValidationFailed:
    """The 400 for a body the JSON decoder gave up on without a decode error of its own."""
    if isinstance(exc, UnicodeDecodeError):
        detail = "The body is not UTF-8."
    else:
        detail = f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep."
    return ValidationFailed(detail, errors={"$": [detail]})


def check_depth(value: Any) -> None:
    """400 when the decoded body nests arrays and objects more than MAX_JSON_DEPTH levels
    (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > MAX_JSON_DEPTH:
            raise invalid_body(RecursionError())
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
