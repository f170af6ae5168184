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
import re
import shutil
import sqlite3
import stat
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from .._errors import ReadError
from ..run import Run
from ._frame import percent_note
from ._notes import SIGNED_NOTE, drop_placeholder_losses, run_notes
from ._params import CONFIG_FIELDS, with_extra_params
from ._safe_open import not_regular_reason
from .tensorboard import EVENT_PREFIX, is_event_file, split_folder

__all__ = [
    "FORMATS",
    "SIGNED_NOTE",
    "Claim",
    "Discovery",
    "discover",
    "is_ignored_file",
    "is_url",
    "iter_claims",
    "load",
    "load_all",
    "read_claim",
    "unique_ids",
]

#: (format name, module) — most specific first. Modules are imported lazily.
#: The generic CSV/JSONL reader comes late: it claims any table with a step column; the
#: free-text reader after it takes only the ``.log``/``.txt`` files no table reader claims.
FORMATS: list[tuple[str, str]] = [
    ("native", "diagnose.readers.native"),
    ("lightning", "diagnose.readers.lightning_csv"),
    ("hf", "diagnose.readers.hf"),
    ("mlflow", "diagnose.readers.mlflow"),
    ("wandb", "diagnose.readers.wandb"),
    ("mmengine", "diagnose.readers.mmengine"),
    ("mmcv", "diagnose.readers.mmcv"),
    ("tensorboard", "diagnose.readers.tensorboard"),
    ("yolo", "diagnose.readers.yolo"),
    ("sacred", "diagnose.readers.sacred"),
    ("dvclive", "diagnose.readers.dvclive"),
    ("keras", "diagnose.readers.keras_json"),
    ("csv", "diagnose.readers.csv_generic"),
    ("textlog", "diagnose.readers.textlog"),
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
    ".mp4", ".wav", ".zip", ".tar", ".gz", ".whl", ".so", ".pyc", ".py", ".ipynb",
)  # not ``.md``: people paste console logs into markdown; the text reader asks more of one
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
    try:
        runs = mod.read(path, aliases)
    except ReadError:
        raise
    except _READ_ERRORS as e:
        raise ReadError(path, f"{name} reader failed: {type(e).__name__}: {e}") from e
    for r in runs:
        if r.format == "unknown":
            r.format = name
        where = Path(r.path) if r.path else path
        r.params, notes, fields = with_extra_params(r.params, where)
        if fields:
            r.identity.setdefault(CONFIG_FIELDS, fields)
        r.warnings.extend(notes)
        r.warnings.extend(percent_note(r, str(where)))
        r.warnings.extend(drop_placeholder_losses(r, where))
        r.warnings.extend(run_notes(r, where, aliases))
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
    roots = list(paths)
    by_root: list[list[Run]] = [[] for _ in roots]
    for claim in iter_claims(roots):
        if isinstance(claim, ReadError):
            out.errors.append(claim)
            continue
        try:
            runs = read_claim(claim, aliases)
        except ReadError as e:
            out.errors.append(e)
            continue
        for r in runs:
            out.runs.append(r)
            by_root[claim.root].append(r)
            if on_run:
                on_run(r)
    taken: set[str] = set()
    for root, runs in zip(roots, by_root):
        unique_ids(runs, root, set(taken))
        taken.update(r.id for r in runs)
    out.notes.extend(str(e) for e in out.errors if isinstance(e, Skipped))
    out.errors = [e for e in out.errors if not isinstance(e, Skipped)]
    return out


def skipped_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files a walk of ``paths`` looked at and left unread: no format knows them
    (``--verbose`` lists them; names that are never logs, like ``*.pt``, are not counted)."""
    out: list[Path] = []
    for root in paths:
        if "://" not in str(root) and Path(root).exists():
            for _ in _walk(Path(root), [], skipped=out):
                pass
    return out


def why_unread(path: Path) -> str:
    """Why no format read ``path`` (a file :func:`skipped_files` listed), for the message
    that says nothing was read: a text log's reader says what it looked for."""
    try:  # the formats whose files may or may not be logs say what they looked for
        return (_module("diagnose.readers.textlog").why_unread(path)
                or _module("diagnose.readers.csv_generic").why_unread(path)
                or "not a log format diagnose reads")
    except OSError as e:
        return f"cannot read: {e.strerror or e}"


def _walk(root: Path, errors: list[ReadError], skipped: list[Path] | None = None
          ) -> Iterator[tuple[Path, tuple[str, ModuleType]]]:
    """Claimed paths under ``root`` (``root`` itself when a format claims it), top-down.

    ``skipped`` collects the files no format claimed.
    """

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
        if not _walks_on(h[0], root):
            return
    if not stat.S_ISDIR(mode):
        if skipped is not None and h is None:
            skipped.append(root)
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

    todo: list[tuple[Path, Listing | OSError, bool]] = [(root, listing(root), h is not None)]
    while todo:
        here, listed, claimed = todo.pop()
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
            if claimed and not is_dir:
                continue  # read with the run of ``here``
            p = here / name
            inside = listing(p) if is_dir else None
            if claimed and (isinstance(inside, OSError) or _has_events(inside)):
                continue  # the TensorBoard reader of ``here`` reads folders of event files
            # a folder that cannot be listed: every format looks for itself
            names = None if inside is None or isinstance(inside, OSError) else \
                {n for n, _, _ in inside}
            h = hit(p, names)
            if h is not None:
                yield p, h
                if is_dir and _walks_on(h[0], p):
                    below.append((p, inside, True))
            elif is_dir:
                below.append((p, inside, False))
            elif skipped is not None:
                skipped.append(p)
        todo.extend(reversed(below))  # depth first, in name order, as os.walk went


