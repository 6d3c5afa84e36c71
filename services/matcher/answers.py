"""Whole search answers: the index's matches with what callers show of each member and
watchlist, best first and cut to the rows asked for. The gateway and camera_ingest take the
answer as it comes; ordering and truncation are decided here, once.

Member and watchlist details are read from Postgres, one round trip per search that found
anything, rather than kept in memory: names, labels and privacy change without passing through
the change log (only faces, links and thresholds do), a copy of them for a million members would
cost every replica hundreds of MB, and the query takes a fraction of a millisecond beside a
search's few (docs/matcher.md). It also reads the current state, so members and watchlists
deleted since the index answered are simply left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import asyncpg
import msgspec

from services.matcher.gallery import IndexMatch
from shared.messages.gallery import Label, PrivacyData
from shared.messages.matcher import Candidate, MatchedMember, MatchedWatchlist

# Both tables in one statement (one round trip); `kind` tells the rows apart.
DETAILS_SQL = """
    SELECT 'member' AS kind, id, display_name, full_name, labels, privacy, NULL AS preview_color
    FROM watchlist_members WHERE id = ANY($1::text[])
    UNION ALL
    SELECT 'watchlist', id, display_name, full_name, NULL, NULL, preview_color
    FROM watchlists WHERE id = ANY($2::text[])"""


@dataclass(frozen=True)
class Details:
    """Members and watchlists by id, as they are now (deleted ones are absent)."""

    members: dict[str, MatchedMember]
    watchlists: dict[str, MatchedWatchlist]


async def details(conn: asyncpg.Connection, found: Iterable[IndexMatch]) -> Details:
    """What callers show of the members and watchlists of `found`, in one query."""
    matches = list(found)
    member_ids = sorted({f.member_id for f in matches})
    watchlist_ids = sorted({w for f in matches for w in f.watchlist_ids})
    members: dict[str, MatchedMember] = {}
    watchlists: dict[str, MatchedWatchlist] = {}
    for row in await conn.fetch(DETAILS_SQL, member_ids, watchlist_ids):
        if row["kind"] == "member":
            members[row["id"]] = MatchedMember(
                id=row["id"],
                display_name=row["display_name"],
                full_name=row["full_name"],
                labels=msgspec.convert(row["labels"], list[Label]),
                privacy=msgspec.convert(row["privacy"], PrivacyData),
            )
        else:
            watchlists[row["id"]] = MatchedWatchlist(
                id=row["id"],
                display_name=row["display_name"],
                full_name=row["full_name"],
                preview_color=row["preview_color"],
            )
    return Details(members, watchlists)


def ranked(found: list[IndexMatch], known: Details, max_rows: int, one_watchlist_each: bool = False) -> list[Candidate]:
    """Candidates best first (score, then similarity, then member id: replicas answer alike),
    with at most `max_rows` (member, watchlist) pairs in all, as SmartFace counts SearchResults:
    the last candidate may keep only its first watchlists. Members, and watchlists, unknown to
    `known` (deleted since the search) are left out; so is a member left with no watchlist.
    `one_watchlist_each` keeps only each member's first watchlist (by id)."""
    out: list[Candidate] = []
    rows = 0
    for f in sorted(found, key=lambda f: (-f.score, -f.similarity, f.member_id)):
        member = known.members.get(f.member_id)
        watchlists = [known.watchlists[w] for w in sorted(f.watchlist_ids) if w in known.watchlists]
        if member is None or not watchlists:
            continue
        if one_watchlist_each:
            watchlists = watchlists[:1]
        watchlists = watchlists[: max_rows - rows]
        rows += len(watchlists)
        out.append(
            Candidate(member=member, watchlists=watchlists, face_id=f.face_id, similarity=f.similarity, score=f.score)
        )
        if rows >= max_rows:
            break
    return out
