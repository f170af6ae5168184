"""The layout of a one-scalar Event record: which bytes are its numbers, which are fixed.

A writer logging a scalar emits records that differ only in the *payloads* of a
few fields: the wall time (8 bytes), the step (a varint), the value (4 or 8 bytes,
or 2 for half floats) and sometimes the tag. Every other byte (field keys,
lengths, tensor dtype and shape, plugin metadata) is the same from one record to
the next. A :class:`Layout` is read off one record in Python: where those payloads
sit and what the other bytes are. Any record of the same length whose other bytes
are equal (and whose step varint has the same length) parses to the same tree, so
its numbers can be read straight from those columns, in bulk.

A layout is only trusted after the general decoder (``_tb_decode.decode``) has read
the same record and found exactly the same one scalar, so this module never decides
what counts as a scalar: it only finds where the numbers are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _protobuf as pb
from ._tb_decode import ITEMSIZE, Malformed, decode, element_values

__all__ = ["Layout", "find_layout"]

_DT_FLOAT, _DT_DOUBLE = 1, 2
# Event: wall_time, step, summary.  Summary: value.  Value: tag, simple_value, tensor,
# metadata.  TensorProto: dtype, tensor_shape, tensor_content, float_val, double_val.
_EVENT = {(1, pb.FIXED64), (2, pb.VARINT), (5, pb.LEN)}
_VALUE = {(1, pb.LEN), (2, pb.FIXED32), (8, pb.LEN), (9, pb.LEN)}
_TENSOR = {(1, pb.VARINT), (2, pb.LEN), (4, pb.LEN), (5, pb.LEN), (5, pb.FIXED32),
           (6, pb.LEN), (6, pb.FIXED64)}


@dataclass
class Layout:
    """Where one layout's numbers sit (columns of the record's data)."""

    length: int
    fixed: np.ndarray  # columns that must hold ``ref``
    ref: np.ndarray
    wall: int | None  # the f8 wall time
    step: tuple[int, int] | None  # the step varint: column, bytes
    value: tuple[int, int]  # column, TensorProto dtype of the one element
    tag: tuple[int, int]  # column, length (0: no tag)

    def matches(self, row: np.ndarray) -> bool:
        """Whether a record (its data bytes) has this layout."""
        return len(row) == self.length and bool((row[self.fixed] == self.ref).all()) \
            and (self.step is None or bool(self.continues(row[None, :]).all()))

    def continues(self, rows: np.ndarray) -> np.ndarray:
        """Per row: the step varint has this layout's length (continuation bits)."""
        assert self.step is not None
        at, n = self.step
        want = np.array([0x80] * (n - 1) + [0], dtype=np.uint8)
        return ((rows[:, at : at + n] & 0x80) == want).all(axis=1)

    def numbers(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(step, wall time, value) of records with this layout (their data as rows)."""
        wall = np.full(len(rows), np.nan) if self.wall is None else \
            np.ascontiguousarray(rows[:, self.wall : self.wall + 8]).view("<f8").reshape(-1)
        step = np.zeros(len(rows), dtype=np.uint64)
        if self.step is not None:
            at, nbytes = self.step
            for k in range(nbytes):
                step |= (rows[:, at + k] & 0x7F).astype(np.uint64) << np.uint64(7 * k)
        at, dtype = self.value
        return step.view(np.int64), wall, element_values(rows[:, at : at + ITEMSIZE[dtype]], dtype)


def find_layout(buf: np.ndarray, start: int, length: int) -> Layout | None:
    """The layout of the record ``buf[start : start + length]`` if it is one plain scalar
    (and the general decoder agrees on its numbers), else None."""
    data = buf[start : start + length].tobytes()
    ev = _once(data, 0, length, _EVENT)
    if ev is None or 5 not in ev:
        return None
    summary = _fields(data, *ev[5][1:])
    if summary is None or len(summary) != 1 or summary[0][:2] != (1, pb.LEN):
        return None
    val = _once(data, *summary[0][2:], _VALUE)
    if val is None:
        return None
    if 2 in val:  # simple_value wins over a tensor, as in the general decoder
        value = (val[2][1], _DT_FLOAT)
    elif 8 in val:
        value = _tensor_value(data, *val[8][1:])
        if value is None:
            return None
    else:
        return None
    numbers: list[int] = []
    if 1 in ev:
        numbers += range(ev[1][1], ev[1][2])
    if 2 in ev:
        numbers += range(ev[2][1], ev[2][2])
    numbers += range(value[0], value[0] + ITEMSIZE[value[1]])
    tag = (val[1][1], val[1][2] - val[1][1]) if 1 in val else (0, 0)
    free = set(numbers) | set(range(tag[0], tag[0] + tag[1]))
    fixed = np.array([c for c in range(length) if c not in free], dtype=np.int64)
    row = buf[start : start + length]
    layout = Layout(length, fixed, row[fixed].copy(), ev[1][1] if 1 in ev else None,
                    (ev[2][1], ev[2][2] - ev[2][1]) if 2 in ev else None, value, tag)
    return layout if _agrees(layout, buf, start, length) else None


def _agrees(layout: Layout, buf: np.ndarray, start: int, length: int) -> bool:
    """Whether the general decoder reads the same one scalar from the record."""
    try:
        es, _, _ = decode(buf, np.array([start]), np.array([length]))
    except Malformed:
        return False
    if len(es.value) != 1:
        return False
    step, wall, value = layout.numbers(buf[None, start : start + length])
    at, n = layout.tag
    tag = buf[start + at : start + at + n].tobytes().decode("utf-8", "replace")
    return (es.tags[int(es.tag[0])] == tag and int(es.step[0]) == int(step[0])
            and es.wall_time[:1].tobytes() == wall.tobytes()
            and es.value[:1].tobytes() == value.tobytes())


def _tensor_value(data: bytes, a: int, b: int) -> tuple[int, int] | None:
    """Column and dtype of the one element of a TensorProto, where the general decoder
    looks first (tensor_content, then float_val, then double_val)."""
    t = _once(data, a, b, _TENSOR)
    if t is None or 1 not in t:
        return None
    dtype = pb._varint(data, t[1][1], t[1][2])[0]
    if dtype not in ITEMSIZE:
        return None
    if 4 in t:
        return (t[4][1], dtype) if t[4][2] - t[4][1] == ITEMSIZE[dtype] else None
    for f, kind in ((5, _DT_FLOAT), (6, _DT_DOUBLE)):
        if f in t and dtype == kind and t[f][2] - t[f][1] == ITEMSIZE[kind]:
            return t[f][1], kind
    return None


def _once(data: bytes, a: int, b: int, allowed: set[tuple[int, int]]
          ) -> dict[int, tuple[int, int, int]] | None:
    """Field number -> (wire type, payload start, payload end) of a message whose fields
    are all ``allowed`` and none repeated; else None."""
    got = _fields(data, a, b)
    if got is None:
        return None
    out = {}
    for f, wire, s, e in got:
        if (f, wire) not in allowed or f in out:
            return None
        out[f] = (wire, s, e)
    return out


def _fields(data: bytes, pos: int, end: int) -> list[tuple[int, int, int, int]] | None:
    """(field, wire type, payload start, payload end) of one message, None if malformed."""
    out = []
    try:
        while pos < end:
            key, pos = pb._varint(data, pos, end)
            f, wire = key >> 3, key & 7
            if wire == pb.VARINT:
                _, nxt = pb._varint(data, pos, end)
            elif wire == pb.LEN:
                n, pos = pb._varint(data, pos, end)
                nxt = pos + n
            elif wire in (pb.FIXED64, pb.FIXED32):
                nxt = pos + (8 if wire == pb.FIXED64 else 4)
            else:
                return None
            if nxt > end:
                return None
            out.append((f, wire, pos, nxt))
            pos = nxt
    except pb.DecodeError:
        return None
    return out
