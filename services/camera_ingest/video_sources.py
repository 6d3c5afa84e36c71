"""Which sources a video record may name, and what FFmpeg is given to open.

A record's source is opened on the server, so it is a way into the server. It is either

- a file in the video folder (FACEGATE_VIDEO_FOLDER, mounted on every camera_ingest replica),
  absolute or relative to it: the path is resolved (symbolic links, '..') and must stay inside
  the folder, else it is refused (a 400 at create and update) and never opened; FFmpeg gets the
  resolved absolute path with only its `file` protocol allowed, so no `concat:`, `subfile:` or
  other meta-protocol hides in a name. A missing or unreadable file inside the folder is
  accepted and ends the analysis in Error with the reason (it may be copied there later);
- or an http(s):// or rtsp(s):// URL of a finite recording, under the cameras' address policy
  (shared/sources.py): a host name or address, no loopback, link-local, metadata or otherwise
  internal address unless FACEGATE_CAMERA_SOURCE_ALLOW_NETWORKS allows it, every address the
  name resolves to checked; only the protocols of its scheme allowed (a redirect or playlist
  cannot switch to `file:`). The four schemes are always allowed for records (a recording is
  commonly fetched over HTTP), whatever FACEGATE_CAMERA_SOURCE_SCHEMES allows cameras.

The check runs when a record is created or its source changed (the URL's host resolved then,
as a camera's), and again right before the source is opened (a symbolic link may point
elsewhere by then, a name may resolve elsewhere): `Openable.check` in the decoder thread.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from shared.errors import ValidationFailed
from shared.sources import (
    NETWORK_SCHEMES,
    SourcePolicy,
    SourceRefused,
    check_source,
    check_source_now,
    parse,
    protocol_whitelist,
)

__all__ = ["Openable", "SourceRefused", "check", "record_policy", "resolve"]

# No network allowed beyond ordinary ones: what a record gets without the camera setting.
DEFAULT_POLICY = SourcePolicy(frozenset(NETWORK_SCHEMES))


def record_policy(camera_policy: SourcePolicy) -> SourcePolicy:
    """Records' policy: every network scheme, the networks the cameras' policy allows."""
    return SourcePolicy(frozenset(NETWORK_SCHEMES), camera_policy.allowed)


@dataclass(frozen=True)
class Openable:
    """What FFmpeg opens for a record: a resolved file path or a URL, and the protocols allowed;
    a URL's policy, to check its addresses again right before it is opened."""

    target: str
    protocols: str
    is_file: bool
    policy: SourcePolicy | None = None

    def check(self) -> None:
        """Blocking (DNS): SourceRefused when a URL's host now resolves to a refused address."""
        if self.policy is not None:
            check_source(self.target, self.policy)


def resolve(source: str, folder: str, policy: SourcePolicy = DEFAULT_POLICY) -> Openable:
    """The file or URL a record's `source` names (a URL's form and scheme checked, no DNS);
    SourceRefused when it may not be opened."""
    scheme, sep, rest = source.partition("://")
    if sep and scheme.lower() == "file":
        source = rest  # file:///videos/a.mp4 is the path /videos/a.mp4
    elif sep and scheme.isascii() and scheme.isalnum():
        if scheme.lower() not in NETWORK_SCHEMES:
            raise SourceRefused(
                f"the scheme {scheme!r} is not allowed: a video record's source is a file in the video folder "
                f"or an {', '.join(NETWORK_SCHEMES)} URL"
            )
        parse(source, policy)
        return Openable(source, protocol_whitelist(source) or "", is_file=False, policy=policy)
    if not folder:
        raise SourceRefused("file sources are switched off: FACEGATE_VIDEO_FOLDER names no folder")
    root = os.path.realpath(folder)
    resolved = os.path.realpath(os.path.join(root, source))  # an absolute `path` replaces `root`
    if os.path.commonpath([root, resolved]) != root or resolved == root:
        raise SourceRefused("the file is outside the video folder (FACEGATE_VIDEO_FOLDER)")
    return Openable(resolved, "file", is_file=True)


async def check(source: str, folder: str, policy: SourcePolicy = DEFAULT_POLICY) -> None:
    """A 400 naming `source` when a record may not use it; a URL's host is resolved now (one that
    does not resolve in time is accepted: the check before opening refuses it then)."""
    try:
        if not resolve(source, folder, policy).is_file:
            await check_source_now(source, policy)
    except SourceRefused as exc:
        raise ValidationFailed(f"source: {exc}.", errors={"source": [str(exc)]}) from None
