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
import threading
from datetime import datetime, timezone
from typing import Any

__all__ = ["GitProbe", "git_version", "machine_env", "now_iso", "peak_memory", "process_rank"]


def now_iso() -> str:
    """The current time in UTC, ISO 8601, to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class GitProbe:
    """``git status`` run now on a background thread and read later: the commit and dirty
    flag without waiting (starting a process can block its caller for milliseconds on a
    busy machine, so not even that happens on the training thread).

    One ``git status --porcelain=v2 --branch --untracked-files=no`` gives both the
    commit (``# branch.oid``) and whether a tracked file changed (any entry line); it
    fails outside a work tree. Tracked files only decide "dirty": untracked outputs
    (logs, checkpoints) would otherwise mark every training run dirty. It runs with
    ``GIT_OPTIONAL_LOCKS=0``: it never refreshes (writes) the index, so it never holds
    ``index.lock`` while the user runs git in the same repository, and costs less.
    """

    def __init__(self, cwd: str | None = None) -> None:
        if cwd is None:
            try:
                cwd = os.getcwd()  # the folder as of now, whatever the script does next
            except OSError:
                cwd = None
        self._answer: tuple[str, bool] | None = None
        self._thread = threading.Thread(target=self._run, args=(cwd,),
                                        name="diagnose-git-status", daemon=True)
        self._thread.start()

    def _run(self, cwd: str | None) -> None:
        try:
            proc = subprocess.run(
                ["git", "status", "--porcelain=v2", "--branch", "--untracked-files=no"],
                cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, timeout=10, env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
        except (OSError, subprocess.SubprocessError):
            return
        if proc.returncode == 0:
            self._answer = _parse_status(proc.stdout)

    def done(self) -> bool:
        """Whether git has finished (reading the result will not wait)."""
        return not self._thread.is_alive()

    def result(self) -> tuple[str, bool] | None:
        """``(commit, dirty)``, or None outside a work tree / without commits / without git."""
        self._thread.join(timeout=15)
        return self._answer


def _parse_status(out: bytes) -> tuple[str, bool] | None:
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
