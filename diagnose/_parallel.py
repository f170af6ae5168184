"""Per-run work anywhere: in this process, a process pool, or a Dask cluster.

The parent walks the inputs (cheap: names and a few stats) and hands out
*claims*, a path and the format that claimed it. A worker reads the claim,
analyses each run in it and sends back only what the report needs: the run
without its curves (:meth:`Run.without_metrics`), its findings and its summary.
Sending paths rather than tables keeps the traffic small and puts the reading,
most of the cost, in the workers too.

Paths given as URLs (``s3://bucket/sweep``, ``gs://``, ``file://``; anything
``fsspec`` knows) are listed in the parent with ``fsspec`` and each claimed
folder is copied by the worker to a temporary folder and read there. Over URLs
only native runs (folders with ``metrics.jsonl``) and TensorBoard runs (folders
with event files, split subfolders such as ``train/`` going with their parent)
are found; Hydra folders above a run are not looked for.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import ReadError
from .config import Config, ignored_for_run
from .findings import Finding
from .rules import Rule
from .run import Run

__all__ = ["Claim", "Outcome", "Results", "Task", "is_url", "iter_claims", "make_pool", "run_claims"]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def is_url(p: Any) -> bool:
    """True for ``scheme://...`` strings (read with fsspec), False for local paths."""
    return isinstance(p, str) and bool(_URL.match(p))


@dataclass(frozen=True)
class Claim:
    """One path a format claimed: a worker reads it into one or more runs."""

    path: str  # as walked (relative stays relative) or a URL
    fmt: str
    root: int  # index of the input it was found under


@dataclass
class Task:
    """What every worker needs besides its claims: small and picklable."""

    rules: list[Rule]
    params: dict[str, dict[str, Any]]
    config: Config
    metric: str
    mode: str
    live: bool = False
    #: (metric, mode) pairs summarised besides the selection metric (see experiments)
    extra: list[tuple[str, str]] = field(default_factory=list)
    keep_metrics: bool = False
    #: the parent's working directory: relative paths are opened against it elsewhere
    cwd: str = field(default_factory=os.getcwd)


@dataclass
class Outcome:
    """A claim's (or a given Run's) results: one entry per run, or the read error."""

    index: int
    #: (run, findings, summary, id the run had when analysed)
    runs: list[tuple[Run, list[Finding], dict[str, Any], str]] = field(default_factory=list)
    error: tuple[str, str, str | None] | None = None  # ReadError's (path, reason, where)

    def read_error(self) -> ReadError | None:
        return None if self.error is None else ReadError(*self.error)


# ---------------------------------------------------------------------------------------
# discovery in the parent
# ---------------------------------------------------------------------------------------
def iter_claims(paths: Sequence[str | os.PathLike]) -> Iterator[Claim | ReadError]:
    """Claims under every input and the inputs that cannot be read, in walk order.

    The same rules as :func:`diagnose.readers.discover`: the first format that
    detects a path claims it whole, and nothing under a claimed path is claimed
    again. A generator, so workers start on the first runs while the walk goes on.
    """
    from .readers import _walk

    claimed: set[str] = set()  # real paths claimed under earlier inputs
    for i, root in enumerate(paths):
        if is_url(root):
            try:
                found = _url_claims(str(root))
            except (ImportError, OSError, ValueError) as e:
                yield ReadError(root, f"cannot list: {_why(e)}")
                continue
            yield from (Claim(url, fmt, i) for url, fmt in found)
            continue
        root = Path(root)
        if not root.exists():
            yield ReadError(root, "no such file or directory")
            continue
        # the walk never follows a symbolic link, so a real path is the root's real path
        # plus the rest; and within one walk nothing is claimed twice (a claimed folder is
        # not walked into): only claims under earlier inputs need looking up
        real_root, n_root = os.path.realpath(root), len(str(root))
        mine: list[str] = []
        errs: list[ReadError] = []
        for path, (name, _mod) in _walk(root, errs):
            yield from errs
            errs.clear()
            shown = str(path)
            real = real_root + shown[n_root:] if shown.startswith(str(root)) else \
                os.path.realpath(path)
            if claimed and _under_any(real, claimed):
                continue
            mine.append(real)
            yield Claim(shown, name, i)
        yield from errs
        claimed.update(mine)


def _under_any(real: str, claimed: set[str]) -> bool:
    """``real`` or one of its parent folders is in ``claimed``."""
    p = real
    while True:
        if p in claimed:
            return True
        parent = os.path.dirname(p)
        if parent == p:
            return False
        p = parent


def _why(e: BaseException) -> str:
    if isinstance(e, ImportError):
        return f"reading URLs needs fsspec and the backend for this scheme ({e})"
    return getattr(e, "strerror", None) or str(e) or type(e).__name__


