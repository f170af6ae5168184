"""Live checks: the rule files applied to the run so far, while it trains.

The Recorder hands every value it writes to :meth:`LiveChecker.add` (at flush time,
after the one batched tensor transfer), so the checker keeps its own in-memory copy
of the run in numpy buffers and never re-reads ``metrics.jsonl``. Every
``check_every`` steps the Recorder flushes and calls :meth:`LiveChecker.check`.

What a check costs, and how it is bounded:

- a *sentinel* on the values that arrived since the last check: new NaN/±inf in any
  metric, or a train loss above ``TRIGGER_RATIO`` times its first value. O(new
  values), microseconds; it runs at every check;
- the *full* rule evaluation (``diagnose.engine.evaluate_run`` with ``live=True``, so
  end-of-training rules are skipped). It runs when the sentinel fires, and otherwise
  only while the time spent in full checks stays under ``budget`` (default 1 %) of the
  wall time since the Recorder started: on a fast loop some intervals skip it, on a
  real one (milliseconds per step) none do. A diverging run always gets its full
  check at the first interval that sees the divergence;
- a finding at ``stop_on`` stops training at once when the run has NaN/inf values
  (they never come back); on an all-finite run it must hold at two checks in a row
  (the second is always a full one), so a blow-up caught mid-flight that recovers
  before the next check does not end a run;
- in the full check, counting features (NaN/inf, the blow-up episode) read every
  value; trend features (smoothing, spikes, gaps) read at most ``LIMIT`` points per
  metric, an even subsample that always keeps the first, last and largest value. So
  a check on a million-step run costs a few milliseconds of O(n) numpy, not seconds.

Findings go to ``findings.json`` in the run directory (the JSON report contract,
version 1, plus a ``live`` block), rewritten atomically whenever the set of findings
changes and once more at ``close()``.
"""

from __future__ import annotations

import inspect
import json
import math
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .. import engine
from ..config import ignored_for_run, load_config, select_rules
from ..features import RunContext
from ..findings import Finding, Report, severity_rank
from ..readers.native import write_json_atomic
from ..report.json_ import report_dict
from ..rules import load_rules
from ..run import Run
from ._env import now_iso

__all__ = ["FINDINGS_FILE", "LIMIT", "STOP_LEVELS", "TRIGGER_RATIO", "LiveChecker"]

FINDINGS_FILE = "findings.json"
#: Points per metric the trend features see in a live check (counts always see all).
LIMIT = 500
#: A train loss above this multiple of its first value makes the next check a full one.
TRIGGER_RATIO = 1.5
#: Accepted ``stop_on`` values; ``None``/``"never"``: report, never stop.
STOP_LEVELS = ("error", "warning", "info", "never", None)

_TRAIN = "train/loss"
_NOT_METRICS = {"epoch"}  # written in records, read back as the epoch column


