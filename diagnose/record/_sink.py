"""The Recorder's sink: the run folder's files, whole-line appends, reopening, drop accounting.

A flush hands whole lines to an unbuffered file; a write that fails part-way is cut back
to the last whole line; a log whose file was deleted is noticed and reopened when its
folder is back. Problems are counted in ``run.json`` and warned about once per kind.
"""

from __future__ import annotations

import errno
import json
import os
import sys
import warnings
from typing import Any

from ..readers import native
from . import _env

__all__ = ["RecordSink"]


class RecordSink:
    """Mixin of :class:`~diagnose.record.Recorder`: where its records and metadata go."""

    def _capture_identity(self) -> None:
        self.env.update(_env.machine_env())
        self.env["start_time"] = _env.now_iso()
        self._git = _env.GitProbe()  # read when done: construction does not wait for git
        if "seed" in self.params:
            self.identity.setdefault("seed", self.params["seed"])
        torch = sys.modules.get("torch")
        if torch is not None:
            self.identity.setdefault("seed", int(torch.initial_seed()))

    #: The pending ``git status`` of this run's code (None once read).
    _git: Any = None

    def _take_git(self, wait: bool) -> None:
        """Put the commit and dirty flag into identity/env once git has answered."""
        probe = self._git
        if probe is None or not (wait or probe.done()):
            return
        self._git = None
        git = probe.result()
        if git is not None:
            commit, dirty = git
            self.identity.setdefault("code_version", commit + ("-dirty" if dirty else ""))
            self.env["git_commit"], self.env["git_dirty"] = commit, dirty

    def _open(self, resume: bool, overwrite: bool) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        path = self.metrics_path
        exists = path.exists() and path.stat().st_size > 0
        if exists and not resume and not overwrite:
            raise FileExistsError(
                f"{path}: a run was already recorded here; pass resume=True to append to it, "
                "overwrite=True to replace it, or choose another run_dir"
            )
        if overwrite:
            for name in (native.METRICS_FILE, native.RUN_FILE):
                (self.run_dir / name).unlink(missing_ok=True)
            exists = False
        self._file = open(path, "ab", buffering=0)  # unbuffered: see _write
        if exists:
            with open(path, "rb") as f:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    # A previous process died mid-line: end it so our first record stays whole.
                    self._file.write(b"\n")
            self._keep_earlier_meta()

    def _keep_earlier_meta(self) -> None:
        """On resume, keep what the earlier run.json said unless this run says otherwise."""
        try:
            old = json.loads((self.run_dir / native.RUN_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = {}
        if not isinstance(old, dict):
            old = {}
        for name in ("params", "identity"):
            earlier = old.get(name)
            if isinstance(earlier, dict):
                setattr(self, name, {**earlier, **getattr(self, name)})
        first = (old.get("env") or {}).get("first_start_time") or (old.get("env") or {}).get(
            "start_time")
        if first:
            self.env["first_start_time"] = first
        self.env["resumed"] = True

    def _meta(self) -> dict[str, Any]:
        self._take_git(wait=self.status != "running")
        meta: dict[str, Any] = {"format": native.FORMAT_TAG, "version": 1}
        if self.identity.get("experiment_id"):
            meta["id"] = str(self.identity["experiment_id"])
        meta.update(
            status=self.status,
            identity=self.identity,
            params=self.params,
            results=self.results,
            env=self.env,
        )
        if self.num_classes is not None:
            meta["num_classes"] = int(self.num_classes)
        if self._error:
            meta["error"] = self._error
        if self.records_dropped or self.values_dropped:
            meta["dropped"] = {"records": self.records_dropped, "values": self.values_dropped}
        return meta

    def _write_meta(self) -> None:
        try:
            native.write_json_atomic(self.run_dir / native.RUN_FILE, self._meta())
        except OSError as e:
            self._problem("meta", f"could not write {self.run_dir / native.RUN_FILE}: {e}")

    #: The last write failed part-way and could not be cut back: start the next on a new line.
    _torn_tail = False

    def _write(self, data: bytes, n: int) -> bool:
        """Append ``n`` records (``data``) to the log: all of them, or none on disk.

        The file is unbuffered, so a failed write leaves no bytes behind in Python to
        reappear later. A write that fails part-way (disk full, file size limit, file
        made immutable) is cut back to the last whole line, so the records written once
        space returns are whole. A log whose file was deleted (with its folder or not) is
        noticed here too: what was just written went nowhere.
        """
        f = self._file
        start = None
        try:
            fd = f.fileno()
            start = os.fstat(fd).st_size
            if self._torn_tail:
                data = b"\n" + data
            view = memoryview(data)
            while view:
                k = f.write(view)
                if not k:
                    raise OSError(errno.EIO, "the file system accepted no bytes")
                view = view[k:]
            gone = os.fstat(fd).st_nlink == 0
        except (OSError, ValueError) as e:
            self._torn_tail = start is not None and not _truncate(f, start)
            self._drop(n, "write", f"could not write {self.metrics_path}: {e}")
            return False
        self._torn_tail = False
        if gone:
            self._close_file()
            self._drop(n, "write", f"{self.metrics_path} was deleted (or its folder was); "
                                   "records are dropped until it can be written again")
            return False
        return True

    def _drop(self, n: int, kind: str, message: str) -> None:
        self.records_dropped += n
        self._problem(kind, message)

    def _drop_pending(self) -> None:
        """No log file to write to: count the pending records as dropped, keep none."""
        n = len(self._pending)
        self._steps, self._walls, self._pending = [], [], []
        self._tensors, self._versions = [], []
        self._drop(n, "write", f"{self.metrics_path} cannot be opened; records are dropped")

    def _reopen(self) -> bool:
        """Open the log again after it was lost, if its folder is there (never recreated)."""
        if self._closed or not self.run_dir.is_dir():
            return False
        try:
            self._file = open(self.metrics_path, "ab", buffering=0)
        except OSError:
            return False
        return True

    def _close_file(self) -> None:
        try:
            self._file.close()
        except OSError:
            pass
        self._file = None

    def _problem(self, kind: str, message: str, dropped: int = 0) -> None:
        """Raise in strict mode; otherwise warn once per kind of problem and carry on.

        ``dropped`` values are counted in ``run.json`` whether or not the warning shows.
        """
        self.values_dropped += dropped
        if self.strict:
            raise ValueError(f"{self.run_dir}: {message}")
        if kind not in self._warned:
            self._warned.add(kind)
            warnings.warn(
                f"diagnose Recorder {self.run_dir}: {message} (warned once)",
                RuntimeWarning,
                stacklevel=_caller_level(),
            )


def _truncate(f: Any, size: int) -> bool:
    """Cut the log back to ``size`` bytes (a partly written record); False if it cannot be."""
    try:
        os.ftruncate(f.fileno(), size)
    except (OSError, ValueError):
        return False
    return True

def _caller_level() -> int:
    """``stacklevel`` that points a warning at the first frame outside this package."""
    here = os.path.dirname(__file__)
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.dirname(frame.f_code.co_filename) == here:
        frame, level = frame.f_back, level + 1
    return level
