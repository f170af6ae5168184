"""Measurements: small functions from a run (or a group of runs) to named numbers.

Per-run features live in :mod:`diagnose.features._run` (numeric helpers in ``_series``,
the run's settings and summary in ``_summary``), group features (seed groups,
sweeps) in :mod:`diagnose.features.group`; both register in ``FEATURES`` when this
package is imported, so the rules and the engine know them only through the registry.
"""

# ruff: noqa: F401  (a package that re-exports its modules' names: see __all__)
from __future__ import annotations

from . import _chance, _gap, _late, _run, _slow, _spikes, _summary, _tail, group  # each registers its features on import
from ._registry import (
    DEFAULTS_LOADER,
    FEATURES,
    PARAM_DEFAULTS,
    FeatureSpec,
    GroupContext,
    compute,
    feature,
    feature_params,
    group_feature,
)
from ._run import RunContext, recorded_classes
from ._series import (  # noqa: F401  (_FILTER: the median filter's state, switched by tests)
    _FILTER,
    expect_many_medians,
    nan_if_none,
    rolling_median,
    smooth,
    window,
)
from ._summary import nice, run_summary

#: The registry's names (from ``_run``) and the helpers other layers use.
__all__ = sorted({*_run.__all__, "expect_many_medians", "nan_if_none", "nice", "rolling_median",
                  "run_summary", "smooth"})
