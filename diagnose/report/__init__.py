"""Formatters: a Report in, a string out. No I/O here; the CLI writes the result.

``FORMATS`` maps a format name to ``"module:function"``; each function is
``render(report: Report, *, color: bool = False, verbose: bool = False) -> str``.
"""

from __future__ import annotations

import importlib

from .._escape import encodable
from ..findings import Report

__all__ = ["FORMATS", "render"]

FORMATS: dict[str, str] = {
    "text": "diagnose.report.text:render",
    "json": "diagnose.report.json_:render",
    "markdown": "diagnose.report.markdown:render",
    "github": "diagnose.report.github:render",
    "junit": "diagnose.report.junit:render",
    "sarif": "diagnose.report.sarif:render",
    "html": "diagnose.report.html:render",
}


def render(report: Report, fmt: str = "text", **options: object) -> str:
    """Render ``report`` in ``fmt`` (one of ``FORMATS``)."""
    try:
        target = FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}") from None
    modname, fn = target.split(":")
    # a lone surrogate (a run id or metric name from JSON) cannot be written as UTF-8
    return encodable(getattr(importlib.import_module(modname), fn)(report, **options))
