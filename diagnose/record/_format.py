"""The Recorder's formatter: buffered records to ``metrics.jsonl`` bytes.

A flush spells every value, step and wall time of its block in a few C calls and joins
the pieces once; nothing runs per value in Python. Records that all hold the same names
(the common case: the loss, perhaps the lr, every step) take the quickest path, a
``b"".join`` over pieces laid out by slice assignment; a block of mixed records uses one
``%`` operation over a template per record shape. NaN/±inf, names that cannot be
written and live checks take a value-by-value path that writes the same lines.
Tracks the best validation value.
"""

from __future__ import annotations

import math
import operator
from itertools import accumulate, chain, compress, count, islice, repeat
from typing import Any

import numpy as np

from ..readers import native
from ..run import canonical_name, infer_mode
from ._tensors import to_floats

__all__ = ["RecordFormatter", "step_blob", "value_blob", "wall_texts"]

#: Keys the log format reserves; a metric may not use them.
_RESERVED = {"step", "wall_time"}
_VERSION = operator.attrgetter("_version")
#: The fixed pieces of a record line, as the value-by-value writer spells them.
_HEAD = b'{"step": '
_WALL = b', "wall_time": '
_NEXT = b'}\n{"step": '
_END = b"}\n"


class RecordFormatter:
    """Mixin of :class:`~diagnose.record.Recorder`: formatting its pending records."""

    def _convert(self) -> list[float | None]:
        tensors, versions = self._tensors, self._versions
        self._tensors, self._versions = [], []
        if list(map(_VERSION, tensors)) != versions:
            self._problem(
                "inplace",
                "a logged tensor was modified in place before it was written; the "
                "modified value is recorded. Log a fresh tensor (or .clone()) instead",
            )
        self._devices.add(str(tensors[0].device))
        vals = to_floats(tensors)
        dropped = vals.count(None)
        if dropped:
            self._problem("shape", f"{dropped} tensor value(s) were not scalars; dropped",
                          dropped)
        return vals

    def _format_fast(self, steps: list[int], walls: list[float], pending: list[dict[str, Any]],
                     converted: list[float | None] | None) -> bytes | None:
        """The records as ``metrics.jsonl`` bytes, spelled a block at a time; None for the slow path.

        The values are spelled all at once by :func:`value_blob` (orjson when installed,
        else ``repr``), the steps by :func:`step_blob`, the wall times once per
        millisecond. When every record holds the same names (in any order: they are
        written in the first record's order), the line pieces are laid out by slice
        assignment and joined (:meth:`_block`); a block where most records share
        their names (the loss every step, a validation record now and then) is written
        that way for those and by ``%`` templates for the others (:meth:`_format_mixed`).
        Anything unusual (a name that cannot be written, a NaN or ±inf, an int beyond 64
        bits, a tensor that did not convert, live checks that must see each value) goes
        to :meth:`_format_each`, which handles every case.
        """
        n = len(pending)
        shape = tuple(pending[0])
        k = len(shape)
        if k:
            try:
                vals = list(map(operator.itemgetter(*shape), pending))
            except KeyError:
                pass
            else:
                if sum(map(len, pending)) == n * k:  # no record has more names than the first
                    pieces = self._block(shape, steps, walls, vals, converted)
                    return None if pieces is None else _HEAD + b"".join(pieces)
        return self._format_mixed(steps, walls, pending, converted)

    def _block(self, shape: tuple[Any, ...], steps: list[int], walls: list[float],
               vals: list[Any], converted: list[float | None] | None) -> list[bytes] | None:
        """Records that all hold the names ``shape``, their values gathered in that order
        (one per record, or a tuple per record when there are several names): the pieces
        of their lines, ``m = 2 * len(shape) + 2`` per record, the last of each the
        ``}\\n{"step": `` that ends it and starts the next (``}\\n`` for the last record);
        the first line's ``{"step": `` is not included."""
        keys = self._pieces.get(shape)
        if keys is None:
            if shape in self._pieces:
                return None  # a name that is not written
            keys = self._add_template(shape)
            if keys is None:
                return None
        n, k = len(steps), len(shape)
        if k > 1:
            vals = list(chain.from_iterable(vals))
        if converted is not None and not _put_converted(vals, converted):
            return None
        blob = value_blob(vals)
        if blob is None or b"n" in blob:  # NaN/±inf ("null"/"nan"/"inf"): one by one
            return None
        texts = blob.split(b",")
        slots = self._best_slots.get(shape)
        if slots:
            for j, key in slots:
                for v, step in zip(vals[j::k], steps):
                    self._track_best(key, v, step)
        m = 2 * k + 2
        pieces: list[Any] = [_NEXT] * (n * m)
        pieces[0::m] = step_blob(steps).split(b",")
        spelled, runs = _wall_runs(walls)
        first = keys[0]
        if len(runs) == 1:  # the whole block within one millisecond
            pieces[1::m] = [_WALL + spelled[0] + first] * n
        else:
            pieces[1::m] = list(chain.from_iterable(map(
                repeat, [_WALL + s + first for s in spelled], runs)))
        for j in range(k):
            if j:
                pieces[2 * j + 1::m] = [keys[j]] * n
            pieces[2 * j + 2::m] = texts[j::k]
        pieces[-1] = _END
        return pieces

    def _format_mixed(self, steps: list[int], walls: list[float], pending: list[dict[str, Any]],
                      converted: list[float | None] | None) -> bytes | None:
        """Records of several shapes. When most of them hold the same names (and no queued
        tensor waits for its place), those go through :meth:`_block`, the others through
        :meth:`_format_templates`, and their lines are put between the others' in order."""
        if converted is None:
            # Most records of a block hold the same names: found by their number of names
            # (cheap), or when records of that number differ, by their shapes.
            lens = list(map(len, pending))
            k = max(set(lens), key=lens.count)
            is_main = list(map(k.__eq__, lens))
            if k and 2 * is_main.count(True) >= len(lens):
                ours = list(compress(pending, is_main))
                shape = tuple(ours[0])
                try:  # the same number of names, and all of the first one's: the same names
                    vals = list(map(operator.itemgetter(*shape), ours))
                except KeyError:
                    shapes = list(map(tuple, pending))
                    shape = max(set(shapes), key=shapes.count)
                    is_main = list(map(shape.__eq__, shapes))
                    if shape and 2 * is_main.count(True) >= len(shapes):
                        ours = list(compress(pending, is_main))
                        vals = list(map(operator.itemgetter(*shape), ours))
                        return self._format_most(steps, walls, pending, is_main, shape, vals)
                else:
                    return self._format_most(steps, walls, pending, is_main, shape, vals)
        return self._format_templates(steps, walls, pending, converted)

    def _format_most(self, steps: list[int], walls: list[float], pending: list[dict[str, Any]],
                     is_main: list[bool], shape: tuple[Any, ...], vals: list[Any]) -> bytes | None:
        """Records most of which (``is_main``) hold the names ``shape`` (``vals``: theirs)."""
        others = list(map(operator.not_, is_main))
        rest = list(compress(pending, others))
        slots = self._best_slots
        if shape in slots and not slots.keys().isdisjoint(map(tuple, rest)):
            # the best validation value is tracked in record order: here it would not be
            return self._format_templates(steps, walls, pending, None)
        pieces = self._block(shape, list(compress(steps, is_main)),
                             list(compress(walls, is_main)), vals, None)
        if pieces is None:
            return None
        text = self._format_templates(list(compress(steps, others)),
                                      list(compress(walls, others)), rest, None)
        if text is None:
            return None
        # Each other record goes after the main records logged before it: into the piece
        # that ends the line before (lines hold no raw newline: names are JSON-escaped).
        m, n = 2 * len(shape) + 2, len(vals)
        head = _HEAD
        at: dict[int, list[bytes]] = {}
        for i, line in zip(map(operator.sub, compress(count(), others), count()),
                           text.split(b"\n")):
            at.setdefault(i, []).append(line + b"\n")
        for i, lines in at.items():
            if i == 0:
                head = b"".join(lines) + head
            elif i == n:
                pieces.extend(lines)
            else:
                pieces[m * i - 1] = b"}\n" + b"".join(lines) + _HEAD
        return head + b"".join(pieces)

    def _format_templates(self, steps: list[int], walls: list[float],
                          pending: list[dict[str, Any]], converted: list[float | None] | None,
                          shapes: list[tuple[Any, ...]] | None = None) -> bytes | None:
        """Records of any shapes: one ``%`` over the templates of their shapes joined."""
        if shapes is None:
            shapes = list(map(tuple, pending))
        templates = self._templates
        try:
            fmt = b"".join(map(templates.__getitem__, shapes))
        except KeyError:
            for shape in set(shapes).difference(templates):
                self._add_template(shape)
            try:
                fmt = b"".join(map(templates.__getitem__, shapes))
            except TypeError:  # a shape with a name that is not written
                return None
        except TypeError:
            return None
        vals = list(chain.from_iterable(map(dict.values, pending)))
        if converted is not None and not _put_converted(vals, converted):
            return None
        blob = value_blob(vals)
        if blob is None or b"n" in blob:
            return None
        texts = blob.split(b",") if vals else []
        slots = self._best_slots
        if slots and not slots.keys().isdisjoint(shapes):
            starts = list(accumulate(map(len, shapes), initial=0))
            for r, shape in enumerate(shapes):
                for j, key in slots.get(shape, ()):
                    self._track_best(key, vals[starts[r] + j], steps[r])
        it = iter(texts)
        args = list(chain.from_iterable(map(
            chain, zip(steps, wall_texts(walls)), map(islice, repeat(it), map(len, shapes)))))
        return fmt % tuple(args)

    def _add_template(self, shape: tuple[Any, ...]) -> tuple[bytes, ...] | None:
        """The key pieces and ``%`` template for records with these names (None if one is not
        written)."""
        keys = self._keys
        pieces = []
        best = []
        for j, name in enumerate(shape):
            key = keys.get(name)
            if key is None:
                key = self._key(name)
            if not key:
                self._templates[shape] = self._pieces[shape] = None
                return None
            pieces.append(key.encode("utf-8"))
            if key in _BEST_KEYS:
                best.append((j, key))
        self._templates[shape] = b"".join(
            [b'{"step": %d, "wall_time": %s', *(p.replace(b"%", b"%%") + b"%s" for p in pieces),
             b"}\n"])
        self._pieces[shape] = out = tuple(pieces)
        if best:
            self._best_slots[shape] = tuple(best)
        return out

    def _format_each(self, steps: list[int], walls: list[float], pending: list[dict[str, Any]],
                     converted: list[float | None] | None) -> bytes:
        """The records one value at a time: NaN/±inf, dropped names, live checks."""
        conv = iter(converted) if converted is not None else None
        feed = self.live.add if self.live is not None else None
        keys = self._keys
        fmt = native.format_value
        out: list[str] = []
        put = out.append
        last_ms, head = -1, ""
        for step, wall, values in zip(steps, walls, pending):
            ms = math.floor(wall * 1000.0 + 0.5)
            if ms != last_ms:  # records logged within one millisecond share the text
                last_ms, head = ms, ', "wall_time": %d.%03d' % divmod(ms, 1000)
            put('{"step": %d%s' % (step, head))
            for k, v in values.items():
                c = v.__class__
                if c is not float:
                    if c is int:
                        v = _int_value(v)
                        if v - v != 0.0:
                            self._problem("int", f"{k!r}: the int at step {step} is beyond "
                                                 f"the float range; recorded as {v}")
                    else:
                        v = next(conv)  # type: ignore[arg-type]
                        if v is None:
                            continue
                key = keys.get(k)
                if key is None:
                    key = self._key(k)
                    if not key:
                        continue
                elif not key:
                    continue
                put(key)
                put(repr(v) if v - v == 0.0 else fmt(v))
                if feed is not None:
                    feed(key, step, v)
                if key in _BEST_KEYS:
                    self._track_best(key, v, step)
            put("}\n")
        return "".join(out).encode("utf-8")

    def _key(self, name: Any) -> str:
        """The JSON text before a metric's value, '' for names that cannot be written."""
        if not isinstance(name, str):
            self._problem("name", f"metric name {name!r} is not a string; dropped", 1)
            key = ""
        else:
            canon = canonical_name(name)
            try:
                canon.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate: no UTF-8 file can hold it
                spelled = canon.encode("utf-8", "backslashreplace").decode("utf-8")
                self._problem("name", f"metric name {canon!r} holds a lone surrogate; "
                                      f"recorded as {spelled!r}")
                canon = spelled
            if canon in _RESERVED:
                self._problem(
                    "name", f"metric name {name!r} is reserved by the log; dropped", 1
                )
                key = ""
            else:
                key = native.json_key(canon)
        self._keys[name] = key
        return key

    def _track_best(self, key: str, v: float, step: int) -> None:
        name, better = _BEST_KEYS[key]
        if v - v != 0.0:
            return
        best = self._best
        if best is None or (best[0] == name and better(v, best[1])) or (
            best[0] != "val/loss" and name == "val/loss"
        ):
            self._best = (name, v, step)


