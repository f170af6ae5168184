"""diagnose: a diagnostic rule engine for training curves.

Record a run (``Recorder``), read the logs you already have (``load``), judge them
with declarative rules (``check``) and compare runs (``sweep``) and tune by the chapter's strategy (``tune``). Importing this
package never imports torch: analysis works in jobs that have none.
"""

from __future__ import annotations

from . import notebook  # noqa: F401  (registers the notebook displays)
from ._errors import ConfigError, DiagnoseError, ReadError, RuleError, StopTraining
from ._version import __version__
from .findings import Finding, Group, Report
from .pipeline import check, sweep
from .readers import discover, load, load_all
from .record import Recorder
from .rules import load_rules
from .run import Run
from .tuner import tune

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
    "tune",
]
