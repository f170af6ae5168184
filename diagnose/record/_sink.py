"""The Recorder's sink: the run folder's files, whole-line appends, reopening, drop accounting.

A flush hands whole lines to an unbuffered file; a write that fails part-way is cut back
to the last whole line; a log whose file was deleted is noticed and reopened when its
folder is back. Problems are counted in ``run.json`` and warned about once per kind.

Durability against a power cut (``fsync``) is not the training thread's wait: every
byte is handed to the OS before ``flush()``/``close()`` return (all a killed process
needs), and ``run.json`` is replaced atomically (a reader sees the old file or the new
one), while the ``fsync`` of each file happens on one background thread, which the
interpreter waits for at exit (``wait_for_disk``).

One writer per folder: the Recorder holds an exclusive ``flock`` on ``.recorder.lock`` in
the run folder from construction to ``close()``, so a second Recorder on the folder (in
this process or another) fails at construction, naming the holder's pid. The kernel
drops the lock when its holder dies, SIGKILL included, so there is no stale lock to
clear: the next ``Recorder(..., resume=True)`` takes it. A forked child inherits the
lock but never releases it (closing its copy keeps the parent's lock).
"""

from __future__ import annotations

import errno
import json
import os
import queue
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from ..findings import jsonable
from ..readers import native
from . import _env

try:
    import fcntl
except ImportError:  # not POSIX: no lock is taken
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_FILE", "RecordSink", "wait_for_disk"]

#: The run folder's lock file, held (``flock``) by the Recorder writing there.
LOCK_FILE = ".recorder.lock"


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
        self._lock()
        try:
            self._open_log(resume, overwrite)
        except BaseException:
            self._unlock()
            raise

    #: The locked ``.recorder.lock`` (a file object: a Recorder that fails in ``__init__``
    #: lets go of it when it is collected); None when no lock is held.
    _lock_file: Any = None

    def _lock(self) -> None:
        """Hold the run folder: a second writer is refused here, at construction."""
        if fcntl is None:
            return
        path = self.run_dir / LOCK_FILE
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            f = os.fdopen(fd, "r+b", buffering=0)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(f)
                f.close()
                who = ("this process holds an open Recorder on it" if holder == os.getpid()
                       else f"pid {holder} is writing it" if holder
                       else "another process is writing it")
                raise FileExistsError(
                    f"{self.run_dir}: another Recorder is recording this run ({who}); "
                    "one writer per folder: close() the other one first (then pass resume=True "
                    "to append to its run), or choose another run_dir"
                ) from None
            except OSError as e:  # a file system without locks (some network file systems)
                f.close()
                self._problem("lock", f"cannot lock {path} ({e}); a second Recorder on this "
                                      "folder would not be refused")
                return
            if _same_file(path, f):
                break
            f.close()  # its holder removed it as we locked it: lock the new one
        try:
            # Written over a dead holder's pid, then cut to length: never cut to 0 bytes,
            # which would make closing the file wait for the disk (ext4's auto_da_alloc).
            pid = b"%d\n" % os.getpid()
            os.pwrite(fd, pid, 0)
            os.ftruncate(fd, len(pid))
        except OSError:
            pass  # the pid is for the message only; the lock holds without it
        self._lock_file = f

    def _unlock(self) -> None:
        """Let go of the run folder (removing the lock file while still holding it)."""
        f, self._lock_file = self._lock_file, None
        if f is None:
            return
        path = self.run_dir / LOCK_FILE
        try:
            if _same_file(path, f):
                path.unlink()
        except OSError:
            pass
        f.close()

    def _open_log(self, resume: bool, overwrite: bool) -> None:
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

    def _write_meta(self, durable: bool = False) -> Any:
        """Replace ``run.json``. ``durable`` (at close): return the new file, still open, for
        :func:`sync_later`; otherwise None."""
        if os.getpid() != self._pid:
            return None  # a forked child's copy: run.json is the parent's
        try:
            return _replace_json(self.run_dir / native.RUN_FILE, self._meta(), durable)
        except OSError as e:
            self._problem("meta", f"could not write {self.run_dir / native.RUN_FILE}: {e}")
            return None

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
        if os.getpid() != self._pid:
            return False  # a forked child's copy: the log is the parent's
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
        buf = self._buf
        n = len(buf) // 3
        if buf:
            self._step_out = buf[-3]
        self._buf = []
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