def _url_claims(url: str) -> list[tuple[str, str]]:
    """(folder URL, format) for every native or TensorBoard run under ``url``."""
    import fsspec

    from .readers.tensorboard import EVENT_PREFIX, SPLIT_DIRS

    fs, root = fsspec.core.url_to_fs(url)
    if not fs.exists(root):
        raise FileNotFoundError("no such file or directory")
    found: dict[str, str] = {}
    for f in sorted(fs.find(root)):
        folder, _, name = f.rstrip("/").rpartition("/")
        if name == "metrics.jsonl":
            found.setdefault(folder, "native")
        elif name.startswith(EVENT_PREFIX) and not name.endswith(".profile-empty"):
            up, _, last = folder.rpartition("/")
            found.setdefault(up if up and last.lower() in SPLIT_DIRS else folder, "tensorboard")
    out: list[tuple[str, str]] = []
    for folder in sorted(found):  # a folder under a claimed one belongs to it
        if out and (folder + "/").startswith(out[-1][0] + "/"):
            continue
        out.append((folder, found[folder]))
    return [(fs.unstrip_protocol(folder), fmt) for folder, fmt in out]


# ---------------------------------------------------------------------------------------
# the work itself (runs in the worker)
# ---------------------------------------------------------------------------------------
def read_claim(claim: Claim, task: Task) -> list[Run]:
    """The runs of one claim, read where this process can see them."""
    from .readers import FORMATS, _module, _read

    mod = _module(dict(FORMATS)[claim.fmt])
    aliases = task.config.metrics or None
    if is_url(claim.path):
        return _read_url(claim, mod, aliases)
    path = claim.path
    if not os.path.isabs(path) and os.getcwd() != task.cwd:
        # a worker elsewhere (a Dask cluster on a shared filesystem): open it from the
        # parent's folder, and name it as the parent does
        opened = os.path.join(task.cwd, path)
        runs = _read(Path(opened), claim.fmt, mod, aliases)
        _rename_paths(runs, opened, path)
        return runs
    return _read(Path(path), claim.fmt, mod, aliases)


def _read_url(claim: Claim, mod: Any, aliases: Mapping[str, str] | None) -> list[Run]:
    """Copy the claimed folder to a temporary one (same folder names), read it there."""
    import fsspec

    from .readers import _read

    fs, remote = fsspec.core.url_to_fs(claim.path)
    tmp = tempfile.mkdtemp(prefix="diagnose-")
    try:
        # mirror the remote folder names: ``lr=0.1/seed=2`` folders still give params
        parts = [p for p in remote.strip("/").split("/") if p and p not in (".", "..")]
        local = Path(tmp, *parts)
        local.parent.mkdir(parents=True, exist_ok=True)
        try:
            if fs.isdir(remote):
                local.mkdir()
                for f in fs.find(remote):
                    dest = local / f[len(remote.rstrip("/")) + 1:]
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    fs.get_file(f, str(dest))
            else:
                fs.get_file(remote, str(local))
        except OSError as e:
            raise ReadError(claim.path, f"cannot copy: {_why(e)}") from e
        try:
            runs = _read(local, claim.fmt, mod, aliases)
        except ReadError as e:
            raise ReadError(e.path.replace(str(local), claim.path), e.reason, e.where) from e
        _rename_paths(runs, str(local), claim.path)
        return runs
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _rename_paths(runs: list[Run], opened: str, shown: str) -> None:
    """Name runs (path, notes) by the path the user gave, not the one a worker opened."""
    for r in runs:
        if r.path and r.path.startswith(opened):
            r.path = shown + r.path[len(opened):].replace(os.sep, "/" if is_url(shown) else os.sep)
        r.warnings[:] = [w.replace(opened, shown) for w in r.warnings]


def analyse(run: Run, task: Task) -> tuple[Run, list[Finding], dict[str, Any], str]:
    """One run's findings and summary; the run comes back without curves unless kept."""
    from .engine import analyse_run

    rules = [r for r in task.rules if not ignored_for_run(r, run.path, run.id, task.config)]
    findings, summary = analyse_run(run, rules, task.params, task.metric, task.mode, task.live,
                                    extra=task.extra)
    return (run if task.keep_metrics else run.without_metrics()), findings, summary, run.id


def work_one(index: int, item: Claim | Run, task: Task) -> Outcome:
    """Read (a claim) and analyse: everything per-run, for one claim or one given Run."""
    if isinstance(item, Run):
        return Outcome(index, [analyse(item, task)])
    try:
        runs = read_claim(item, task)
        return Outcome(index, [analyse(r, task) for r in runs])
    except ReadError as e:
        return Outcome(index, error=(e.path, e.reason, e.where))
    except Exception as e:  # noqa: BLE001 - a bug of ours: name the input, exit 2, go on
        if os.environ.get("DIAGNOSE_DEBUG"):
            raise
        return Outcome(index, error=(item.path, internal_error(e), None))


