"""The JSON report: the documented contract other tools depend on (version 1).

Strict JSON: NaN and ±inf become the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``
(as in ``metrics.jsonl``), numpy scalars become Python numbers, and anything else
unknown becomes its ``str``, so ``json.loads`` in any language reads it back.
"""

from __future__ import annotations

import json
from typing import Any

from ..findings import Report, json_number
from ..run import Run
from .text import sorted_findings

__all__ = ["CONTRACT_VERSION", "jsonable", "render", "report_dict", "run_dict"]

CONTRACT_VERSION = 1


def jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON data (dicts keep their order, keys become strings)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
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
        d["evidence"] = jsonable(f.evidence)  # nested values too, not only the top level
        findings.append(jsonable(d))
    return {
        "version": CONTRACT_VERSION,
        "runs": [run_dict(r) for r in report.runs],
        "groups": [jsonable(g.to_dict()) for g in report.groups],
        "findings": findings,
        "summary": report.counts(),
        "errors": [str(e) for e in report.errors],
    }


def dumps(obj: Any) -> str:
    """Indented strict JSON with a final newline."""
    return json.dumps(obj, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def render(report: Report, *, color: bool = False, verbose: bool = False, **_: Any) -> str:
    """The report as JSON text (``color``/``verbose`` do not change the contract)."""
    return dumps(report_dict(report))
