"""Pictures of runs: curves with the findings drawn where they happen (:mod:`.run`), and
sweep plots (:mod:`.sweep`).

matplotlib is an optional extra (``diagnose[plot]``). It is imported inside these
functions only, and figures are drawn on an Agg canvas without pyplot, so neither
``import diagnose`` nor a notebook's own matplotlib backend is touched.
"""

# ruff: noqa: F401  (a package that re-exports its modules' names: see __all__)
from __future__ import annotations

from . import run, sweep
from .run import (
    INSTALL_HINT,
    SEVERITY_COLORS,
    PlotUnavailable,
    figure_bytes,
    figure_data_uri,
    require_matplotlib,
    run_figure,
    save_figure,
)
from .sweep import sweep_figure

__all__ = sorted([*run.__all__, "SEVERITY_COLORS", *sweep.__all__])