class _Column:
    """One metric's values so far: numpy buffers that grow by doubling, plus counters."""

    __slots__ = ("_view", "first", "n", "name", "new_s", "new_v", "nonfinite", "ordered",
                 "steps", "values")

    def __init__(self, name: str) -> None:
        self.name = name
        self.steps = np.empty(256, dtype=np.int64)
        self.values = np.empty(256, dtype=np.float64)
        self.n = 0
        self.new_s: list[int] = []
        self.new_v: list[float] = []
        self.ordered = True  # steps strictly increasing so far
        self.nonfinite = 0
        self.first: float | None = None  # first finite value
        self._view: tuple[np.ndarray, np.ndarray] | None = None

    def commit(self) -> tuple[int, float]:
        """Move pending values into the buffers: (new non-finite count, largest new finite value)."""
        k = len(self.new_v)
        if not k:
            return 0, -math.inf
        s = np.array(self.new_s, dtype=np.int64)
        v = np.array(self.new_v, dtype=np.float64)
        self.new_s, self.new_v = [], []
        n = self.n
        if n + k > len(self.values):
            cap = max(2 * len(self.values), n + k)
            self.steps = np.concatenate((self.steps[:n], np.empty(cap - n, np.int64)))
            self.values = np.concatenate((self.values[:n], np.empty(cap - n, np.float64)))
        self.steps[n:n + k] = s
        self.values[n:n + k] = v
        if self.ordered and ((n and s[0] <= self.steps[n - 1]) or (k > 1 and (np.diff(s) <= 0).any())):
            self.ordered = False
        self.n = n + k
        self._view = None
        ok = np.isfinite(v)
        bad = k - int(ok.sum())
        self.nonfinite += bad
        finite = v[ok] if bad else v
        if not len(finite):
            return bad, -math.inf
        if self.first is None:
            self.first = float(finite[0])
        return bad, float(finite.max())

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Steps and values as a reader would give them: by step, last value of a repeat."""
        if self._view is None:
            s, v = self.steps[:self.n], self.values[:self.n]
            if not self.ordered:
                order = np.argsort(s, kind="stable")
                s, v = s[order], v[order]
                keep = np.append(s[1:] != s[:-1], True)
                s, v = s[keep], v[keep]
            self._view = (s, v)
        return self._view


def _decimate(s: np.ndarray, v: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """An even subsample of at most ~``limit`` points keeping the first, last and largest."""
    n = len(v)
    if n <= limit:
        return s, v
    idx = np.arange(0, n, -(-n // limit))
    idx = np.union1d(idx, [int(np.argmax(v)), n - 1])
    return s[idx], v[idx]


class _LiveContext(RunContext):
    """A feature context whose finite (and so smoothed) curves are subsampled to ``LIMIT``.

    ``arrays`` stays complete: the counting features (non-finite values, the blow-up
    episode) see every value; smoothing, spikes and gaps see the subsample.
    """

    limit: int = LIMIT

    def finite(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        key = "finite:" + metric
        got = self._cache.get(key)
        if got is None:
            s, v = self.arrays(metric)
            ok = np.isfinite(v)
            if not ok.all():
                s, v = s[ok], v[ok]
            got = self._cache[key] = _decimate(s, v, self.limit)
        return got


def _takes_ctx() -> bool:
    return "ctx" in inspect.signature(engine.evaluate_run).parameters


class LiveChecker:
    """The state of live checks for one Recorder (see the module docstring)."""

    def __init__(
        self,
        run_dir: Path,
        *,
        every: int,
        stop_on: str | None = "error",
        on_finding: Callable[[Finding], Any] | None = None,
        rules: Sequence[Any] | None = None,
        config: Any = None,
        budget: float = 0.01,
        started: float | None = None,
    ) -> None:
        if stop_on not in STOP_LEVELS:
            raise ValueError(f"stop_on must be one of 'error', 'warning', 'info' or None, "
                             f"got {stop_on!r}")
        if not 0.0 <= float(budget) <= 1.0:
            raise ValueError(f"check_budget must be between 0 and 1, got {budget!r}")
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / FINDINGS_FILE
        self.every = int(every)
        self.stop_rank = 99 if stop_on in (None, "never") else severity_rank(stop_on)
        self.stop_on = stop_on or "never"
        self.on_finding = on_finding
        self.budget = float(budget)
        self.rules, self.params = _resolve_rules(rules, config, self.run_dir)
        self._ctx = _takes_ctx()
        self._cols: dict[str, _Column] = {}
        self._by_name: dict[str, _Column] = {}
        self._t0 = time.perf_counter() if started is None else started
        self._suspicious = False
        self._dirty = False
        #: Findings of the latest full check, and the step each rule first fired at.
        self.findings: list[Finding] = []
        self.first_seen: dict[str, int] = {}
        self.stopped: list[Finding] = []
        self._new: list[Finding] = []
        self._pending: set[str] = set()
        self.last_step: int | None = None
        #: Counters a benchmark or a test reads: checks made, full ones, seconds spent.
        self.checks = 0
        self.full_checks = 0
        self.seconds = 0.0

    def preload(self, run: Run) -> None:
        """Start from an earlier part of the run (``resume=True``): read once, at open."""
        for name in run.metric_names:
            if name in _NOT_METRICS:
                continue
            s, v = run.arrays(name)
            col = self._by_name.setdefault(name, _Column(name))
            col.new_s.extend(s.tolist())
            col.new_v.extend(v.tolist())
        self._commit()

    # -- fed by Recorder.flush ---------------------------------------------------------
    def add(self, key: str, step: int, value: float) -> None:
        """One written value (``key`` is the record's JSON text before the value)."""
        col = self._cols.get(key)
        if col is None:
            col = self._column(key)
            if col is None:
                return
        col.new_s.append(step)
        col.new_v.append(value)

    def _column(self, key: str) -> _Column | None:
        name = json.loads(key[2:-2])  # ', "train/loss": ' -> train/loss
        if name in _NOT_METRICS:
            self._cols[key] = None  # type: ignore[assignment]
            return None
        col = self._cols[key] = self._by_name.setdefault(name, _Column(name))
        return col

    # -- the check ---------------------------------------------------------------------
    def check(self, step: int, rec: Any, *, final: bool = False) -> list[Finding]:
        """Run a check at ``step``; the findings that ask training to stop (once), else []."""
        t0 = time.perf_counter()
        self.checks += 1
        self._commit()
        try:
            run_full = self._dirty and (
                final or self._suspicious
                or self.seconds <= self.budget * (t0 - self._t0))
            if not run_full:
                return []
            self.full_checks += 1
            self._suspicious = self._dirty = False
            self.last_step = step
            found = self._evaluate(rec)
            return self._update(found, step, rec, final)
        finally:
            self.seconds += time.perf_counter() - t0

    def _commit(self) -> None:
        for col in self._by_name.values():
            if not col.new_v:
                continue
            self._dirty = True
            bad, top = col.commit()
            rising = (col.name == _TRAIN and col.first is not None and col.first > 0
                      and top > TRIGGER_RATIO * col.first)
            if bad or rising:
                self._suspicious = True

    def run(self, rec: Any, in_progress: bool = True) -> Run:
        """The run so far as a :class:`Run` (what ``diagnose.load`` would read from disk)."""
        ident = rec.identity
        run = Run(id=str(ident.get("experiment_id") or self.run_dir.name), params=dict(rec.params),
                  identity=dict(ident), path=str(self.run_dir), format="native",
                  num_classes=rec.num_classes, in_progress=in_progress)
        run.set_arrays({c.name: c.arrays() for c in self._by_name.values() if c.n})
        return run

    def _evaluate(self, rec: Any) -> list[Finding]:
        run = self.run(rec)
        if self._ctx:
            return engine.evaluate_run(run, self.rules, self.params, live=True,
                                ctx=_LiveContext(run, live=True))
        return engine.evaluate_run(run, self.rules, self.params, live=True)

    def _update(self, found: list[Finding], step: int, rec: Any, final: bool) -> list[Finding]:
        found.sort(key=lambda f: f.sort_key())
        before = [f.rule for f in self.findings]
        self.findings = found
        new = [f for f in found if f.rule not in self.first_seen]
        for f in new:
            self.first_seen[f.rule] = step
        stop: list[Finding] = []
        if not self.stopped and not final:
            stop = [f for f in found if severity_rank(f.severity) >= self.stop_rank]
            if stop and not any(c.nonfinite for c in self._by_name.values()):
                # all values finite: a blow-up caught mid-flight may still come back, so it
                # must hold at the next check too (forced full); NaN/inf never come back
                confirmed = [f for f in stop if f.rule in self._pending]
                self._pending = {f.rule for f in stop}
                self._suspicious = self._suspicious or not confirmed
                stop = confirmed
            self.stopped = stop
        if stop or final or [f.rule for f in found] != before:
            self.write(rec, step, final=final)
        self._new.extend(new)
        return stop

    def notify(self) -> None:
        """Call ``on_finding`` for each finding new since the last call (user code: may raise)."""
        new, self._new = self._new, []
        if self.on_finding is not None:
            for f in new:
                self.on_finding(f)

    # -- findings.json -------------------------------------------------------------------
    def payload(self, rec: Any, step: int, final: bool = False) -> dict[str, Any]:
        """``findings.json``: the JSON report contract for this run, plus a ``live`` block."""
        out = report_dict(Report(runs=[self.run(rec, in_progress=not final)],
                                 findings=list(self.findings)))
        out["live"] = {
            "step": step,
            "checked_at": now_iso(),
            "check_every": self.every,
            "stop_on": self.stop_on,
            "stopped": bool(self.stopped),
            "stopped_by": [f.rule for f in self.stopped],
            "first_seen": dict(self.first_seen),
            "checks": self.checks,
            "full_checks": self.full_checks,
            "rules": [r.code for r in self.rules],
        }
        return out

    def write(self, rec: Any, step: int, final: bool = False) -> None:
        write_json_atomic(self.path, self.payload(rec, step, final))


def _resolve_rules(rules: Sequence[Any] | None, config: Any, run_dir: Path
                   ) -> tuple[list[Any], dict[str, dict[str, Any]]]:
    """The run-scope live rules to apply and their parameters (from ``config``).

    Without ``rules``: the shipped rule set. Without ``config``: ``[tool.diagnose]`` of the
    nearest pyproject.toml, as ``diagnose check`` would use, so selections, ignores and
    parameter overrides apply live too.
    """
    cfg = config if config is not None else load_config()
    chosen = select_rules(list(rules) if rules is not None else load_rules(extend=cfg.extend_rules), cfg)
    chosen = [r for r in chosen if r.scope == "run" and r.live
              and not ignored_for_run(r, str(run_dir), run_dir.name, cfg)]
    params: Mapping[str, dict[str, Any]] = {r.code: cfg.rule_params(r) for r in chosen}
    return chosen, dict(params)
