""".NET TimeSpan strings, as SmartFace's `date-span` fields carry them: `[d.]hh:mm[:ss[.fffffff]]`,
or a whole number of days. Setup values keep them in the "c" format .NET writes
(`02:00:00`, `7.00:00:00`), whatever form the client sent.
"""

from __future__ import annotations

import re
from datetime import timedelta

# A time of day: 00:00 .. 23:59:59.9999999 (cleanupStart, executionStartTime).
TIME_OF_DAY = r"^([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,7})?)?$"
# A duration: days, or [days.]hours:minutes[:seconds[.fraction]] (maxSessionAge, interval).
SPAN = r"^(\d{1,8}|(\d{1,8}\.)?([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,7})?)?)$"

_PARTS = re.compile(r"^(?:(\d+)\.)?(\d+):(\d+)(?::(\d+)(?:\.(\d+))?)?$")


def parse(text: str) -> timedelta:
    """A TimeSpan string (TIME_OF_DAY or SPAN) as a timedelta; ValueError when it is neither."""
    if text.isdigit():
        return timedelta(days=int(text))
    found = _PARTS.match(text)
    if found is None:
        raise ValueError(f"not a time span: {text!r}")
    days, hours, minutes, seconds, fraction = found.groups()
    micro = int((fraction or "0").ljust(7, "0")[:7]) // 10  # ticks of 100 ns -> microseconds
    return timedelta(
        days=int(days or 0), hours=int(hours), minutes=int(minutes), seconds=int(seconds or 0), microseconds=micro
    )


def format_span(span: timedelta) -> str:
    """The "c" format .NET writes: `hh:mm:ss`, with `d.` before it and `.fffffff` after when not 0."""
    total_us = span.days * 86_400_000_000 + span.seconds * 1_000_000 + span.microseconds
    days, rest = divmod(total_us, 86_400_000_000)
    hours, rest = divmod(rest, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds, micro = divmod(rest, 1_000_000)
    text = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    if days:
        text = f"{days}.{text}"
    if micro:
        text += f".{micro * 10:07d}"
    return text


def canonical(text: str | None) -> str | None:
    """`text` in the "c" format (None stays None)."""
    return None if text is None else format_span(parse(text))
