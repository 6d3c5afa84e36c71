"""Which face and member each label of an index stands for, in numpy arrays rather than dicts.

At 1M templates, dicts of label -> face id, face id -> label and label -> member held one
Python string, one int and three hash entries per template (~0.2 GB per million with short
ids, more with GUIDs). Here a label costs ~52 bytes:
- per label (arrays indexed by the label, grown by doubling): the face id as 16 bytes when it is
  a canonical GUID (lowercase, hyphenated: what Facegate generates), the member's number (-1:
  label unused) and the member's next label (each member's labels form a chain in the order
  they were added);
- face id -> label: a 64-bit hash of each GUID key (its two halves xor-ed) sorted with the
  labels (`np.searchsorted`), plus a dict of the keys added since the last sort, merged into the
  sorted arrays when it grows past 1/8 of them; a found label counts only when it is live and
  its own key is the one asked for (entries of removed or reused labels, hash collisions);
- face ids that are not canonical GUIDs (tests, imports) keep a dict in each direction;
- members: one string each (interned), their numbers in a dict, and per member its first and
  last label and its count in arrays.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

Labels64 = npt.NDArray[np.int64]
A = TypeVar("A", bound="np.ndarray[Any, Any]")
KEY = np.dtype("S16")
_HEX = np.full(256, 255, np.uint8)
_HEX[np.frombuffer(b"0123456789", np.uint8)] = np.arange(10, dtype=np.uint8)
_HEX[np.frombuffer(b"abcdef", np.uint8)] = np.arange(10, 16, dtype=np.uint8)
_DIGITS = np.frombuffer(b"0123456789abcdef", np.uint8)
_HYPHENS = np.array([8, 13, 18, 23])
_HEX_COLUMNS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])
MIN_MERGE = 4096


def guid_keys(face_ids: Sequence[str]) -> tuple[npt.NDArray[np.void], npt.NDArray[np.bool_]]:
    """16-byte keys of the canonical GUIDs among `face_ids`, and which ids they are (the others,
    and the nil GUID, whose key marks "no GUID", are kept as strings)."""
    n = len(face_ids)
    ok = np.fromiter((len(f) == 36 and f.isascii() for f in face_ids), np.bool_, n)
    keys = np.zeros(n, KEY)
    rows = np.flatnonzero(ok)
    if len(rows) == 0:
        return keys, ok
    text = np.frombuffer("".join(face_ids[i] for i in rows.tolist()).encode("ascii"), np.uint8).reshape(-1, 36)
    nibbles = _HEX[text[:, _HEX_COLUMNS]]
    good = np.all(text[:, _HYPHENS] == ord("-"), axis=1) & np.all(nibbles != 255, axis=1)
    raw = (nibbles[:, 0::2] << 4) | nibbles[:, 1::2]
    good &= raw.any(axis=1)
    ok[rows[~good]] = False
    keys[rows[good]] = np.ascontiguousarray(raw[good]).view(KEY).ravel()
    return keys, ok


def guid_strings(keys: npt.NDArray[np.void]) -> list[str]:
    """The canonical text of 16-byte GUID keys."""
    if len(keys) == 0:
        return []
    raw = np.frombuffer(np.ascontiguousarray(keys, KEY).tobytes(), np.uint8).reshape(-1, 16)
    text = np.full((len(raw), 36), ord("-"), np.uint8)
    digits = np.empty((len(raw), 32), np.uint8)
    digits[:, 0::2] = _DIGITS[raw >> 4]
    digits[:, 1::2] = _DIGITS[raw & 15]
    text[:, _HEX_COLUMNS] = digits
    joined = text.tobytes().decode("ascii")
    return [joined[i : i + 36] for i in range(0, len(joined), 36)]


class LabelMap:
    """Face id and member of each live label; the labels of each face id and member."""

    def __init__(self) -> None:
        self._key = np.zeros(0, KEY)  # the face's GUID (zero: not a GUID, see _odd)
        self._member = np.zeros(0, np.int32)  # member number, -1: label not in use
        self._next = np.zeros(0, np.int64)  # the member's next label, -1: its last
        self._odd: dict[int, str] = {}  # label -> face id that is not a canonical GUID
        self._odd_label: dict[str, int] = {}
        self._sorted_hashes = np.zeros(0, np.uint64)
        self._sorted_labels = np.zeros(0, np.int64)
        self._recent: dict[bytes, int] = {}  # GUID key -> label, added since the last sort
        self._size = 0
        self._members: list[str] = []
        self._number: dict[str, int] = {}
        self._first = np.zeros(0, np.int64)
        self._last = np.zeros(0, np.int64)
        self._count = np.zeros(0, np.int32)
        self._free_numbers: list[int] = []

    def __len__(self) -> int:
        return self._size

    @property
    def nbytes(self) -> int:
        arrays = (self._key, self._member, self._next, self._sorted_hashes, self._sorted_labels)
        return sum(a.nbytes for a in arrays) + self._first.nbytes + self._last.nbytes + self._count.nbytes

    # ---- reading ----

    def live(self) -> Labels64:
        """Every live label, ascending."""
        return np.flatnonzero(self._member >= 0).astype(np.int64)

    def alive(self, labels: Labels64) -> npt.NDArray[np.bool_]:
        labels = np.asarray(labels, np.int64)
        inside = (labels >= 0) & (labels < len(self._member))
        out = np.zeros(len(labels), np.bool_)
        out[inside] = self._member[labels[inside]] >= 0
        return out

    def face_ids(self, labels: Iterable[int]) -> list[str]:
        """The face id of each of `labels` (live ones; KeyError otherwise)."""
        wanted = np.fromiter(labels, np.int64)
        if not self.alive(wanted).all():
            raise KeyError(next(int(x) for x, a in zip(wanted, self.alive(wanted), strict=True) if not a))
        out = guid_strings(self._key[wanted])
        for i, label in enumerate(wanted.tolist()):
            if label in self._odd:
                out[i] = self._odd[label]
        return out

    def member_numbers(self, labels: Labels64) -> npt.NDArray[np.int32]:
        """Member number of each label (-1: not in use)."""
        out = np.full(len(labels), -1, np.int32)
        inside = (labels >= 0) & (labels < len(self._member))
        out[inside] = self._member[labels[inside]]
        return out

    def member(self, number: int) -> str:
        return self._members[number]

    def member_ids(self, labels: Labels64) -> list[str]:
        members = self._members
        return [members[n] for n in self._member[np.asarray(labels, np.int64)].tolist()]

    def labels_of(self, face_ids: Sequence[str]) -> Labels64:
        """The live label of each face id, -1 for those not held."""
        keys, guid = guid_keys(face_ids)
        out = np.full(len(face_ids), -1, np.int64)
        rows = np.flatnonzero(guid)
        hashes, size = self._sorted_hashes, len(self._sorted_hashes)
        if len(rows) and size:
            wanted = keys[rows]
            h = _hash(wanted)
            at = np.searchsorted(hashes, h)
            found = np.minimum(at, size - 1)
            cand = np.where(hashes[found] == h, self._sorted_labels[found], -1)
            ok = cand >= 0
            ok[ok] = (self._member[cand[ok]] >= 0) & (self._key[cand[ok]] == wanted[ok])
            out[rows[ok]] = cand[ok]
            # Several entries with the same hash (collisions, stale entries): each is looked at.
            more = np.flatnonzero(~ok & (at + 1 < size) & (hashes[np.minimum(at + 1, size - 1)] == h))
            for i in more.tolist():
                j = int(at[i])
                while j < size and hashes[j] == h[i]:
                    label = int(self._sorted_labels[j])
                    if self._member[label] >= 0 and self._key[label] == wanted[i]:
                        out[rows[i]] = label
                        break
                    j += 1
        if self._recent:  # a key the sorted arrays hold live is not in the dict
            missing = rows[out[rows] < 0]
            get = self._recent.get
            for i, key in zip(missing.tolist(), keys[missing].tolist(), strict=True):
                held = get(key)
                if held is not None:
                    out[i] = held
        if self._odd_label:
            for i in np.flatnonzero(~guid).tolist():
                out[i] = self._odd_label.get(face_ids[i], -1)
        return out

    def label_of(self, face_id: str) -> int | None:
        label = int(self.labels_of([face_id])[0])
        return None if label < 0 else label

    def siblings(self, number: int) -> list[int]:
        """The member's labels in the order they were added."""
        out = []
        label = int(self._first[number])
        nxt = self._next
        while label >= 0:
            out.append(label)
            label = int(nxt[label])
        return out

    def count(self, number: int) -> int:
        return int(self._count[number])

    def number_of(self, member_id: str) -> int | None:
        return self._number.get(member_id)

    # ---- changes ----

    def add(self, labels: Sequence[int], face_ids: Sequence[str], member_ids: Sequence[str]) -> None:
        """Record new labels (not in use) for faces not held."""
        if not len(labels):
            return
        at = np.asarray(labels, np.int64)
        self._grow_labels(int(at.max()) + 1)
        keys, guid = guid_keys(face_ids)
        self._key[at] = keys
        for i in np.flatnonzero(~guid).tolist():
            label = int(at[i])
            self._odd[label] = face_ids[i]
            self._odd_label[face_ids[i]] = label
        numbers = [self._number_for(m) for m in member_ids]
        self._member[at] = numbers
        self._next[at] = -1
        first, last, count = self._first, self._last, self._count
        for label, n in zip(at.tolist(), numbers, strict=True):
            if count[n]:
                self._next[last[n]] = label
            else:
                first[n] = label
            last[n] = label
            count[n] += 1
        self._size += len(at)
        rows = np.flatnonzero(guid)
        if len(self._recent) + len(rows) > max(MIN_MERGE, len(self._sorted_hashes) // 8):
            self._merge()  # sorts the new keys in too (a load adds them all at once)
        else:
            self._recent.update(zip(keys[rows].tolist(), at[rows].tolist(), strict=True))

    def remove(self, labels: Sequence[int]) -> None:
        """Forget live labels."""
        for label in map(int, labels):
            n = int(self._member[label])
            if label in self._odd:
                del self._odd_label[self._odd.pop(label)]
            else:
                self._recent.pop(bytes(self._key[label]), None)
            self._key[label] = b""
            self._member[label] = -1
            self._unlink(n, label)
            self._size -= 1

    def _unlink(self, n: int, label: int) -> None:
        nxt = self._next
        if self._first[n] == label:
            self._first[n] = nxt[label]
            if self._last[n] == label:
                self._last[n] = -1
        else:
            prev = int(self._first[n])
            while nxt[prev] != label:
                prev = int(nxt[prev])
            nxt[prev] = nxt[label]
            if self._last[n] == label:
                self._last[n] = prev
        nxt[label] = -1
        self._count[n] -= 1
        if self._count[n] == 0:
            del self._number[self._members[n]]
            self._members[n] = ""
            self._free_numbers.append(n)

    def _number_for(self, member_id: str) -> int:
        n = self._number.get(member_id)
        if n is not None:
            return n
        member_id = sys.intern(member_id)
        if self._free_numbers:
            n = self._free_numbers.pop()
            self._members[n] = member_id
        else:
            n = len(self._members)
            self._members.append(member_id)
            if n >= len(self._first):
                grow = max(1024, 2 * len(self._first))
                self._first = _grown(self._first, grow, -1)
                self._last = _grown(self._last, grow, -1)
                self._count = _grown(self._count, grow, 0)
        self._number[member_id] = n
        self._first[n] = self._last[n] = -1
        self._count[n] = 0
        return n

    def _grow_labels(self, needed: int) -> None:
        if needed <= len(self._member):
            return
        size = max(needed, 2 * len(self._member), 1024)
        self._key = _grown(self._key, size, b"")
        self._member = _grown(self._member, size, -1)
        self._next = _grown(self._next, size, -1)

    def _merge(self) -> None:
        """Sort the GUID keys of every live label again; the recent dict empties."""
        labels = np.flatnonzero((self._member >= 0) & (self._key != b"")).astype(np.int64)
        hashes = _hash(self._key[labels])
        order = np.argsort(hashes)
        self._sorted_hashes, self._sorted_labels = hashes[order], labels[order]
        self._recent = {}


def _hash(keys: npt.NDArray[np.void]) -> npt.NDArray[np.uint64]:
    halves = np.ascontiguousarray(keys, KEY).view(np.uint64).reshape(-1, 2)
    return np.asarray(halves[:, 0] ^ halves[:, 1], np.uint64)


def _grown(array: A, size: int, fill: object) -> A:
    out = np.full(size, fill, array.dtype)
    out[: len(array)] = array
    return cast(A, out)


class FaceIdView(Mapping[int, str]):
    """label -> face id, read-only (what callers and tests read as `index.face_of`)."""

    def __init__(self, labels: LabelMap) -> None:
        self._labels = labels

    def __getitem__(self, label: int) -> str:
        if not isinstance(label, (int, np.integer)):
            raise KeyError(label)
        return self._labels.face_ids([int(label)])[0]  # KeyError for a label not held

    def __iter__(self) -> Iterator[int]:
        return iter(self._labels.live().tolist())

    def __len__(self) -> int:
        return len(self._labels)


class LabelView(Mapping[str, int]):
    """face id -> label, read-only (`index.label_of`)."""

    def __init__(self, labels: LabelMap) -> None:
        self._labels = labels

    def __getitem__(self, face_id: str) -> int:
        label = self._labels.label_of(face_id) if isinstance(face_id, str) else None
        if label is None:
            raise KeyError(face_id)
        return label

    def __iter__(self) -> Iterator[str]:
        return iter(self._labels.face_ids(self._labels.live()))

    def __len__(self) -> int:
        return len(self._labels)
