"""A minimal protobuf wire-format decoder: just enough for TensorBoard and W&B logs.

Two shapes of the same thing:

- :func:`fields` walks one message in Python (small or rare messages: W&B history
  records, hparams metadata);
- :func:`scan` walks *many* messages of one type in lockstep with numpy, one field
  per step for all of them at once, so a million TensorBoard events cost a handful
  of array operations per field rather than a Python loop per byte.

Neither needs the ``protobuf`` package or generated code: callers name the field
numbers they want and skip the rest, as the wire format allows.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Iterator

import numpy as np

__all__ = [
    "DecodeError",
    "Fields",
    "PAD",
    "fields",
    "gather_fixed",
    "pick",
    "read_varints",
    "scan",
]

VARINT, FIXED64, LEN, FIXED32 = 0, 1, 2, 5

#: Zero bytes a buffer given to :func:`scan` must carry past its end (varint reads
#: look ahead up to 10 bytes without bounds checks).
PAD = 16


class DecodeError(ValueError):
    """Malformed protobuf; ``index`` is the message (for :func:`scan`) or byte offset."""

    def __init__(self, reason: str, index: int) -> None:
        super().__init__(reason)
        self.index = index


# -- one message at a time ---------------------------------------------------------------


def _varint(buf: bytes | memoryview, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise DecodeError("truncated or overlong varint", pos)
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def fields(buf: bytes | memoryview, start: int = 0, end: int | None = None) -> Iterator[
    tuple[int, int, int | bytes]
]:
    """Yield ``(field_number, wire_type, value)`` of one message.

    ``value`` is an int for varints, raw bytes for length-delimited and fixed fields.
    Raises :class:`DecodeError` (with the byte offset) on malformed input.
    """
    end = len(buf) if end is None else end
    pos = start
    while pos < end:
        at = pos
        key = buf[pos]
        if key < 0x80:  # one-byte keys and lengths are the common case: skip the call
            pos += 1
        else:
            key, pos = _varint(buf, pos, end)
        field, wire = key >> 3, key & 7
        if wire == VARINT:
            value, pos = _varint(buf, pos, end)
            yield field, wire, value
            continue
        if wire == LEN:
            n = buf[pos] if pos < end else 0x80
            if n < 0x80:
                pos += 1
            else:
                n, pos = _varint(buf, pos, end)
        elif wire == FIXED64:
            n = 8
        elif wire == FIXED32:
            n = 4
        else:
            raise DecodeError(f"unsupported wire type {wire} (field {field})", at)
        if pos + n > end:
            raise DecodeError(f"field {field} runs past the end of its message", at)
        yield field, wire, bytes(buf[pos : pos + n])
        pos += n


def as_double(raw: bytes) -> float:
    """A fixed64 field's bytes as a double."""
    return struct.unpack("<d", raw)[0]


def as_int64(v: int) -> int:
    """A varint as a signed int64 (negative numbers use ten bytes on the wire)."""
    return v - (1 << 64) if v >= 1 << 63 else v


# -- many messages in lockstep --------------------------------------------------------------


