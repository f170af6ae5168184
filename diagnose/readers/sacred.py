"""Sacred's ``FileStorageObserver`` run folders: ``<basedir>/<run id>/metrics.json``.

Each ``_run.log_scalar(name, value, step)`` call lands in ``metrics.json``, one object per
metric holding parallel lists (written with sorted keys): ``{"train.loss": {"steps": [0, 1,
...], "timestamps": [...], "values": [...]}, ...}``. Beside it the observer keeps the run's
``config.json`` (the experiment's settings, its ``seed`` among them), ``run.json`` (status,
host, start and stop) and ``cout.txt`` (the captured stdout). A metric's own steps are its
steps; a metric logged without one counts its calls from 0, which Sacred writes out.

The folder is claimed whole: its ``cout.txt`` repeats what the metrics hold and is not read
again as a run of its own.
"""

from __future__ import annotations

import bisect
import json
import math
import re
from collections.abc import Collection, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from .._errors import ReadError
from ..run import Run
from ._frame import EMPTY, finish_metrics, json_or_text_float
from ._params import file_params
from ._safe_open import read_prefix, read_text

__all__ = ["could_hold", "detect", "read"]

METRICS_FILE = "metrics.json"
RUN_FILE = "run.json"
MAX_BYTES = 256 << 20
#: the file opens with a metric's name and its object of parallel lists (sorted keys: ``steps``
#: first; a hand-made file may open with ``values``)
_HEAD = re.compile(rb"""\A\s*\{\s*"[^"\n]{1,300}"\s*:\s*\{\s*"(?:steps|timestamps|values)"\s*:""")


def could_hold(names: Collection[str]) -> bool:
    return METRICS_FILE in names


def _is_metrics(path: Path) -> bool:
    if path.name != METRICS_FILE or not path.is_file():
        return False
    try:
        return bool(_HEAD.match((read_prefix(path, 1024) or b"").lstrip(b"\xef\xbb\xbf")))
    except OSError:
        return False


def detect(path: Path) -> bool:
    """A Sacred run folder (its ``metrics.json`` of per-metric ``steps``/``values`` lists), or
    that file."""
    path = path if isinstance(path, Path) else Path(path)
    return _is_metrics(path / METRICS_FILE) if path.is_dir() else _is_metrics(path)


def _run_id(folder: Path) -> str:
    """Sacred numbers its runs 1, 2, ...: a bare number is named with the folder above it."""
    if folder.name.isdigit() and folder.parent.name:
        return f"{folder.parent.name}/{folder.name}"
    return folder.name