def internal_error(e: BaseException) -> str:
    """One line for an unexpected exception: what it was, and what to do."""
    from ._escape import escape

    msg = escape(str(e))
    return (f"internal error ({type(e).__name__}: {msg[:200]}); please report it with this "
            "file (DIAGNOSE_DEBUG=1 shows the traceback)")


def work_chunk(items: list[tuple[int, Claim | Run]], task: Task) -> list[Outcome]:
    """A batch of claims for one worker call (fewer, larger messages than one per run)."""
    return [work_one(i, item, task) for i, item in items]


# ---------------------------------------------------------------------------------------
# driving an executor
# ---------------------------------------------------------------------------------------
def make_pool(jobs: int) -> Executor:
    """A process pool of ``jobs`` workers; forked on Linux (no re-import), else spawned."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    method = "fork" if sys.platform == "linux" and threading.active_count() == 1 else None
    ctx = multiprocessing.get_context(method) if method else None
    return ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_start)


def _worker_start() -> None:
    """A pool worker will analyse many runs: load what repays itself over many at once."""
    from .features import expect_many_medians

    expect_many_medians()


def as_executor(executor: Any) -> tuple[Executor, int]:
    """Any ``concurrent.futures.Executor`` or a ``distributed.Client``, and its worker count."""
    if not isinstance(executor, Executor) and hasattr(executor, "get_executor"):
        try:
            n = sum(executor.nthreads().values())
        except Exception:  # noqa: BLE001 - a client that cannot say: assume a few
            n = 4
        return executor.get_executor(pure=False), max(1, n)
    n = getattr(executor, "_max_workers", None) or os.cpu_count() or 1
    return executor, int(n)


@dataclass
class Results:
    """What the per-run work produced, in input order."""

    outcomes: list[Outcome] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    #: unreadable inputs found by the walk, each with the number of items before it
    walk_errors: list[tuple[int, ReadError]] = field(default_factory=list)


def run_claims(items: Iterable[Claim | Run | ReadError], task: Task, executor: Any = None,
               progress: Any = None) -> Results:
    """Every item's outcome, in the items' order, however the work was spread.

    ``items`` may be a generator (the walk): work is handed out as it is found, in
    batches that start small (workers get going at once) and grow (fewer messages).
    ``progress`` (see :class:`diagnose.engine.Progress`) hears about items found and done.
    """
    res = Results()
    if executor is None:
        for item in _numbered(items, res, progress):
            o = work_one(*item, task)
            res.outcomes.append(o)
            if progress is not None:
                progress.advance(1, len(o.runs))
        return res
    ex, workers = as_executor(executor)
    pending: dict[Future, int] = {}

    def collect(block: bool) -> None:
        if not pending:
            return
        done, _ = wait(list(pending), timeout=None if block else 0,
                       return_when=FIRST_COMPLETED)
        for fut in done:
            got = fut.result()
            res.outcomes.extend(got)
            n = pending.pop(fut)
            if progress is not None:
                progress.advance(n, sum(len(o.runs) for o in got))

    try:
        chunk: list[tuple[int, Claim | Run]] = []
        size = 2
        for item in _numbered(items, res, progress):
            chunk.append(item)
            if len(chunk) >= size:
                pending[ex.submit(work_chunk, chunk, task)] = len(chunk)
                chunk = []
                size = min(size * 2, MAX_BATCH)
                collect(block=len(pending) > 4 * workers)  # keep the queue short
        if chunk:
            pending[ex.submit(work_chunk, chunk, task)] = len(chunk)
        while pending:
            collect(block=True)
    finally:
        for fut in pending:
            fut.cancel()
    res.outcomes.sort(key=lambda o: o.index)
    return res


#: Most claims sent to a worker in one message.
MAX_BATCH = 64


def _numbered(items: Iterable[Claim | Run | ReadError], res: Results, progress: Any
              ) -> Iterator[tuple[int, Claim | Run]]:
    """(index, item) for the work; walk errors and claims recorded on the way."""
    n = 0
    for item in items:
        if isinstance(item, ReadError):
            res.walk_errors.append((n, item))
            continue
        if isinstance(item, Claim):
            res.claims.append(item)
        if progress is not None:
            progress.found(1)
        yield n, item
        n += 1
    if progress is not None:
        progress.walked()


def unique_ids(runs: Iterable[Run], root: str | os.PathLike, taken: set[str]) -> None:
    """Runs under one input that share an id get their path below it as id (as discovery does)."""
    from .readers import _unique_ids

    runs = list(runs)
    if not is_url(root):
        _unique_ids(runs, Path(root), taken)
        return
    count: dict[str, int] = {}
    for r in runs:
        count[r.id] = count.get(r.id, 0) + 1
    base = str(root).rstrip("/")
    for r in runs:
        if count[r.id] == 1 and r.id not in taken or not r.path:
            continue
        rel = r.path[len(base) + 1:] if r.path.startswith(base + "/") else r.path
        r.id = rel if rel.endswith(r.id) else f"{rel}/{r.id}"
