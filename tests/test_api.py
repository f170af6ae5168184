"""The public surface is small and deliberate: pin it, and keep heavy imports out of it."""

from __future__ import annotations

import subprocess
import sys

import diagnose


def test_all_is_sorted_and_pinned():
    assert list(diagnose.__all__) == sorted(diagnose.__all__)
    expected = {
        "ConfigError", "DiagnoseError", "Finding", "Group", "ReadError", "Recorder", "Report",
        "Run", "RuleError", "StopTraining", "__version__", "check", "discover", "load",
        "load_all", "load_rules", "sweep", "tune",
    }
    assert set(diagnose.__all__) == expected


def test_every_public_name_resolves():
    for name in diagnose.__all__:
        assert getattr(diagnose, name) is not None


def test_import_and_check_path_never_import_heavy_libraries(tmp_path):
    code = (
        "import sys, diagnose, diagnose.cli, diagnose.engine, diagnose.readers, diagnose.report;"
        "diagnose.load_rules();"
        "heavy = [m for m in ('torch', 'tensorboard', 'lightning', 'transformers', 'mlflow',"
        " 'matplotlib', 'wandb') if m in sys.modules];"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr
