"""CPU time of a started cluster's processes, by process, over a stretch of requests.

benchmarks/search.py uses it to say where the CPU of one Search goes: it finds the process
that listens on the gateway's port, takes its parent (the launcher, `python -m shared.cluster`)
and reads the user + system CPU of every process under that launcher (the services, the
embedded NATS, Postgres with its backends, Redis) from /proc before and after the requests.
Processes are labelled by service (`python -m services.<name>` -> name) or program name;
processes of one label are summed (Postgres's backends).

Linux only (/proc); elsewhere, or where the gateway's process cannot be found (a cluster run
by another user, in containers), `Snapshot.take` answers None and the caller prints nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import psutil


def label(proc: psutil.Process) -> str:
    """'gateway' for `python -m services.gateway`, else the program's name ('nats-server',
    'postgres', 'redis-server')."""
    try:
        cmdline = proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return "?"
    if "-m" in cmdline:
        after = cmdline.index("-m") + 1
        return (cmdline[after] if after < len(cmdline) else "").removeprefix("services.")
    return proc.name()


def cpu_seconds(proc: psutil.Process) -> float:
    """User + system CPU of one process (all its threads)."""
    times = proc.cpu_times()
    return float(times.user + times.system)


def cluster_processes(port: int) -> list[psutil.Process]:
    """Every process under the launcher of the process listening on `port`; [] when none is
    found."""
    for conn in psutil.net_connections("tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            launcher = psutil.Process(conn.pid).parent()
            if launcher is None:
                return []
            return launcher.children(recursive=True)
    return []


@dataclass(frozen=True)
class Snapshot:
    """CPU seconds by label at one moment."""

    seconds: dict[str, float]

    @classmethod
    def take(cls, port: int) -> Snapshot | None:
        try:
            procs = cluster_processes(port)
        except (psutil.AccessDenied, OSError):
            return None
        if not procs:
            return None
        found: dict[str, float] = defaultdict(float)
        for proc in procs:
            try:
                found[label(proc)] += cpu_seconds(proc)
            except (psutil.NoSuchProcess, OSError):
                continue  # it ended meanwhile
        return cls(dict(found))

    def per_request(self, later: Snapshot, requests: int) -> dict[str, float]:
        """CPU ms per request by label between this snapshot and `later` (processes that ended
        meanwhile are left out; new ones counted from 0)."""
        return {
            name: 1000 * (spent - self.seconds.get(name, 0.0)) / requests
            for name, spent in later.seconds.items()
            if name in self.seconds
        }


def summary(per_request: dict[str, float], at_least_ms: float = 0.05) -> str:
    """'gateway 9.1, detector 30.2, ...; total 58.0 ms' (largest first, tiny ones dropped
    from the list but kept in the total)."""
    shown = sorted(((v, k) for k, v in per_request.items() if v >= at_least_ms), reverse=True)
    parts = ", ".join(f"{k} {v:.1f}" for v, k in shown)
    return f"{parts}; total {sum(per_request.values()):.1f} ms"
