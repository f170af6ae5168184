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

__all__ = ["GitProbe", "git_version", "machine_env", "now_iso", "peak_memory", "process_rank"]


def now_iso() -> str:
    """The current time in UTC, ISO 8601, to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class GitProbe:
    """``git status`` started now and read later: the commit and dirty flag without waiting.

    One ``git status --porcelain=v2 --branch --untracked-files=no`` gives both the
    commit (``# branch.oid``) and whether a tracked file changed (any entry line); it
    fails outside a work tree. Tracked files only decide "dirty": untracked outputs
    (logs, checkpoints) would otherwise mark every training run dirty.
    """

    def __init__(self, cwd: str | None = None) -> None:
        try:
            self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                ["git", "status", "--porcelain=v2", "--branch", "--untracked-files=no"],
                cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL)
        except OSError:
            self._proc = None

    def done(self) -> bool:
        """Whether git has finished (reading the result will not wait)."""
        return self._proc is None or self._proc.poll() is not None

    def result(self) -> tuple[str, bool] | None:
        """``(commit, dirty)``, or None outside a work tree / without commits / without git."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.SubprocessError:
            proc.kill()
            proc.communicate()
            return None
        if proc.returncode != 0:
            return None
        commit, dirty = None, False
        for line in out.decode("utf-8", "replace").splitlines():
            if line.startswith("# branch.oid "):
                commit = line[len("# branch.oid "):].strip()
            elif line and not line.startswith("#"):
                dirty = True
        if not commit or commit == "(initial)":
            return None  # a repository without commits
        return commit, dirty


def git_version(cwd: str | None = None) -> tuple[str, bool] | None:
    """``(commit, dirty)`` when ``cwd`` is inside a git work tree; None otherwise."""
    return GitProbe(cwd).result()


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
