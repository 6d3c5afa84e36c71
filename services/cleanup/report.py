"""What this replica's cleanup runs removed: the counters of its `/metrics` and `$SRV.STATS`."""

from __future__ import annotations

from collections import Counter

import msgspec

from shared.messages.setup import CleanupCompleted, CleanupRemoved


class CleanupStats(msgspec.Struct, frozen=True, kw_only=True):
    """One replica's figures (`$SRV.STATS` data `cleanup`)."""

    instance: str
    leading: bool
    runs: dict[str, int]
    removed: CleanupRemoved
    last_run_id: str | None
    last_run_seconds: float
    longest_batch_ms: float


class Totals:
    """Counters since this replica started."""

    def __init__(self, instance: str) -> None:
        self.instance = instance
        self.leading = False
        self.runs: Counter[str] = Counter()
        self.removed = CleanupRemoved()
        self.last: CleanupCompleted | None = None
        self.longest_batch_ms = 0.0

    def add(self, run: CleanupCompleted, batch_ms: float) -> None:
        self.runs[run.trigger] += 1
        self.removed += run.removed
        self.last = run
        self.longest_batch_ms = max(self.longest_batch_ms, batch_ms)

    def stats(self) -> CleanupStats:
        last = self.last
        return CleanupStats(
            instance=self.instance,
            leading=self.leading,
            runs=dict(self.runs),
            removed=self.removed,
            last_run_id=last.run_id if last else None,
            last_run_seconds=round((last.finished_at - last.started_at).total_seconds(), 3) if last else 0.0,
            longest_batch_ms=round(self.longest_batch_ms, 3),
        )

    def metrics_text(self) -> str:
        """Prometheus exposition of this replica's cleanup."""
        stats = self.stats()
        instance = f'instance="{self.instance}"'
        removed = msgspec.structs.asdict(stats.removed)
        return "\n".join([
            "# HELP facegate_cleanup_leader 1 on the replica that holds the cleanup lease and runs the schedule.",
            "# TYPE facegate_cleanup_leader gauge",
            f"facegate_cleanup_leader{{{instance}}} {int(stats.leading)}",
            "# HELP facegate_cleanup_runs_total Cleanup runs of this replica, by what started them.",
            "# TYPE facegate_cleanup_runs_total counter",
            *(f'facegate_cleanup_runs_total{{{instance},trigger="{t}"}} {n}' for t, n in sorted(stats.runs.items())),
            "# HELP facegate_cleanup_removed_total What this replica's cleanup runs removed, by kind.",
            "# TYPE facegate_cleanup_removed_total counter",
            *(f'facegate_cleanup_removed_total{{{instance},kind="{k}"}} {n}' for k, n in removed.items()),
            "# HELP facegate_cleanup_last_run_seconds Duration of this replica's last cleanup run.",
            "# TYPE facegate_cleanup_last_run_seconds gauge",
            f"facegate_cleanup_last_run_seconds{{{instance}}} {stats.last_run_seconds}",
            "# HELP facegate_cleanup_longest_batch_ms Longest delete transaction of this replica's runs.",
            "# TYPE facegate_cleanup_longest_batch_ms gauge",
            f"facegate_cleanup_longest_batch_ms{{{instance}}} {stats.longest_batch_ms}",
        ]) + "\n"  # fmt: skip
