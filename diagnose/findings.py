"""What the engine produces: findings, groups of runs, and the report that holds them.

Plain data with no behaviour beyond ordering and serialisation, so formatters,
the CLI and notebooks can all consume the same objects.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .run import Run

__all__ = ["SEVERITIES", "Finding", "Group", "Report", "severity_rank"]

#: Most severe first. ``never`` is only a ``--fail-on`` value.
SEVERITIES = ("error", "warning", "info")


def severity_rank(sev: str) -> int:
    """error=3, warning=2, info=1, never/unknown=big (nothing reaches it)."""
    return {"error": 3, "warning": 2, "info": 1}.get(sev, 99)


@dataclass
class Finding:
    """One rule firing on one run (``run``) or one group of runs (``group``)."""

    rule: str  # code, e.g. DG102
    name: str  # slug, e.g. loss-explosion
    pattern: str
    severity: str
    message: str
    cause: str
    next_experiment: str
    run: str | None = None
    group: str | None = None
    runs: list[str] = field(default_factory=list)
    steps: tuple[int, int] | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    #: the next experiment as data (see :mod:`diagnose.advice`): one entry per setting to run
    next_run: list[dict[str, Any]] = field(default_factory=list)
    #: other patterns the message tells as consequences of this one (a rule's ``[[also]]``)
    also: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "name": self.name,
            "pattern": self.pattern,
            "also": list(self.also),
            "severity": self.severity,
            "run": self.run,
            "group": self.group,
            "runs": list(self.runs),
            "steps": list(self.steps) if self.steps is not None else None,
            "message": self.message,
            "cause": self.cause,
            "next_experiment": self.next_experiment,
            "next": jsonable(self.next_run),
            "evidence": {k: json_number(v) for k, v in self.evidence.items()},
        }

    def sort_key(self) -> tuple:
        return (-severity_rank(self.severity), self.rule, self.run or "", self.group or "")


@dataclass
class Group:
    """A set of runs compared together: a seed group, a sweep over one param, ..."""

    id: str
    kind: str  # "seeds" | "sweep" | "mixed" | "pattern"
    runs: list[str]
    varying: list[str] = field(default_factory=list)
    param: str | None = None  # the swept param for kind == "sweep"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "runs": list(self.runs), "varying": list(self.varying)}


@dataclass
class Report:
    """Runs, groups and findings from one check. ``errors`` holds unreadable inputs."""

    runs: list[Run] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: things the walk passed over, with why (a FIFO or device named like a log)
    notes: list[str] = field(default_factory=list)
    #: run id -> the patterns no rule could judge on it, each with the metrics it lacked
    #: (see :func:`diagnose.engine.unchecked_patterns`); runs checked in full are absent
    unchecked: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    #: run id -> the per-run summary the group rules read (sweeps read the same numbers)
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    #: set by the pipeline: works out the sweep of these runs (see :meth:`sweep_result`)
    sweep_source: Callable[[], Any] | None = field(default=None, repr=False, compare=False)
    _sweep: Any = field(default=None, init=False, repr=False, compare=False)

    def sweep_result(self) -> Any:
        """The sweep of these runs (a ``SweepResult``), worked out once; None when the
        runs form no group or nothing can work it out (a Report built by hand)."""
        if self._sweep is None and self.sweep_source is not None:
            self._sweep = self.sweep_source()
        return self._sweep

    def for_run(self, run_id: str) -> list[Finding]:
        return [f for f in self.findings if f.run == run_id]

    def at_or_above(self, severity: str) -> list[Finding]:
        """Findings at or above ``severity`` (``never`` -> none)."""
        if severity == "never":
            return []
        rank = severity_rank(severity)
        return [f for f in self.findings if severity_rank(f.severity) >= rank]

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in SEVERITIES}
        for f in self.findings:
            out[f.severity] = out.get(f.severity, 0) + 1
        return out


def json_number(v: Any) -> Any:
    """Evidence values as JSON-safe data: NaN/±inf become the strings used everywhere else."""
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")
    if isinstance(v, (list, tuple)):
        return [json_number(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            return json_number(v.item())
        except (TypeError, ValueError):
            return str(v)
    return v


def jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON data (dicts keep their order, keys become strings)."""
    t = type(obj)
    if t is str or t is int or t is bool or obj is None:  # most of a report: returned as is
        return obj
    if t is float:
        return obj if obj - obj == 0.0 else json_number(obj)
    if isinstance(obj, dict):
        return {k if type(k) is str else str(k): jsonable(v) for k, v in obj.items()}
    if hasattr(obj, "ndim") and hasattr(obj, "tolist"):  # numpy arrays, pandas series
        items = obj.tolist()
        return [jsonable(v) for v in items] if isinstance(items, list) else jsonable(items)
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return [jsonable(v) for v in sorted(obj, key=str)]
    v = json_number(obj)
    if v is None or isinstance(v, (str, bool, int, float)):
        return v
    return str(v)
