"""Which sources a video record may name, and what FFmpeg is given to open.

A record's source is opened on the server, so it is a way into the server. It is either

- a file in the video folder (FACEGATE_VIDEO_FOLDER, mounted on every camera_ingest replica),
  absolute or relative to it: the path is resolved (symbolic links, '..') and must stay inside
  the folder, else it is refused (a 400 at create and update) and never opened; FFmpeg gets the
  resolved absolute path with only its `file` protocol allowed, so no `concat:`, `subfile:` or
  other meta-protocol hides in a name. A missing or unreadable file inside the folder is
  accepted and ends the analysis in Error with the reason (it may be copied there later);
- or an http(s):// or rtsp(s):// URL of a finite recording, with only the protocols of its
  scheme allowed (a redirect or playlist cannot switch to `file:`).

The check runs when a record is created or its source changed, and again right before the file
is opened (a symbolic link may point elsewhere by then).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from shared.errors import ValidationFailed

URL_PROTOCOLS = {
    "http": "http,https,tcp,tls",
    "https": "http,https,tcp,tls",
    "rtsp": "rtsp,rtsps,rtp,udp,tcp,tls",
    "rtsps": "rtsp,rtsps,rtp,udp,tcp,tls",
}


class SourceRefused(ValueError):
    """A source a record may not name; the message says why."""


@dataclass(frozen=True)
class Openable:
    """What FFmpeg opens for a record: a resolved file path or a URL, and the protocols allowed."""

    target: str
    protocols: str
    is_file: bool


def resolve(source: str, folder: str) -> Openable:
    """The file or URL a record's `source` names; SourceRefused when it may not be opened."""
    scheme, sep, rest = source.partition("://")
    if sep and scheme.lower() == "file":
        source = rest  # file:///videos/a.mp4 is the path /videos/a.mp4
    elif sep and scheme.isascii() and scheme.isalnum():
        protocols = URL_PROTOCOLS.get(scheme.lower())
        if protocols is None:
            raise SourceRefused(
                f"the scheme {scheme!r} is not allowed: a video record's source is a file in the video folder "
                f"or an {', '.join(URL_PROTOCOLS)} URL"
            )
        return Openable(source, protocols, is_file=False)
    if not folder:
        raise SourceRefused("file sources are switched off: FACEGATE_VIDEO_FOLDER names no folder")
    root = os.path.realpath(folder)
    resolved = os.path.realpath(os.path.join(root, source))  # an absolute `path` replaces `root`
    if os.path.commonpath([root, resolved]) != root or resolved == root:
        raise SourceRefused("the file is outside the video folder (FACEGATE_VIDEO_FOLDER)")
    return Openable(resolved, "file", is_file=True)


def check(source: str, folder: str) -> None:
    """A 400 naming `source` when a record may not use it."""
    try:
        resolve(source, folder)
    except SourceRefused as exc:
        raise ValidationFailed(f"source: {exc}.", errors={"source": [str(exc)]}) from None
