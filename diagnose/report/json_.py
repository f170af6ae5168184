"""The JSON report: the documented contract other tools depend on (version 1).

Strict JSON: NaN and ±inf become the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``
(as in ``metrics.jsonl``), numpy scalars become Python numbers, and anything else
unknown becomes its ``str``, so ``json.loads`` in any language reads it back.
"""

from __future__ import annotations

import json
from typing import Any

from ..findings import Report, jsonable
from ..run import Run
from .text import sorted_findings

__all__ = ["CONTRACT_VERSION", "jsonable", "render", "report_dict", "run_dict"]

CONTRACT_VERSION = 1


def run_dict(run: Run) -> dict[str, Any]:
    """One entry of ``runs``."""
    return {
        "id": run.id,
        "path": run.path,
        "format": run.format,
        "steps": run.n_steps,
        "metrics": run.metric_names,
        "params": jsonable(run.params),
        "name_map": jsonable(dict(sorted(run.name_map.items()))),
        "warnings": list(run.warnings),
        "in_progress": bool(run.in_progress),
    }


def report_dict(report: Report) -> dict[str, Any]:
    """The whole contract as a dict (what ``render`` serialises)."""
    findings = []
    for f in sorted_findings(report.findings):
        d = f.to_dict()
        d["evidence"] = f.evidence  # converted below, nested values too
        findings.append(jsonable(d))
    return {
        "version": CONTRACT_VERSION,
        "runs": [{**run_dict(r), "unchecked": report.unchecked.get(r.id, {})} for r in report.runs],
        "groups": [jsonable(g.to_dict()) for g in report.groups],
        "findings": findings,
        "summary": report.counts(),
        "errors": [str(e) for e in report.errors],
    }


def dumps(obj: Any) -> str:
    """Strict JSON, a final newline; a top-level object as one key per line, its lists as
    one item per line.

    A report of ten thousand runs stays easy to read and to ``grep`` (one run, one
    finding per line), and each line is written by the json module's C encoder:
    ``indent=`` would send the whole report through its pure-Python one.
    """
    if not isinstance(obj, dict) or not obj:
        return _compact(obj) + "\n"
    parts = []
    for k, v in obj.items():
        key = _compact(str(k))
        if isinstance(v, list) and v:
            items = ",\n    ".join(map(_compact, v))
            parts.append(f"  {key}: [\n    {items}\n  ]")
        else:
            parts.append(f"  {key}: {_compact(v)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


_compact = json.JSONEncoder(allow_nan=False, ensure_ascii=False).encode


def render(report: Report, *, color: bool = False, verbose: bool = False, **_: Any) -> str:
    """The report as JSON text (``color``/``verbose`` do not change the contract)."""
    return dumps(report_dict(report))