def _put_converted(vals: list[Any], converted: list[float | None]) -> bool:
    """Put the queued tensors' values in their places (the Nones, found by iterators in C)."""
    if None in converted:
        return False
    at = list(compress(count(), map(operator.is_, vals, repeat(None))))
    if len(at) != len(converted):
        return False
    for i, v in zip(at, converted):
        vals[i] = v
    return True


def _wall_runs(walls: list[float]) -> tuple[list[bytes], list[int]]:
    """The wall times in milliseconds as runs: each run's JSON text (``1795766640.513``) and length.

    Records logged within one millisecond (a fast loop logs hundreds) are spelled once.
    Rounds as the value-by-value writer does (half up), so both write the same text.
    """
    lo = math.floor(min(walls) * 1000.0 + 0.5)
    if lo == math.floor(max(walls) * 1000.0 + 0.5):  # the rounding is monotonic: all equal
        return [b"%d.%03d" % divmod(lo, 1000)], [len(walls)]
    ms = np.floor(np.array(walls, dtype=np.float64) * 1000.0 + 0.5).astype(np.int64)
    edges = np.concatenate(([0], np.flatnonzero(ms[1:] != ms[:-1]) + 1, [len(ms)]))
    runs = (edges[1:] - edges[:-1]).tolist()
    return [b"%d.%03d" % divmod(m, 1000) for m in ms[edges[:-1]].tolist()], runs


