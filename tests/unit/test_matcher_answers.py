"""The matcher's rule for whole answers: best first, at most max_result_count (member,
watchlist) rows, deleted members and watchlists left out."""

from __future__ import annotations

from services.matcher.answers import Details, ranked
from services.matcher.gallery import IndexMatch
from shared.messages.gallery import PrivacyData
from shared.messages.matcher import Candidate, MatchedMember, MatchedWatchlist

PRIVACY = PrivacyData(save_registration_images=True, save_matched_images=True, include_matched_image_in_events=True)


def member(member_id: str) -> MatchedMember:
    return MatchedMember(id=member_id, display_name=member_id.upper(), full_name=None, labels=[], privacy=PRIVACY)


def watchlist(watchlist_id: str) -> MatchedWatchlist:
    return MatchedWatchlist(id=watchlist_id, display_name=watchlist_id, full_name=watchlist_id, preview_color="#fff")


def found(member_id: str, score: int, *watchlist_ids: str, similarity: float | None = None) -> IndexMatch:
    sim = score / 100 if similarity is None else similarity
    return IndexMatch(member_id, f"face-{member_id}", list(watchlist_ids), sim, score)


KNOWN = Details(
    members={m: member(m) for m in ("a", "b", "c", "d")},
    watchlists={w: watchlist(w) for w in ("w1", "w2", "w3")},
)


def rows(candidates: list[Candidate]) -> list[tuple[str, str, int]]:
    """The SmartFace SearchResult rows an answer makes: (member, watchlist, score)."""
    return [(c.member.id, w.id, c.score) for c in candidates for w in c.watchlists]


def test_best_first_whatever_order_the_index_gave() -> None:
    hits = [found("b", 50, "w1"), found("a", 70, "w1"), found("c", 60, "w1")]
    assert rows(ranked(hits, KNOWN, 10)) == [("a", "w1", 70), ("c", "w1", 60), ("b", "w1", 50)]


def test_equal_scores_go_by_similarity_then_member() -> None:
    hits = [found("a", 60, "w1", similarity=0.61), found("b", 60, "w1", similarity=0.62), found("c", 60, "w1")]
    hits.append(found("d", 60, "w1", similarity=0.62))
    assert [c.member.id for c in ranked(hits, KNOWN, 10)] == ["b", "d", "a", "c"]


def test_watchlists_are_rows_sorted_by_id_and_count_against_the_limit() -> None:
    hits = [found("a", 70, "w3", "w1", "w2"), found("b", 60, "w1")]
    assert rows(ranked(hits, KNOWN, 10)) == [("a", "w1", 70), ("a", "w2", 70), ("a", "w3", 70), ("b", "w1", 60)]
    # The limit counts rows: the last member kept may lose its later watchlists.
    assert rows(ranked(hits, KNOWN, 2)) == [("a", "w1", 70), ("a", "w2", 70)]
    assert rows(ranked(hits, KNOWN, 3)) == [("a", "w1", 70), ("a", "w2", 70), ("a", "w3", 70)]
    assert rows(ranked([found("b", 80, "w1"), *hits], KNOWN, 3)) == [("b", "w1", 80), ("a", "w1", 70), ("a", "w2", 70)]


def test_one_watchlist_each_makes_the_limit_count_members() -> None:
    hits = [found("a", 70, "w3", "w2"), found("b", 60, "w2", "w1"), found("c", 50, "w1")]
    assert rows(ranked(hits, KNOWN, 2, one_watchlist_each=True)) == [("a", "w2", 70), ("b", "w1", 60)]


def test_members_and_watchlists_deleted_since_the_search_are_left_out() -> None:
    hits = [found("gone", 90, "w1"), found("a", 80, "deleted", "w2"), found("b", 70, "deleted"), found("c", 60, "w1")]
    answer = ranked(hits, KNOWN, 2)
    assert rows(answer) == [("a", "w2", 80), ("c", "w1", 60)]
    assert answer[0] == Candidate(member=member("a"), watchlists=[watchlist("w2")], face_id="face-a",
                                  similarity=0.8, score=80)  # fmt: skip
    assert ranked(hits, Details({}, {}), 5) == []
