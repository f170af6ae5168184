"""Reading runs from disk: one module per on-disk format, and discovery.

A format module exposes ``detect(path) -> bool`` (does this file or directory hold
a run of mine?) and ``read(path, aliases) -> list[Run]``. ``FORMATS`` lists them
most specific first; the first that detects a path claims it.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

from .._errors import ReadError
from ..run import Run

__all__ = ["FORMATS", "Discovery", "discover", "load", "load_all"]

#: (format name, module) — most specific first. Modules are imported lazily.
FORMATS: list[tuple[str, str]] = [
    ("native", "diagnose.readers.native"),
]

#: Directory names never worth walking into.
SKIP_DIRS = {".git", "__pycache__", ".ipynb_checkpoints", "node_modules", ".venv", ".hydra"}


def _module(modname: str):
    return importlib.import_module(modname)


def _detector(path: Path) -> tuple[str, object] | None:
    for name, modname in FORMATS:
        mod = _module(modname)
        try:
            if mod.detect(path):
                return name, mod
        except OSError:
            continue
    return None


def load_all(path: str | os.PathLike, aliases: Mapping[str, str] | None = None) -> list[Run]:
    """Every run held by one path (a run directory, a log file, or a store of several)."""
    p = Path(path)
    if not p.exists():
        raise ReadError(p, "no such file or directory")
    hit = _detector(p)
    if hit is None:
        found = discover([p], aliases=aliases)
        if found.errors:
            raise found.errors[0]
        if not found.runs:
            raise ReadError(p, "no training log found here (see `diagnose formats`)")
        return found.runs
    name, mod = hit
    runs = mod.read(p, aliases)
    for r in runs:
        r.format = r.format if r.format != "unknown" else name
    return runs


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


def discover(
    paths: Iterable[str | os.PathLike],
    aliases: Mapping[str, str] | None = None,
    on_run: Callable[[Run], None] | None = None,
) -> Discovery:
    """Walk each path; each run is claimed by the first format that detects it, once.

    A claimed directory is not walked further, so one run is never counted twice.
    Unreadable runs are collected, not raised: the caller decides the exit code.
    """
    out = Discovery()
    for root in paths:
        root = Path(root)
        if not root.exists():
            out.errors.append(ReadError(root, "no such file or directory"))
            continue
        for claimed in _walk(root):
            try:
                runs = load_all(claimed, aliases)
            except ReadError as e:
                out.errors.append(e)
                continue
            except (OSError, ValueError, UnicodeDecodeError) as e:
                out.errors.append(ReadError(claimed, f"{type(e).__name__}: {e}"))
                continue
            for r in runs:
                out.runs.append(r)
                if on_run:
                    on_run(r)
    return out


def _walk(root: Path) -> Iterable[Path]:
    if _detector(root) is not None:
        yield root
        return
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        here = Path(dirpath)
        if here != root and _detector(here) is not None:
            yield here
            dirnames[:] = []
            continue
        for fn in sorted(filenames):
            f = here / fn
            if _detector(f) is not None and _detector(here) is None:
                yield f