def wall_texts(walls: list[float]) -> list[bytes]:
    """Each wall time as JSON text in milliseconds; records within one millisecond share one."""
    spelled, runs = _wall_runs(walls)
    return list(chain.from_iterable(map(repeat, spelled, runs)))


#: ``orjson.dumps`` once it has been looked for; False when orjson is not installed.
_ORJSON: Any = None


def _orjson() -> Any:
    global _ORJSON
    if _ORJSON is None:
        try:
            import orjson
        except ImportError:
            _ORJSON = False
        else:
            _ORJSON = orjson.dumps
    return _ORJSON


def value_blob(vals: list[float | int], fast: bool | None = None) -> bytes | None:
    """Floats and ints as JSON number texts joined by commas (``b"0.5,3,1e-5"``).

    NaN and ±inf come out as text holding an ``n`` (``null``, ``nan``, ``inf``), which
    finite numbers never hold: the caller sends such a block to the value-by-value
    writer. None when an int is beyond what the fast path writes (64 bits with orjson,
    the float range without). With orjson (the ``fast`` extra) the whole list is spelled
    in one C call (shortest round-trip form, ``1e-5`` where ``repr`` writes ``1e-05``:
    the same number to every JSON reader); without it, ``repr`` of each. ``fast=False``
    forces ``repr`` (tests compare the two).
    """
    dumps = _orjson() if fast is None or fast else False
    if dumps:
        try:
            return dumps(vals)[1:-1]
        except (TypeError, ValueError):  # orjson.JSONEncodeError: an int over 64 bits
            return None
    try:
        sum(vals, 0.0)  # an int beyond the float range overflows here
    except OverflowError:
        return None
    return ",".join(map(repr, vals)).encode("ascii")


def step_blob(steps: list[int]) -> bytes:
    """The steps as decimal texts joined by commas."""
    dumps = _orjson()
    if dumps:
        try:
            return dumps(steps)[1:-1]
        except (TypeError, ValueError):  # a step beyond 64 bits
            pass
    return ",".join(map(str, steps)).encode("ascii")


def _int_value(v: int) -> float:
    """An int metric as a float; beyond the float range, ±inf (it is written, not lost)."""
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf

#: Canonical validation metrics tracked for ``results.best_val_metric``: lower or higher wins.
_BEST_KEYS = {
    native.json_key(m): (m, operator.lt if infer_mode(m) == "min" else operator.gt)
    for m in ("val/loss", "val/acc")
}
