"""The launcher's restart delays: doubling to a ceiling, back to the first after a healthy run."""

from __future__ import annotations

from shared.cluster import Backoff


def test_restarts_of_a_crashing_process_slow_down_to_the_ceiling() -> None:
    backoff = Backoff()
    backoff.started(0.0)
    delays = []
    now = 0.0
    for _ in range(9):
        delays.append(backoff.died(now))  # dies at once after each start
        now = backoff.due_at or now
        backoff.started(now)
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_a_process_that_ran_a_healthy_minute_is_restarted_at_once_again() -> None:
    backoff = Backoff()
    backoff.started(0.0)
    for _ in range(4):
        backoff.died(0.0)
    backoff.started(100.0)
    assert backoff.died(161.0) == 0.5
    assert backoff.due_at == 161.5
