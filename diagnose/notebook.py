"""Notebook display: the ``_repr_html_`` hooks of Run, Report and SweepResult.

Registered from here, above the formatters, so that the model (``run.py``,
``findings.py``, ``sweeps.py``) imports nothing above it. ``import diagnose``
registers them.
"""

from __future__ import annotations

from . import pipeline
from .findings import Report
from .report import FORMATS, render
from .report.html import run_html, sweep_html
from .report.sweep import render as render_sweep
from .run import Run
from .sweeps import SweepResult

__all__ = ["register"]


def _run_html(run: Run) -> str:
    """A run's plot beside its findings, checked now (the formatter itself checks nothing)."""
    return run_html(run, pipeline.check([run]).findings)


def _report_html(report: Report) -> str:
    if "html" in FORMATS:
        return render(report, "html")
    return "<pre>" + render(report, "text") + "</pre>"


def _sweep_html(result: SweepResult) -> str:
    if result.runs and result.groups:
        return sweep_html(result)  # the report's view: table, card and sweep plots
    return render_sweep(result, "html")


def _sweep_text(result: SweepResult) -> str:
    return render_sweep(result, "text")


def register() -> None:
    """Give Run (its plot beside its findings), Report and SweepResult their displays."""
    Run._repr_html_ = _run_html  # type: ignore[attr-defined]
    Report._repr_html_ = _report_html  # type: ignore[attr-defined]
    SweepResult._repr_html_ = _sweep_html  # type: ignore[attr-defined]
    SweepResult.__str__ = _sweep_text  # type: ignore[method-assign]


register()
