"""One window of TensorBoard records: every data CRC checked, every scalar decoded.

Records are grouped by (length, bytes of the step varint). A scalar writer's records
of one group differ only in the payloads of a few fields (wall time, step, value,
perhaps the tag), so the group is one ``(n, length)`` byte matrix whose columns mostly
agree: its CRCs come from the columns that differ (``crc32c_rows_alike``), and where
the first record has a known scalar layout (``_tb_layout``: ``add_scalar``'s
``simple_value``, a one-element tensor, with or without plugin metadata) and the
other records agree with it outside the number columns, steps, wall times, values and
tags are read as columns. Everything else (histograms, text, several values per
Summary, hparams, groups too small to bother) goes to the general decoder
(``_tb_decode``), which gives the same answer for these records too (a test compares
them), only slower.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._crc32c import crc32c, crc32c_rows, crc32c_rows_alike, crc32c_spans, masked
from ._tb_decode import Malformed, decode, strings
from ._tb_frame import HEADER, Window, stored_data_crcs
from ._tb_layout import Layout, find_layout

__all__ = ["Chunk", "Seen", "WindowResult", "read_window"]

_MIN_GROUP = 16  # smaller groups take the general road
_MAX_LEN = 1 << 12  # grouped records are shorter: (length << 4 | varint bytes) fits in 16 bits
_MANY = 32  # records of one length checksummed as rows of one matrix (general road)
_SPAN_MAX = 1 << 16  # longer records are checksummed one by one
_STEP = 0x10  # Event.step's key
_LAYOUTS_PER_LENGTH = 64  # at most this many layouts kept per record length


class Seen:
    """What the windows of one file share: tag names (codes) and the layouts found."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._index: dict[str, int] = {}
        self._layouts: dict[int, list[Layout]] = {}

    def layout(self, buf: np.ndarray, start: int, row: np.ndarray) -> Layout | None:
        """The layout of the record whose data is ``row`` (found once per file)."""
        known = self._layouts.setdefault(len(row), [])
        for lay in known:
            if lay.matches(row):
                return lay
        lay = find_layout(buf, start, len(row))
        if lay is not None and len(known) < _LAYOUTS_PER_LENGTH:
            known.append(lay)
        return lay

    def code(self, name: str) -> int:
        """The code of a name (a new name gets the next one)."""
        c = self._index.get(name)
        if c is None:
            c = self._index[name] = len(self.names)
            self.names.append(name)
        return c

    def codes(self, names: list[str]) -> np.ndarray:
        """Codes for a list of names (new names are added)."""
        return np.array([self.code(n) for n in names], dtype=np.int32)


@dataclass
class Chunk:
    """The scalars of one window, in record order; ``tag`` codes into :class:`Seen`."""

    step: np.ndarray
    wall_time: np.ndarray
    value: np.ndarray
    tag: np.ndarray


@dataclass
class WindowResult:
    chunk: Chunk | None = None
    hparams: dict[str, Any] = field(default_factory=dict)
    bad_hparams: int = 0
    crc_bad_at: int | None = None  # byte offset (in the file) of the first bad data CRC
    malformed_at: int | None = None  # byte offset of the first malformed Event


def read_window(w: Window, seen: Seen, decode_too: bool = True) -> WindowResult:
    """Check every data CRC of the window; then (``decode_too``) decode its scalars."""
    buf, offs, lengths = w.buf, w.offs, w.lengths
    n = len(offs)
    starts = offs + HEADER
    computed = np.zeros(n, dtype=np.uint32)
    done = np.zeros(n, dtype=bool)
    fast = _Fast(n, seen) if decode_too else None
    key = _group_keys(buf, starts, lengths)
    order = np.argsort(key, kind="stable")
    sk = key[order]
    cuts = np.flatnonzero(sk[1:] != sk[:-1]) + 1
    for a, b in zip([0, *cuts.tolist()], [*cuts.tolist(), n]):
        k = int(sk[a])
        if not k or b - a < _MIN_GROUP:
            continue
        sel = order[a:b]
        length = k >> 4
        rows = np.lib.stride_tricks.sliding_window_view(buf, length)[starts[sel]]
        vary = (rows != rows[0]).any(axis=0)
        computed[sel] = crc32c_rows_alike(rows, np.flatnonzero(vary))
        done[sel] = True
        if fast is not None:
            fast.add(buf, starts, sel, rows, vary, k & 0xF)
    rest = np.flatnonzero(~done)
    if len(rest):
        computed[rest] = _data_crcs(buf, starts[rest], lengths[rest])
    bad = np.flatnonzero(masked(computed) != stored_data_crcs(w))
    if len(bad):
        return WindowResult(crc_bad_at=w.base + int(offs[bad[0]]))
    if fast is None:
        return WindowResult()
    gen = np.flatnonzero(~fast.done)
    if not len(gen):
        return WindowResult(fast.chunk())
    try:
        es, rec, bad_hparams = decode(buf, starts[gen], lengths[gen])
    except Malformed as e:
        return WindowResult(malformed_at=w.base + int(offs[gen[e.event]]))
    codes = seen.codes(es.tags)[es.tag] if len(es.tag) else np.zeros(0, dtype=np.int32)
    chunk = fast.merge(gen[rec], es.step, es.wall_time, es.value, codes)
    return WindowResult(chunk, es.hparams, bad_hparams)


