"""Reading runs from disk: one module per on-disk format, and discovery.

A format module exposes ``detect(path) -> bool`` (does this file or directory hold
a run of mine?) and ``read(path, aliases) -> list[Run]``. ``FORMATS`` lists them
most specific first; the first that detects a path claims it.

Discovery walks a folder top-down. A folder or file some format detects is claimed
whole and not walked into, so a run is read once: a Lightning ``version_N`` folder
with its ``checkpoints/``, a Trainer output folder with its ``checkpoint-*/`` copies
of the state, an ``mlruns`` store with the TensorBoard files among its artifacts.
Things that are never logs (checkpoints, profiler dumps, images, hidden folders)
are not even opened.
"""

from __future__ import annotations

import importlib
import os
import sqlite3
import stat
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from .._errors import ReadError
from ..run import Run
from ._safe_open import not_regular_reason

__all__ = ["FORMATS", "Discovery", "discover", "is_ignored_file", "load", "load_all"]

#: (format name, module) — most specific first. Modules are imported lazily.
#: The generic CSV/JSONL reader stays last: it claims any table with a step column.
FORMATS: list[tuple[str, str]] = [
    ("native", "diagnose.readers.native"),
    ("lightning", "diagnose.readers.lightning_csv"),
    ("hf", "diagnose.readers.hf"),
    ("mlflow", "diagnose.readers.mlflow"),
    ("wandb", "diagnose.readers.wandb"),
    ("tensorboard", "diagnose.readers.tensorboard"),
    ("csv", "diagnose.readers.csv_generic"),
]

#: Directory names never worth walking into (hidden folders are skipped too). Not
#: ``checkpoints``: a Trainer's ``output_dir`` is often called that.
SKIP_DIRS = {"__pycache__", "node_modules", "venv", "site-packages"}
#: File endings that are never training logs: weights, checkpoints, profiler dumps, media.
IGNORED_SUFFIXES = (
    ".ckpt", ".pt", ".pth", ".bin", ".safetensors", ".h5", ".hdf5", ".keras", ".onnx",
    ".npz", ".npy", ".pkl", ".pickle", ".joblib", ".msgpack", ".pb", ".index",
    ".profile-empty", ".trace.json", ".trace.json.gz", ".xplane.pb",
    ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".bmp", ".tif", ".tiff", ".pdf",
    ".mp4", ".wav", ".zip", ".tar", ".gz", ".whl", ".so", ".pyc", ".py", ".md", ".ipynb",
)
#: Exceptions a reader may let through on bad input; turned into ReadError naming the path.
_READ_ERRORS = (OSError, ValueError, KeyError, IndexError, TypeError, RecursionError,
                ArithmeticError, AttributeError, UnicodeError, sqlite3.Error)


class Skipped(ReadError):
    """Not an error: something a walk passed over (a FIFO, a device), said in a note."""

    skipped = True


def is_ignored_file(name: str) -> bool:
    """True for files that are never logs (by name), so discovery does not open them."""
    low = name.lower()
    return low.startswith(".") or low.endswith(IGNORED_SUFFIXES)


def _skip_dir(name: str) -> bool:
    return name.startswith(".") or name in SKIP_DIRS


def _module(modname: str) -> ModuleType:
    mod = _MODULES.get(modname)
    if mod is None:
        mod = _MODULES[modname] = importlib.import_module(modname)
    return mod


def _detector(path: Path, names: Collection[str] | None = None
              ) -> tuple[str, ModuleType] | None:
    """The first format that claims ``path``. OSError propagates: the caller reports it.

    ``names``: the folder's listing, when the caller has it. A format whose
    ``could_hold(names)`` says no is not asked (most folders a walk meets hold no run,
    and asking every format costs a dozen system calls).
    """
    for name, modname in FORMATS:
        mod = _module(modname)
        if names is not None:
            could = getattr(mod, "could_hold", None)
            if could is not None and not could(names):
                continue
        if mod.detect(path):
            return name, mod
    return None


#: Reader modules by name once imported (a walk asks every detector about every folder).
_MODULES: dict[str, ModuleType] = {}


def _read(path: Path, name: str, mod: ModuleType, aliases: Mapping[str, str] | None
          ) -> list[Run]:
    """One claimed path's runs, with params from Hydra and ``key=value`` folders filled in."""
    from ._notes import run_notes
    from ._params import with_extra_params

    try:
        runs = mod.read(path, aliases)
    except ReadError:
        raise
    except _READ_ERRORS as e:
        raise ReadError(path, f"{name} reader failed: {type(e).__name__}: {e}") from e
    for r in runs:
        if r.format == "unknown":
            r.format = name
        r.params, notes = with_extra_params(r.params, Path(r.path) if r.path else path)
        r.warnings.extend(notes)
        r.warnings.extend(run_notes(r, Path(r.path) if r.path else path, aliases))
    return runs


def load_all(path: str | os.PathLike, aliases: Mapping[str, str] | None = None) -> list[Run]:
    """Every run held by one path (a run directory, a log file, or a store of several).

    Raises :class:`ReadError` for the first unreadable log, or when there is none.
    """
    p = Path(path)
    if not p.exists():
        raise ReadError(p, "no such file or directory")
    found = discover([p], aliases=aliases)
    if found.errors:
        raise found.errors[0]
    if not found.runs:
        raise ReadError(p, "no training log found here (see `diagnose formats`)")
    return found.runs


