"""Shared helpers for the adversarial tests (issue 16): hostile inputs, bounded runs.

Every CLI run here is a subprocess with a wall-clock timeout and an address-space cap
(``resource.setrlimit``), so a hang or an unbounded read fails the test instead of the
machine. Healthy runs are copies of committed fixtures written by the real writers; the
hostile parts (FIFOs, symlinks to devices, random bytes, forged records) are made here,
because making them is the attack.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
#: A native run recorded by the Recorder (fixtures/make_fixtures.py).
HEALTHY = FIXTURES / "healthy-mlp-adam"
#: Address space a CLI subprocess may map: far above a healthy check of a small run
#: (numpy, pandas and click loaded), far below reading /dev/zero or a 200 MB file twice.
MEM_CAP = 1536 << 20
TIMEOUT = 20


@dataclass
class Result:
    code: int
    out: str
    err: str
    maxrss_kib: int = 0

    @property
    def both(self) -> str:
        return self.out + self.err


def _limits(mem: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    return apply


_PROBE = """
import resource, sys
sys.argv = ["diagnose", *sys.argv[1:]]
try:
    from diagnose.cli import main
    main()
finally:
    sys.stderr.write("\\nMAXRSS %d\\n" % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            mem: int = MEM_CAP, timeout: float = TIMEOUT) -> Result:
    """``diagnose ARGS`` in a subprocess, memory-capped and timed; its peak RSS recorded.

    A timeout fails the test (subprocess raises), as a hang should."""
    e = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY")}
    e.update({"PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
              "MKL_NUM_THREADS": "1", **(env or {})})
    p = subprocess.run([sys.executable, "-c", _PROBE, *args], cwd=cwd, env=e, check=False,
                       capture_output=True, text=True, errors="backslashreplace",
                       timeout=timeout, preexec_fn=_limits(mem))
    err, rss = p.stderr, 0
    head, sep, tail = err.rpartition("\nMAXRSS ")
    if sep:
        err, rss = head, int(tail.strip() or 0)
    return Result(p.returncode, p.stdout, err, rss)


def run_py(code: str, *, cwd: Path | None = None, mem: int = MEM_CAP,
           timeout: float = TIMEOUT) -> Result:
    """Python ``code`` in a capped, timed subprocess that imports this checkout."""
    e = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    p = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=e, check=False,
                       capture_output=True,
                       text=True, errors="backslashreplace", timeout=timeout,
                       preexec_fn=_limits(mem))
    return Result(p.returncode, p.stdout, p.stderr)


def no_traceback(r: Result) -> None:
    assert "Traceback" not in r.both, r.both[-3000:]


#: A native run whose loss explodes (a finding at error severity).
EXPLOSION = FIXTURES / "explosion"


def healthy_run(dest: Path, run_id: str | None = None, src: Path = HEALTHY) -> Path:
    """A copy of a real native run; ``run_id`` replaces its id in run.json."""
    shutil.copytree(src, dest)
    if run_id is not None:
        import json

        meta = json.loads((dest / "run.json").read_text())
        meta["id"] = run_id
        (dest / "run.json").write_text(json.dumps(meta))  # ensure_ascii: surrogates survive
    return dest


@pytest.fixture
def healthy(tmp_path: Path) -> Path:
    return healthy_run(tmp_path / "runs" / "good")