def _walks_on(fmt: str, path: Path) -> bool:
    """A TensorBoard folder is one run of its own event files and split folders; other
    folders inside it (``good2/r1/metrics.csv`` beside ``good2/events...``) are runs too."""
    return fmt == "tensorboard" and path.is_dir()


def _has_events(listed: list[tuple[str, bool, bool]] | None) -> bool:
    return any(is_event_file(Path(n)) for n, is_dir, _ in listed or () if not is_dir)


def _unique_ids(runs: list[Run], root: Path, taken: set[str]) -> None:
    """Runs that share an id get their path under ``root`` as id instead."""
    count: dict[str, int] = {}
    for r in runs:
        count[r.id] = count.get(r.id, 0) + 1
    for r in runs:
        if count[r.id] == 1 and r.id not in taken or not r.path:
            continue
        r.id = _qualified_id(r, root, taken)


def _qualified_id(run: Run, root: Path, taken: set[str]) -> str:
    """The run's path below ``root`` as its id; when that says nothing (the run is the
    input itself) or is taken, below ``root``'s parent, and so on up (``lr=0.01/seed=1``)."""
    p = Path(run.path).resolve()  # type: ignore[arg-type]
    if p.is_file() and run.id == p.parent.name:
        p = p.parent  # the id came from the folder: the folder is what to qualify
    base = (root if root.is_dir() else root.parent).resolve()
    for _ in range(16):
        try:
            rel = p.relative_to(base).as_posix()
        except ValueError:
            break
        cand = rel if rel.endswith(run.id) else f"{rel}/{run.id}"
        if rel != "." and cand not in taken:
            return cand
        if base.parent == base:
            break
        base = base.parent
    return run.path if run.path.endswith(run.id) else f"{run.path}/{run.id}"  # type: ignore[union-attr]


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


# ---------------------------------------------------------------------------------------
# claims: what the pool and Dask hand out (discovery reads them in this process)
# ---------------------------------------------------------------------------------------
def iter_claims(paths: Sequence[str | os.PathLike]) -> Iterator[Claim | ReadError]:
    """Claims under every input and the inputs that cannot be read, in walk order.

    The same rules as :func:`diagnose.readers.discover`: the first format that
    detects a path claims it whole, and nothing under a claimed path is claimed
    again. A generator, so workers start on the first runs while the walk goes on.
    """
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
            found.setdefault(up if up and split_folder(last) else folder, "tensorboard")
    out: list[tuple[str, str]] = []
    for folder in sorted(found):  # a folder under a claimed one belongs to it
        if out and (folder + "/").startswith(out[-1][0] + "/"):
            continue
        out.append((folder, found[folder]))
    return [(fs.unstrip_protocol(folder), fmt) for folder, fmt in out]


def read_claim(claim: Claim, aliases: Mapping[str, str] | None = None,
               cwd: str | None = None) -> list[Run]:
    """The runs of one claim, read where this process can see them.

    ``cwd``: the folder relative claims were walked from (a worker elsewhere opens them there).
    """
    mod = _module(dict(FORMATS)[claim.fmt])
    if is_url(claim.path):
        return _read_url(claim, mod, aliases)
    path = claim.path
    if not os.path.isabs(path) and cwd is not None and os.getcwd() != cwd:
        # a worker elsewhere (a Dask cluster on a shared filesystem): open it from the
        # parent's folder, and name it as the parent does
        opened = os.path.join(cwd, path)
        runs = _read(Path(opened), claim.fmt, mod, aliases)
        _rename_paths(runs, opened, path)
        return runs
    return _read(Path(path), claim.fmt, mod, aliases)


def _read_url(claim: Claim, mod: Any, aliases: Mapping[str, str] | None) -> list[Run]:
    """Copy the claimed folder to a temporary one (same folder names), read it there."""
    import fsspec

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


def unique_ids(runs: Iterable[Run], root: str | os.PathLike | None = None,
               taken: set[str] | None = None) -> None:
    """Make run ids unique, in place.

    Under one input ``root``: runs that share an id (or take one in ``taken``) get their
    path below the root as id. Without a root (runs from several inputs): a repeated
    id becomes the run's path, or gets ``#n``.
    """
    runs = list(runs)
    if root is None:
        _unique_ids_across(runs)
        return
    taken = set() if taken is None else taken
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


def _unique_ids_across(runs: list[Run]) -> None:
    """Make run ids unique (two runs named 'version_0' in different folders)."""
    seen: dict[str, int] = {}
    for r in runs:
        if r.id in seen:
            seen[r.id] += 1
            r.id = r.path or f"{r.id}#{seen[r.id]}"
            if r.id in seen:
                r.id = f"{r.id}#{seen[r.id]}"
        seen.setdefault(r.id, 0)
