"""The Recorder's formatter: buffered records to ``metrics.jsonl`` text.

One ``%`` operation per flush for the common case (a template per set of names, the
per-value work in C); NaN/±inf, names that cannot be written and live checks take a
value-by-value path that writes the same lines. Tracks the best validation value.
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

__all__ = ["RecordFormatter", "value_texts", "wall_texts"]

#: Keys the log format reserves; a metric may not use them.
_RESERVED = {"step", "wall_time"}
_VERSION = operator.attrgetter("_version")


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
                     converted: list[float | None] | None) -> str | None:
        """The records as ``metrics.jsonl`` text in one ``%`` operation; None for the slow path.

        Records with the same keys share a template (``{"step": %d, "wall_time": %s,
        "train/loss": %s}``): the chunk's format string is the templates joined, its
        arguments every record's step, wall-time text and value texts in order, so the
        per-record work happens in C. The values are spelled all at once by
        :func:`value_texts` (orjson when installed, else ``repr``), the wall times by
        :func:`wall_texts`. Anything unusual (a name that cannot be written, a NaN or ±inf,
        an int beyond the float range, a tensor that did not convert, live checks that
        must see each value) goes to :meth:`_format_each`, which handles every case.
        """
        shapes = list(map(tuple, pending))
        templates = self._templates
        try:
            fmt = "".join(map(templates.__getitem__, shapes))
        except KeyError:
            for shape in set(shapes).difference(templates):
                self._add_template(shape)
            try:
                fmt = "".join(map(templates.__getitem__, shapes))
            except TypeError:  # a shape with a name that is not written
                return None
        except TypeError:
            return None
        vals = list(chain.from_iterable(map(dict.values, pending)))
        if converted is not None:
            if None in converted:
                return None
            # the queued tensors' places: the Nones, found by iterators in C
            at = list(compress(count(), map(operator.is_, vals, repeat(None))))
            if len(at) != len(converted):
                return None
            for i, v in zip(at, converted):
                vals[i] = v
        try:
            total = sum(vals)
        except (OverflowError, TypeError):
            return None
        if total - total != 0.0:  # a NaN or ±inf somewhere: written as strings, one by one
            return None
        texts = value_texts(vals)
        if texts is None:
            return None
        slots = self._best_slots
        if slots and not slots.keys().isdisjoint(shapes):
            starts = list(accumulate(map(len, shapes), initial=0))
            for r, shape in enumerate(shapes):
                for j, key in slots.get(shape, ()):
                    self._track_best(key, vals[starts[r] + j], steps[r])
        n, k = len(shapes), len(shapes[0])
        if shapes.count(shapes[0]) == n:  # one shape: the arguments fall into place by slices
            args: list[Any] = [None] * (n * (k + 2))
            args[0::k + 2] = steps
            args[1::k + 2] = wall_texts(walls)
            for j in range(k):
                args[2 + j::k + 2] = texts[j::k]
        else:
            it = iter(texts)
            args = list(chain.from_iterable(map(
                chain, zip(steps, wall_texts(walls)), map(islice, repeat(it), map(len, shapes)))))
        return fmt % tuple(args)

    def _add_template(self, shape: tuple[Any, ...]) -> None:
        """The ``%`` template for records with these keys (None if one is not written)."""
        keys = self._keys
        parts = ['{"step": %d, "wall_time": %s']
        best = []
        for j, name in enumerate(shape):
            key = keys.get(name)
            if key is None:
                key = self._key(name)
            if not key:
                self._templates[shape] = None
                return
            parts.append(key.replace("%", "%%") + "%s")
            if key in _BEST_KEYS:
                best.append((j, key))
        parts.append("}\n")
        self._templates[shape] = "".join(parts)
        if best:
            self._best_slots[shape] = tuple(best)

    def _format_each(self, steps: list[int], walls: list[float], pending: list[dict[str, Any]],
                     converted: list[float | None] | None) -> str:
        """The records as text one value at a time: NaN/±inf, dropped names, live checks."""
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
        return "".join(out)

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


def wall_texts(walls: list[float]) -> list[str]:
    """Each wall time as JSON text in milliseconds (``1795766640.513``); equal ones share a string.

    Records logged within one millisecond (a fast loop logs hundreds) are spelled once.
    Rounds as the value-by-value writer does (half up), so both write the same text.
    """
    ms = np.floor(np.array(walls, dtype=np.float64) * 1000.0 + 0.5)
    uniq, where = np.unique(ms, return_inverse=True)
    spelled = ["%d.%03d" % divmod(m, 1000) for m in uniq.astype(np.int64).tolist()]
    return list(map(spelled.__getitem__, where.ravel().tolist()))


#: ``orjson.dumps`` once it has been looked for; False when orjson is not installed.
_ORJSON: Any = None


def value_texts(vals: list[float | int], fast: bool | None = None) -> list[str] | None:
    """Finite floats and ints as JSON number texts, in order; None when orjson refuses one.

    With orjson (the ``fast`` extra) the whole list is spelled in one C call (shortest
    round-trip form, ``1e-5`` where ``repr`` writes ``1e-05``: the same number to every
    JSON reader); without it, ``repr`` of each. ``fast=False`` forces ``repr`` (tests
    compare the two).
    """
    global _ORJSON
    if fast is None or fast:
        if _ORJSON is None:
            try:
                import orjson
            except ImportError:
                _ORJSON = False
            else:
                _ORJSON = orjson.dumps
        if _ORJSON is not False and vals:
            try:
                text = _ORJSON(vals)
            except (TypeError, ValueError):  # orjson.JSONEncodeError: an int over 64 bits
                return None
            return text[1:-1].decode("ascii").split(",")
    return list(map(repr, vals))


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