def read_varints(buf: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Decode one varint at each position: ``(value uint64, byte count int64)``.

    ``buf`` must end in at least :data:`PAD` zero bytes beyond any position read.
    """
    b = buf[pos]
    value = (b & 0x7F).astype(np.uint64)
    nbytes = np.ones(len(pos), dtype=np.int64)
    todo = np.flatnonzero(b >= 0x80)
    k = 1
    while len(todo):
        if k >= 10:
            raise DecodeError("overlong varint", int(todo[0]))
        b = buf[pos[todo] + k]
        value[todo] |= (b & 0x7F).astype(np.uint64) << np.uint64(7 * k)
        nbytes[todo] += 1
        todo = todo[b >= 0x80]
        k += 1
    return value, nbytes


@dataclass
class Fields:
    """Every field of many messages, flattened: row i is one field occurrence.

    ``msg`` indexes the input messages, ``key`` is the field's wire key
    (``field << 3 | wire``), ``pos`` is where the payload starts and ``size`` its
    length; for varints the same column holds the decoded number instead (``value``).
    Rows come in lockstep rounds: round k holds the k-th field of every message that
    has one, so a message's fields are in order across rounds; ``rounds`` are the row
    offsets where each round starts. Four columns, because a million events make
    several million rows.
    """

    msg: np.ndarray
    key: np.ndarray
    pos: np.ndarray
    size: np.ndarray
    rounds: np.ndarray

    @property
    def value(self) -> np.ndarray:
        """Decoded varints (meaningful on varint rows only)."""
        return self.size.view(np.uint64)

    def where(self, field: int, wire: int) -> np.ndarray:
        """Row indices of one field number with one wire type, in row order."""
        return np.flatnonzero(self.key == (field << 3 | wire))


def scan(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> Fields:
    """Split the messages ``buf[starts[i]:ends[i]]`` into fields, all at once.

    Raises :class:`DecodeError` whose ``index`` is the first malformed message.
    """
    idx = np.arange(len(starts), dtype=np.int64)
    pos = np.asarray(starts, dtype=np.int64).copy()
    end = np.asarray(ends, dtype=np.int64)
    live = pos < end
    idx, pos, end = idx[live], pos[live], end[live]
    parts: list[tuple[np.ndarray, ...]] = []
    while len(idx):
        key, klen = read_varints(buf, pos)
        key = key.view(np.int64)
        wire = key & 7
        p = pos + klen
        size = np.zeros(len(idx), dtype=np.int64)
        bad = (wire != VARINT) & (wire != FIXED64) & (wire != LEN) & (wire != FIXED32)
        bad |= (key >> 3) <= 0  # field 0, or a key past 2**63
        if bad.any():
            raise DecodeError("unsupported wire type or field 0", int(idx[np.argmax(bad)]))
        var = np.flatnonzero(wire == VARINT)
        varval, varlen = read_varints(buf, p[var])
        size[var] = varlen
        sel = np.flatnonzero(wire == LEN)
        if len(sel):
            n, nlen = read_varints(buf, p[sel])
            too_big = n > np.uint64(1 << 40)
            if too_big.any():
                raise DecodeError("length prefix too large", int(idx[sel[np.argmax(too_big)]]))
            p[sel] += nlen
            size[sel] = n.astype(np.int64)
        size[wire == FIXED64] = 8
        size[wire == FIXED32] = 4
        nxt = p + size
        over = nxt > end
        if over.any():
            raise DecodeError("field runs past the end of its message", int(idx[np.argmax(over)]))
        size[var] = varval.view(np.int64)  # varint rows keep the number, not its length
        parts.append((idx, key, p, size))
        keep = nxt < end
        idx, pos, end = idx[keep], nxt[keep], end[keep]
    if not parts:
        z = np.zeros(0, dtype=np.int64)
        return Fields(z, z, z, z, np.zeros(1, dtype=np.int64))
    rounds = np.cumsum([0] + [len(p[0]) for p in parts])
    return Fields(*(np.concatenate(c) for c in zip(*parts)), rounds)


def pick(f: Fields, rows: np.ndarray, n_msgs: int) -> np.ndarray:
    """For each message, the row (from sorted ``rows``) of its *last* occurrence, else -1.

    Protobuf's rule for a non-repeated field seen twice: the last one wins. A message
    appears at most once per round, so assigning round by round is well defined.
    """
    out = np.full(n_msgs, -1, dtype=np.int64)
    cuts = np.searchsorted(rows, f.rounds)
    for a, b in zip(cuts[:-1], cuts[1:]):
        if b > a:
            r = rows[a:b]
            out[f.msg[r]] = r
    return out


def gather_fixed(buf: np.ndarray, pos: np.ndarray, dtype: str) -> np.ndarray:
    """Read one little-endian fixed-size number (``'<f8'``, ``'<f4'``, ...) at each position."""
    width = np.dtype(dtype).itemsize
    win = np.lib.stride_tricks.sliding_window_view(buf, width)
    return np.ascontiguousarray(win[pos]).view(dtype).reshape(-1)
