"""The replica's figures as Prometheus text (its own /metrics on FACEGATE_HEALTH_PORT); the
`IndexStats` Struct itself is its `$SRV.STATS` data."""

from __future__ import annotations

from shared.messages.matcher import IndexStats


def metrics_text(stats: IndexStats) -> str:
    """Prometheus exposition of one replica's index."""
    instance = f'instance="{stats.instance}"'
    lines = [
        "# HELP facegate_matcher_templates Templates held in this replica's index.",
        "# TYPE facegate_matcher_templates gauge",
        *(
            f'facegate_matcher_templates{{{instance},model="{m.model_name}",kind="{m.kind}"}} {m.templates}'
            for m in stats.models
        ),
        "# HELP facegate_matcher_index_bytes Memory of vectors and graph.",
        "# TYPE facegate_matcher_index_bytes gauge",
        *(f'facegate_matcher_index_bytes{{{instance},model="{m.model_name}"}} {m.index_bytes}' for m in stats.models),
        "# HELP facegate_matcher_change_seq Last change-log position applied.",
        "# TYPE facegate_matcher_change_seq gauge",
        f"facegate_matcher_change_seq{{{instance}}} {stats.seq}",
        "# HELP facegate_matcher_load_seconds Time to load the gallery at start.",
        "# TYPE facegate_matcher_load_seconds gauge",
        f'facegate_matcher_load_seconds{{{instance},source="{stats.load_source}"}} {stats.load_seconds}',
        "# HELP facegate_matcher_lock_wait_ms_total Time spent waiting for the index lock.",
        "# TYPE facegate_matcher_lock_wait_ms_total counter",
        f'facegate_matcher_lock_wait_ms_total{{{instance},side="search"}} {stats.search_lock_wait_ms}',
        f'facegate_matcher_lock_wait_ms_total{{{instance},side="write"}} {stats.write_lock_wait_ms}',
    ]
    return "\n".join(lines) + "\n"