def read(path: Path, aliases: Mapping[str, str] | None = None) -> list[Run]:
    """One run: every metric of ``metrics.json`` at its own steps; the knobs of ``config.json``
    (and its seed) as params; a run Sacred still lists as ``RUNNING`` is in progress."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    metrics = folder / METRICS_FILE
    data = _json(metrics)
    if not isinstance(data, dict):
        raise ReadError(metrics, "expected an object of metrics ({\"train.loss\": {\"steps\": "
                                 "[...], \"values\": [...]}, ...})")
    run = Run(id=_run_id(folder), metrics=EMPTY, path=str(folder), format="sacred")
    series_of: dict[str, tuple[list, list, list | None]] = {}
    for name, series in data.items():
        if not isinstance(series, dict) or not isinstance(series.get("values"), list):
            run.warnings.append(f"{metrics}: {name!r} holds no list of values; not read")
            continue
        vals = series["values"]
        at = series.get("steps")
        if not isinstance(at, list) or len(at) != len(vals):
            at = list(range(len(vals)))
            run.warnings.append(f"{metrics}: {name!r} has no steps of the same length as its "
                                "values; numbered 0, 1, ... in the order logged")
        stamps = series.get("timestamps")
        series_of[str(name)] = (at, vals, stamps if isinstance(stamps, list) else None)
    _align_counted(series_of, run, metrics)
    steps: list[int] = []
    names: list[str] = []
    values: list[float] = []
    for name, (at, vals, _) in series_of.items():
        for k, (s, v) in enumerate(zip(at, vals)):
            x = json_or_text_float(v)
            if x is None or not _whole(s):
                raise ReadError(metrics, f"{name!r} point {k}: step {s!r}, value {v!r} is not "
                                         "a whole step and a number")
            steps.append(int(s))
            names.append(str(name))
            values.append(x)
    if not names:
        raise ReadError(metrics, "no metric values in it (no log_scalar call was recorded)")
    run.params.update(_config(folder, run))
    run.in_progress = _status(folder) == "RUNNING"
    finish_metrics(run, steps, names, values, aliases, str(metrics))
    return [run]


def _counted(at: list) -> bool:
    """Steps 0, 1, 2, ...: what Sacred writes for a metric logged without a step (a counter of
    that metric's own calls)."""
    return all(s == k for k, s in enumerate(at))


def _align_counted(series_of: dict[str, tuple[list, list, list | None]], run: Run,
                   where: Path) -> None:
    """Metrics logged without a step count their own calls, so a train loss logged twice an
    epoch reaches step 299 when the validation loss logged once an epoch reaches 149: by
    their counters the two would not line up. When such metrics differ in length, each
    point of a shorter one takes the step of the last point of the longest one logged at or
    before it (by Sacred's timestamps); without timestamps they keep their counters."""
    counted = {n: v for n, v in series_of.items() if v[1] and _counted(v[0])}
    if len({len(v[1]) for v in counted.values()}) < 2:
        return
    times = {n: _times(v[2], len(v[1])) for n, v in counted.items()}
    if any(t is None for t in times.values()):
        run.warnings.append(f"{where}: metrics logged without a step differ in how often they "
                            "were logged and carry no timestamps to line them up; each keeps "
                            "the count of its own calls as its step")
        return
    ref = max(counted, key=lambda n: (len(counted[n][1]), "loss" in n.lower()))  # a loss on ties
    ref_times = times[ref]
    for n, (at, vals, stamps) in counted.items():
        if n != ref and len(vals) != len(counted[ref][1]):
            at[:] = [max(bisect.bisect_right(ref_times, t) - 1, 0) for t in times[n]]
    run.warnings.append(f"{where}: metrics logged without a step differ in how often they were "
                        f"logged; steps are the calls of {ref!r} ({len(counted[ref][1])}), each "
                        "point of the others at the last of those logged by its timestamp")


def _times(stamps: list | None, n: int) -> list[float] | None:
    """Sacred's ISO timestamps as seconds, or None when any is missing or unreadable."""
    if stamps is None or len(stamps) != n:
        return None
    try:
        return [datetime.fromisoformat(str(t)).timestamp() for t in stamps]
    except ValueError:
        return None


def _whole(s: Any) -> bool:
    return isinstance(s, int) and not isinstance(s, bool) or \
        isinstance(s, float) and math.isfinite(s) and s == int(s)


def _json(path: Path) -> Any:
    try:
        text = read_text(path, MAX_BYTES)
    except OSError as e:
        raise ReadError(path, f"cannot read: {e.strerror or e}") from e
    try:
        return json.loads(text)
    except ValueError as e:
        raise ReadError(path, f"not valid JSON: {e}") from None


def _config(folder: Path, run: Run) -> dict[str, Any]:
    """The knobs of Sacred's ``config.json`` (any nesting), its top-level ``seed`` among them."""
    params, notes, _ = file_params(folder)
    run.warnings.extend(notes)
    return params


def _status(folder: Path) -> str:
    """Sacred's status of the run (``COMPLETED``, ``FAILED``, ``INTERRUPTED``, ``RUNNING``)."""
    try:
        info = _json(folder / RUN_FILE) if (folder / RUN_FILE).is_file() else {}
    except ReadError:
        return ""
    return str(info.get("status", "")) if isinstance(info, dict) else ""
