"""diagnose: a diagnostic rule engine for training curves.

Record a run (``Recorder``), read the logs you already have (``load``), judge them
with declarative rules (``check``) and compare runs (``sweep``). Importing this
package never imports torch: analysis works in jobs that have none.
"""

from __future__ import annotations

from typing import Any

from . import notebook  # noqa: F401  (registers the notebook displays)
from ._errors import ConfigError, DiagnoseError, ReadError, RuleError, StopTraining
from ._version import __version__
from .findings import Finding, Group, Report
from .readers import discover, load, load_all
from .run import Run

__all__ = [
    "ConfigError",
    "DiagnoseError",
    "Finding",
    "Group",
    "ReadError",
    "Recorder",
    "Report",
    "RuleError",
    "Run",
    "StopTraining",
    "__version__",
    "check",
    "discover",
    "load",
    "load_all",
    "load_rules",
    "sweep",
]

_LAZY = {
    "Recorder": ("diagnose.record", "Recorder"),
    "check": ("diagnose.pipeline", "check"),
    "load_rules": ("diagnose.rules", "load_rules"),
    "sweep": ("diagnose.pipeline", "sweep"),
}


def __getattr__(name: str) -> Any:
    # Lazy so that `import diagnose` stays cheap and never pulls in torch.
    if name in _LAZY:
        import importlib

        mod, attr = _LAZY[name]
        value = getattr(importlib.import_module(mod), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'diagnose' has no attribute {name!r}")
