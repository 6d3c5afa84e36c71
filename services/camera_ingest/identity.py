"""Who a tracklet is, decided from several of its frames rather than from one.

Each analysed face of the tracklet votes for the members it matched (at or above their
watchlist's threshold, the matcher decides that). A member is announced once it leads the vote
with `confirm_votes` faces, so a single lucky frame does not name a passer-by. When the tracklet
ends, a leader not announced yet is announced only if it has as many votes as the tracklet had
searched faces, up to `confirm_votes`: a person seen in one frame only is still identified, but
one match among several searched faces is not. Each member is announced at most once per
tracklet; a tracklet that announced nobody ends as a no-match.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

F = TypeVar("F")


@dataclass(frozen=True)
class Hit(Generic[F]):
    """One face matching one member: the best of the member's watchlists for that face."""

    member_id: str
    watchlist_id: str
    score: int
    face: F


@dataclass
class Identity(Generic[F]):
    confirm_votes: int = 2
    votes: dict[str, list[Hit[F]]] = field(default_factory=dict)
    announced: set[str] = field(default_factory=set)
    searched: int = 0  # faces of the tracklet whose template was searched (hits or not)

    def add(self, hits: list[Hit[F]], *, searched: bool = True) -> None:
        """The hits of one face: one vote per member (its best watchlist). `searched` is false
        for a face without a template (it could not vote, so it does not count against one)."""
        self.searched += searched
        best: dict[str, Hit[F]] = {}
        for hit in hits:
            if hit.member_id not in best or hit.score > best[hit.member_id].score:
                best[hit.member_id] = hit
        for member_id, hit in best.items():
            self.votes.setdefault(member_id, []).append(hit)

    def leader(self) -> str | None:
        """The member with most votes (ties: the best score)."""
        if not self.votes:
            return None
        return max(self.votes, key=lambda m: (len(self.votes[m]), max(h.score for h in self.votes[m])))

    def best_hit(self, member_id: str) -> Hit[F]:
        return max(self.votes[member_id], key=lambda h: h.score)

    def confirmed(self) -> Hit[F] | None:
        """The leader's best hit, once, when it has enough votes."""
        leader = self.leader()
        if leader is None or leader in self.announced or len(self.votes[leader]) < self.confirm_votes:
            return None
        self.announced.add(leader)
        return self.best_hit(leader)

    def final(self) -> Hit[F] | None:
        """At the tracklet's end: the leader's best hit if it was never announced and enough of
        the tracklet's searched faces voted for it (all of them, up to `confirm_votes`)."""
        leader = self.leader()
        if leader is None or leader in self.announced:
            return None
        if len(self.votes[leader]) < max(1, min(self.confirm_votes, self.searched)):
            return None
        self.announced.add(leader)
        return self.best_hit(leader)

    @property
    def matched(self) -> bool:
        return bool(self.announced)
