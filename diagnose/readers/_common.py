"""Helpers every reader shares, so all formats treat odd input the same way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["appended_note", "dedupe_steps", "fits_int64", "increasing", "numbered_in_order",
           "restart_points", "starts_again", "unstepped", "unstepped_note"]

#: The step column is int64: a step outside it cannot be stored (the row is skipped, and said).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def fits_int64(n: int) -> bool:
    """Whether an integer step can be stored in the int64 step column."""
    return INT64_MIN <= n <= INT64_MAX


def dedupe_steps(df: Any, where: str, lines: Any = None) -> tuple[Any, list[str]]:
    """Keep the last value of a repeated (metric, step); say so, and say if steps went back.

    Shared by every reader so that all formats treat repeats the same way. ``lines``
    (optional, one per row of ``df``) lets the message name the line, as ``where:line``.
    """

    def at(row: int) -> str:
        return where if lines is None else f"{where}:{int(lines[row])}"

    notes: list[str] = []
    if not len(df):
        return df, notes
    backs = []  # (row, metric, from, to): each metric's first step back
    for name, g in df.groupby("metric", sort=False):
        s = g["step"].to_numpy()
        back = np.flatnonzero(np.diff(s) < 0)
        if len(back):
            i = back[0]
            backs.append((g.index[i + 1], name, int(s[i]), int(s[i + 1])))
    if backs:  # one resume moves every metric back: one note, at the first row that went back
        row, name, a, b = min(backs, key=lambda x: x[0])
        others = f" and {len(backs) - 1} other metric(s)" if len(backs) > 1 else ""
        notes.append(f"{at(row)}: steps of {name!r}{others} go backwards ({a} -> {b}); "
                     "sorted by step (a resumed run?)")
    dup = df.duplicated(["metric", "step"], keep="last")
    if dup.any():
        repeats = df.duplicated(["metric", "step"], keep="first").to_numpy()
        first = df[repeats].iloc[0]
        notes.append(
            f"{at(df.index[repeats][0])}: {int(dup.sum())} repeated step(s) (first: "
            f"{first['metric']!r} at step {int(first['step'])}); kept the last value of each"
        )
        df = df[~dup].reset_index(drop=True)
    return df, notes


def unstepped(steps: Sequence[int]) -> bool:
    """A metric logged several times, every time at one step: ``mlflow.log_metric(key, value)``
    or ``SummaryWriter.add_scalar(tag, value)`` with no step writes step 0 (MLflow 1 wrote no
    step at all), so a whole curve would collapse into its last value. Its logging order is
    then its only axis."""
    return len(steps) > 1 and min(steps) == max(steps)


def unstepped_note(where: str, n: int, step: int, key: str | None = None) -> str:
    """The note for a metric :func:`unstepped` renumbered (``key``: named in a file of many)."""
    of = f" of {key!r}" if key is not None else ""
    return (f"{where}: all {n} values{of} logged at step {step} (no step given); numbered in "
            "the order they were logged")


def numbered_in_order(code: np.ndarray, step: np.ndarray, names: Sequence[str], where: str
                      ) -> tuple[np.ndarray, list[str]]:
    """:func:`unstepped` for many metrics in one column (``code`` indexes ``names``, rows in
    the order they were logged): each metric logged more than once, every time at one step,
    gets its logging order as its steps. A few passes over the column and no sort, since every
    event file goes through here and almost none needs it."""
    n = len(names)
    if not len(code) or not n:
        return step, []
    low = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    high = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(low, code, step)
    np.maximum.at(high, code, step)
    flat = np.flatnonzero((low == high) & (np.bincount(code, minlength=n) > 1))
    if not len(flat):
        return step, []
    step = step.copy()
    notes = []
    for c in flat.tolist():
        rows = np.flatnonzero(code == c)
        notes.append(unstepped_note(where, len(rows), int(step[rows[0]]), names[c]))
        step[rows] = np.arange(len(rows), dtype=step.dtype)
    return step, notes


def starts_again(step: float, before: float, first: float) -> bool:
    """A step below the one before it and not above the file's first step: another run appended
    to the file (a resume from a later step continues its run)."""
    return step < before and step <= first


def restart_points(steps: Sequence[int | None]) -> list[tuple[int, int]]:
    """Each position (with the known step before it) whose step starts again
    (:func:`starts_again`) in a file's steps in file order; None is a record with no step."""
    out: list[tuple[int, int]] = []
    first = last = None
    for i, step in enumerate(steps):
        if step is None:
            continue
        if first is None:
            first = step
        elif last is not None and starts_again(step, last, first):
            out.append((i, last))
        last = step
    return out


def appended_note(where: str, before: Any, step: int, n: int, rid: str) -> str:
    """The one wording every reader gives a file split at its restarts, so users see one note."""
    return (f"{where}: the step starts again ({before} -> {step}): {n} runs appended to one file, "
            f"read as {rid}#1 to {rid}#{n}")


def increasing(a: np.ndarray, strictly: bool = True) -> bool:
    """Whether ``a`` increases (``strictly`` or not), a chunk at a time: no whole-column
    temporaries on a column of millions of steps."""
    chunk, n = 1 << 20, len(a) - 1
    for i in range(0, n, chunk):
        later, earlier = a[i + 1:min(n, i + chunk) + 1], a[i:min(n, i + chunk)]
        if not bool((later > earlier).all() if strictly else (later >= earlier).all()):
            return False
    return True