def load(path: str | os.PathLike, aliases: Mapping[str, str] | None = None) -> Run:
    """Read one run. Raises :class:`ReadError` naming the file and place on bad input."""
    runs = load_all(path, aliases)
    if len(runs) != 1:
        ids = ", ".join(r.id for r in runs[:5])
        raise ReadError(path, f"holds {len(runs)} runs ({ids}...); use diagnose.load_all()")
    return runs[0]


@dataclass
class Discovery:
    """What a walk found: runs read, and every path that could not be read, with why."""

    runs: list[Run] = field(default_factory=list)
    errors: list[ReadError] = field(default_factory=list)
    #: things passed over, with why (a FIFO or device named like a log)
    notes: list[str] = field(default_factory=list)


def discover(
    paths: Iterable[str | os.PathLike],
    aliases: Mapping[str, str] | None = None,
    on_run: Callable[[Run], None] | None = None,
) -> Discovery:
    """Walk each path; each run is claimed by the first format that detects it, once.

    A claimed directory is not walked further, and a path under one already claimed
    (overlapping arguments) is not read again, so one run is never counted twice.
    Unreadable runs are collected, not raised: the caller decides the exit code.
    """
    out = Discovery()
    claimed: set[Path] = set()
    for root in paths:
        root = Path(root)
        if not root.exists():
            out.errors.append(ReadError(root, "no such file or directory"))
            continue
        first = len(out.runs)
        for path, hit in _walk(root, out.errors):
            real = path.resolve()
            if real in claimed or any(a in claimed for a in real.parents):
                continue
            claimed.add(real)
            try:
                runs = _read(path, *hit, aliases)
            except ReadError as e:
                out.errors.append(e)
                continue
            for r in runs:
                out.runs.append(r)
                if on_run:
                    on_run(r)
        _unique_ids(out.runs[first:], root, {r.id for r in out.runs[:first]})
    out.notes.extend(str(e) for e in out.errors if isinstance(e, Skipped))
    out.errors = [e for e in out.errors if not isinstance(e, Skipped)]
    return out


def _walk(root: Path, errors: list[ReadError]) -> Iterator[tuple[Path, tuple[str, ModuleType]]]:
    """Claimed paths under ``root`` (``root`` itself when a format claims it), top-down."""

    def hit(p: Path, names: Collection[str] | None = None) -> tuple[str, ModuleType] | None:
        try:
            return _detector(p, names)
        except OSError as e:
            errors.append(ReadError(p, f"cannot inspect: {e.strerror or e}"))
            return None

    try:
        mode = root.stat().st_mode
    except OSError as e:
        errors.append(ReadError(root, f"cannot inspect: {e.strerror or e}"))
        return
    if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):  # a FIFO would block the detectors
        errors.append(ReadError(root, not_regular_reason(mode)))
        return
    h = hit(root)
    if h is not None:
        yield root, h
        return
    if not stat.S_ISDIR(mode):
        return

    # top-down, folders before files, each sorted; links are never followed; a claimed
    # folder is not walked into. Each folder is listed once (os.scandir tells dirs, files
    # and links apart without a stat per entry): the listing first tells the formats what
    # the folder holds, then is walked.
    Listing = list[tuple[str, bool, bool]]  # (name, is a folder, is a link or not a file)

    def listing(d: Path) -> Listing | OSError:
        try:
            with os.scandir(d) as it:
                return [(e.name, e.is_dir(follow_symlinks=False), e.is_symlink()
                         or not (e.is_dir(follow_symlinks=False) or _is_file(e))) for e in it]
        except OSError as e:
            return e

    def _is_file(e: os.DirEntry) -> bool:
        if e.is_file(follow_symlinks=False):
            return True
        if not is_ignored_file(e.name):  # a FIFO, socket or device: never opened
            try:
                why = not_regular_reason(e.stat(follow_symlinks=False).st_mode)
            except OSError as err:
                why = f"cannot inspect: {err.strerror or err}"
            errors.append(Skipped(e.path, why))
        return False

    todo: list[tuple[Path, Listing | OSError]] = [(root, listing(root))]
    while todo:
        here, listed = todo.pop()
        if isinstance(listed, OSError):
            errors.append(ReadError(listed.filename or here,
                                    f"cannot list: {listed.strerror or listed}"))
            continue
        entries = sorted(((name, is_dir) for name, is_dir, link in listed if not link),
                         key=lambda ne: (not ne[1], ne[0]))
        below = []
        for name, is_dir in entries:
            if _skip_dir(name) if is_dir else is_ignored_file(name):
                continue
            p = here / name
            inside = listing(p) if is_dir else None
            # a folder that cannot be listed: every format looks for itself
            names = None if inside is None or isinstance(inside, OSError) else \
                {n for n, _, _ in inside}
            h = hit(p, names)
            if h is not None:
                yield p, h
            elif is_dir:
                below.append((p, inside))
        todo.extend(reversed(below))  # depth first, in name order, as os.walk went


def _unique_ids(runs: list[Run], root: Path, taken: set[str]) -> None:
    """Runs that share an id get their path under ``root`` as id instead."""
    count: dict[str, int] = {}
    for r in runs:
        count[r.id] = count.get(r.id, 0) + 1
    for r in runs:
        if count[r.id] == 1 and r.id not in taken or not r.path:
            continue
        base = root if root.is_dir() else root.parent
        try:
            rel = Path(r.path).resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            rel = r.path
        r.id = rel if rel.endswith(r.id) else f"{rel}/{r.id}"