def _holder(f: Any) -> int | None:
    """The pid written in a lock file (None if it is not there yet)."""
    try:
        f.seek(0)
        return int(f.read(32).split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _same_file(path: os.PathLike, f: Any) -> bool:
    """True if ``path`` still names the open file ``f`` (not removed or replaced)."""
    try:
        a, b = os.stat(path), os.fstat(f.fileno())
    except OSError:
        return False
    return (a.st_ino, a.st_dev) == (b.st_ino, b.st_dev)


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


# -- durability off the training thread ----------------------------------------------------


class _Syncer:
    """One daemon thread that ``fsync``s the files handed to it, then closes them, in order."""

    def __init__(self) -> None:
        self.queue: queue.Queue[Any] = queue.Queue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def put(self, f: Any) -> None:
        """Make ``f`` (an open file, every byte already written) durable, then close it."""
        if os.name == "nt":  # Windows cannot replace a file still open elsewhere: sync now
            _sync_and_close(f)
            return
        if self.thread is None:
            with self.lock:
                if self.thread is None:
                    t = threading.Thread(target=self._run, name="diagnose-recorder-fsync",
                                         daemon=True)
                    t.start()
                    self.thread = t
        self.queue.put(f)

    def _run(self) -> None:
        q = self.queue
        while True:
            f = q.get()
            try:
                _sync_and_close(f)
            except Exception:  # noqa: BLE001 - the thread must outlive any one file
                pass
            finally:
                q.task_done()

    def wait(self, timeout: float) -> bool:
        """Wait until every file handed over is on disk; False if ``timeout`` s passed first."""
        q = self.queue
        deadline = time.monotonic() + timeout
        with q.all_tasks_done:
            while q.unfinished_tasks:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                q.all_tasks_done.wait(left)
        return True


def _sync_and_close(f: Any) -> None:
    try:
        os.fsync(f.fileno())
    except (OSError, ValueError):
        pass  # a file system without fsync, or a file closed under us: nothing to wait for
    finally:
        try:
            f.close()
        except OSError:
            pass


_SYNC = _Syncer()


def sync_later(f: Any) -> None:
    """Hand an open file, fully written, to the background thread: ``fsync``, then close."""
    _SYNC.put(f)


def wait_for_disk(timeout: float = 60.0) -> bool:
    """Block until every file the Recorders wrote is ``fsync``ed (interpreter exit waits here)."""
    return _SYNC.wait(timeout)


def _new_syncer_in_child() -> None:
    """A forked child starts with no syncer thread: its copy of the queue is let go of."""
    global _SYNC
    _SYNC = _Syncer()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_syncer_in_child)


def _replace_json(path: Path, obj: Any, keep: bool) -> Any:
    """Replace ``path`` by ``obj`` as JSON atomically: readers see the old file or the new one.

    As :func:`diagnose.readers.native.write_json_atomic` writes it, except for the
    ``fsync``: with ``keep`` the new file is returned open, for the caller to hand to
    :func:`sync_later` (after the rename); without, it is not fsynced at all (a version
    that a later one replaces: the Recorder's last ``run.json``, written at close, is the
    durable one, as the log is made durable then).
    """
    data = (json.dumps(jsonable(obj), indent=2, allow_nan=False) + "\n").encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=".run.", suffix=".tmp", dir=path.parent)
    f = os.fdopen(fd, "wb", buffering=0)
    try:
        view = memoryview(data)
        while view:
            view = view[f.write(view):]
        os.replace(tmp, path)
    except BaseException:
        f.close()
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if keep:
        return f
    f.close()
    return None