def _group_keys(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``length << 4 | bytes of the step varint`` per record (0: not grouped)."""
    n = len(starts)
    vl = np.zeros(n, dtype=np.uint16)
    live = np.flatnonzero(buf[starts + 9] == _STEP)  # past the wall time: the step key
    for k in range(10):
        if not len(live):
            break
        vl[live] += 1
        live = live[buf[starts[live] + 10 + k] >= 0x80]
    key = (np.minimum(lengths, _MAX_LEN - 1).astype(np.uint16) << 4) | vl
    key[(lengths >= _MAX_LEN) | (lengths == 0)] = 0
    key[live] = 0  # a varint over 10 bytes: malformed, the general decoder says so
    return key


def _data_crcs(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """CRC32C of records of assorted lengths (the ones not grouped)."""
    out = np.zeros(len(starts), dtype=np.uint32)
    uniq, inv, counts = np.unique(lengths, return_inverse=True, return_counts=True)
    inv = inv.reshape(-1)
    many = (counts[inv] >= _MANY) & (lengths > 0)
    for k in np.unique(inv[many]).tolist():
        sel = np.flatnonzero(inv == k)
        out[sel] = crc32c_rows(np.lib.stride_tricks.sliding_window_view(buf, int(uniq[k]))
                               [starts[sel]])
    huge = ~many & (lengths > _SPAN_MAX)
    for i in np.flatnonzero(huge).tolist():
        out[i] = crc32c(memoryview(buf)[starts[i] : starts[i] + lengths[i]])
    rest = np.flatnonzero(~many & ~huge)
    out[rest] = crc32c_spans(buf, starts[rest], lengths[rest])
    return out


class _Fast:
    """Scalars of the records read by layout, at their record's index."""

    def __init__(self, n: int, seen: Seen) -> None:
        self.seen = seen
        self.done = np.zeros(n, dtype=bool)
        self.step = np.zeros(n, dtype=np.int64)
        self.wall = np.empty(n, dtype=np.float64)
        self.value = np.empty(n, dtype=np.float64)
        self.tag = np.zeros(n, dtype=np.int32)

    def add(self, buf: np.ndarray, starts: np.ndarray, sel: np.ndarray, rows: np.ndarray,
            vary: np.ndarray, vl: int) -> None:
        """Read the records ``sel`` (data ``rows``; ``vary``: columns not all equal; ``vl``:
        bytes of a step varint at column 10, the group's key) that have the first one's
        layout."""
        lay = self.seen.layout(buf, int(starts[sel[0]]), rows[0])
        if lay is None:
            return
        differ = lay.fixed[vary[lay.fixed]]  # fixed columns where some record differs
        ok = (rows[:, differ] == rows[0, differ]).all(axis=1) if len(differ) else \
            np.ones(len(rows), dtype=bool)
        step = lay.step
        if step is not None and step != (10, vl) and vary[step[0] : sum(step)].any():
            ok &= lay.continues(rows)  # (the group's key vouches for a step at column 10)
        if ok.all():
            at = sel
        else:
            at, rows = sel[ok], rows[ok]
        self.done[at] = True
        self.step[at], self.wall[at], self.value[at] = lay.numbers(rows)
        col, n = lay.tag
        if not vary[col : col + n].any():
            self.tag[at] = self.seen.code(rows[0, col : col + n].tobytes()
                                          .decode("utf-8", "replace"))
        else:
            codes, names = strings(buf, starts[at] + col, np.full(len(at), n))
            self.tag[at] = self.seen.codes(names)[codes]

    def chunk(self) -> Chunk:
        return Chunk(self.step, self.wall, self.value, self.tag)

    def merge(self, rec: np.ndarray, step: np.ndarray, wall: np.ndarray, value: np.ndarray,
              tag: np.ndarray) -> Chunk:
        """Add the general decoder's scalars (of records ``rec``), all in record order."""
        mine = np.flatnonzero(self.done)
        order = np.argsort(np.concatenate([mine, rec]), kind="stable")
        return Chunk(*(np.concatenate([a[mine], b])[order] for a, b in (
            (self.step, step), (self.wall, wall), (self.value, value),
            (self.tag, tag.astype(np.int32)))))
