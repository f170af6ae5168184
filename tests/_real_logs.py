"""Where the shared real logs live: next to the checkout (``../shared/real-logs``), or where
``DIAGNOSE_REAL_LOGS`` points. Tests skip when absent."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def real_logs_dir() -> Path:
    candidates = [os.environ.get("DIAGNOSE_REAL_LOGS"), ROOT.parent / "shared" / "real-logs"]
    for c in candidates:
        if c and Path(c).is_dir():
            return Path(c)
    return ROOT.parent / "shared" / "real-logs"  # absent: the tests that need it skip


REAL_LOGS = real_logs_dir()

#: The public runs of the benchmark (tests read only its tuning half).
BENCH_RUNS = ROOT / "bench" / "real-runs"


def bench_run(name: str) -> Path:
    """One benchmark run's folder; the test skips when the checkout has no benchmark."""
    import pytest

    path = BENCH_RUNS / name
    if not path.exists():
        pytest.skip("bench/real-runs not in this checkout")
    return path
