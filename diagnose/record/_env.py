"""What the Recorder captures about the machine and the code, without asking the user.

Nothing here imports torch: torch facts are read only when the training script has
already imported it (``sys.modules``), so recording plain Python numbers stays cheap.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from datetime import datetime, timezone
from typing import Any

__all__ = ["git_version", "machine_env", "now_iso", "peak_memory", "process_rank"]


def now_iso() -> str:
    """The current time in UTC, ISO 8601, to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def git_version(cwd: str | None = None) -> tuple[str, bool] | None:
    """``(commit, dirty)`` when ``cwd`` is inside a git work tree; None otherwise.

    Tracked files only decide "dirty": untracked outputs (logs, checkpoints) would
    otherwise mark every training run dirty.
    """
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    if git("rev-parse", "--is-inside-work-tree") != "true":
        return None
    commit = git("rev-parse", "HEAD")
    if not commit:
        return None  # a repository without commits
    status = git("status", "--porcelain", "--untracked-files=no")
    return commit, bool(status)


def process_rank() -> int:
    """This process's rank under torch.distributed (or torchrun's RANK before init); 0 alone."""
    torch = sys.modules.get("torch")
    if torch is not None:
        dist = getattr(torch, "distributed", None)
        if dist is not None and dist.is_available() and dist.is_initialized():
            return int(dist.get_rank())
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def machine_env() -> dict[str, Any]:
    """Host, Python and (if loaded) torch facts for ``run.json``'s ``env``."""
    env: dict[str, Any] = {
        "hostname": socket.gethostname(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "pid": os.getpid(),
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        env["torch"] = str(torch.__version__)
        env["cuda_available"] = bool(torch.cuda.is_available())
    return env


def peak_memory() -> dict[str, float]:
    """Peak resident memory of this process, and of CUDA allocations when CUDA was used (MiB)."""
    out: dict[str, float] = {}
    try:
        import resource

        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # Linux reports KiB, macOS bytes.
        out["peak_rss_mb"] = round(rss / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)
    except (ImportError, OSError, ValueError):
        pass
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        try:
            out["cuda_peak_allocated_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        except RuntimeError:
            pass
    return out
