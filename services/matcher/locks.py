"""A readers-writer lock that measures how long it makes threads wait.

hnswlib documents `add_items` as "thread-safe with other add_items calls, but not with
knn_query", and `mark_deleted`, `resize_index` and slot replacement as mutations of the same
graph: searches share the lock, every mutation takes it alone. The waits are reported in
`$SRV.STATS` so the cost of this locking is measured, not guessed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class RWLock:
    """Many readers or one writer; a waiting writer holds back new readers (no starvation)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0
        self.read_wait_s = 0.0
        self.write_wait_s = 0.0
        self.write_held_s = 0.0
        self.reads = 0
        self.writes = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        started = time.perf_counter()
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
            self.reads += 1
            self.read_wait_s += time.perf_counter() - started
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        started = time.perf_counter()
        with self._cond:
            self._writers_waiting += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writer = True
            self.writes += 1
        acquired = time.perf_counter()
        self.write_wait_s += acquired - started
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self.write_held_s += time.perf_counter() - acquired
                self._cond.notify_all()
