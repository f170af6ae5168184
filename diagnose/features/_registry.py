"""The feature registry: what a feature function is given (a context) and how it is found.

``@feature`` / ``@group_feature`` register a function under the names it provides;
:func:`compute` evaluates the ones a rule still needs, each function once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from ..findings import Group
from ..run import Run

__all__ = ["DEFAULTS_LOADER", "FEATURES", "PARAM_DEFAULTS", "FeatureSpec", "GroupContext",
           "Value", "compute", "feature", "feature_params", "group_feature"]

Value = float | int | str | None


@dataclass(frozen=True)
class FeatureSpec:
    """One registered function and the names it provides."""

    fn: Callable[[Any], Mapping[str, Value]]
    provides: tuple[str, ...]
    scope: str  # "run" | "group"
    doc: str
    #: rule parameters (``[params.*]`` of some rule file) the measurement reads
    params: tuple[str, ...] = ()


#: provided name -> spec (a function providing several names appears several times).
FEATURES: dict[str, FeatureSpec] = {}

#: Parameter name -> default, for the parameters features read. Filled by the rule loader
#: from the ``[params.*]`` tables of the rule files that declare them: the thresholds live
#: in the rule files, documented and bounded, never in the features.
PARAM_DEFAULTS: dict[str, float | int] = {}
#: Set by the rule loader: fills PARAM_DEFAULTS from the shipped rule files on first need
#: (a worker process that received rules but never loaded them).
DEFAULTS_LOADER: list[Callable[[], None]] = []


def feature_params() -> set[str]:
    """Every parameter name some feature reads."""
    return {p for spec in FEATURES.values() for p in spec.params}


def feature(*provides: str, scope: str = "run", params: tuple[str, ...] = ()) -> Callable:
    """Register ``fn(ctx) -> {name: value}`` as the provider of ``provides``.

    ``params``: the rule parameters the function reads through ``RunContext.param``.
    """

    def deco(fn: Callable) -> Callable:
        spec = FeatureSpec(fn, provides, scope, (fn.__doc__ or "").strip().split("\n")[0],
                           tuple(params))
        for name in provides:
            if name in FEATURES and FEATURES[name].fn is not fn:
                raise ValueError(f"feature name {name!r} registered twice")
            FEATURES[name] = spec
        return fn

    return deco


def group_feature(*provides: str) -> Callable:
    """Register a feature over a group of runs (seed groups, sweeps)."""
    return feature(*provides, scope="group")


@dataclass
class GroupContext:
    """What a group-scope feature sees: the group, its runs, and per-run summaries.

    ``summaries`` holds the small per-run numbers (best/final validation metric,
    train time, ...) so group rules never touch raw curves.
    """

    group: Group
    runs: list[Run]
    summaries: dict[str, dict[str, Any]]
    metric: str = "val/loss"
    mode: str = "min"
    #: The metric the user asked to select by (``--by``), may be a training metric.
    by: str | None = None
    #: Which value of each run a sweep compares: ``final`` (last evaluation) or ``best``.
    at: str = "final"
    _cache: dict[str, Any] = field(default_factory=dict)


def compute(names: set[str] | list[str], ctx: Any) -> dict[str, Value]:
    """Evaluate the feature functions that provide ``names`` (each function once)."""
    out: dict[str, Value] = {}
    done: set[int] = set()
    for name in names:
        spec = FEATURES.get(name)
        if spec is None or id(spec.fn) in done:
            continue
        done.add(id(spec.fn))
        vals = spec.fn(ctx)
        for k in spec.provides:
            out[k] = _clean(vals.get(k))
    return out


def _clean(v: Any) -> Value:
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, (bool, np.bool_)):
        return float(bool(v))
    if isinstance(v, (int, np.integer)):
        return int(v)
    return float(v)
