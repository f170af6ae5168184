"""TensorBoard event files (``events.out.tfevents.*``), read without tensorboard.

An event file is TFRecord framing (u64 length, masked CRC32C of the length, data,
masked CRC32C of the data) around ``Event`` protobufs. It is read a window at a
time, everything in bulk with numpy: the framing (``_tb_frame``), the checksums and
the decoding (``_tb_scalars`` for the common ``add_scalar`` layout, ``_tb_decode``
for ``Event -> Summary -> Value -> TensorProto`` in general). Every scalar is kept
(no sampling), whether written as ``simple_value`` or as a one-element
float16/32/64 tensor, as compact columns from the start.

A run directory holds event files directly (Lightning, SummaryWriter; several files
are restarts and merge by step, the later wall time winning) and/or in immediate
subfolders: Keras writes ``train/`` and ``validation/`` (the folder is the split),
``add_scalars("Loss", {"train": ...})`` writes ``Loss_train/`` holding tag ``Loss``.
An Ultralytics / YOLOv5 run logs only the parts of its loss (``train/box_loss``, ...
beside ``metrics/...``): their sum is added as ``train/loss`` / ``val/loss``, and
``metrics/mAP50(B)`` is named ``val/mAP50``, as the ``results.csv`` reader does.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection, Mapping

import numpy as np

from .._errors import ReadError
from ..run import Run, tidy_metrics
from ._common import dedupe_steps, numbered_in_order
from ._frame import _needs_dedupe, on_train_steps, rename_map, with_detector_totals
from ._params import read_yaml_params
from ._safe_open import open_regular
from ._tb_decode import EventScalars
from ._tb_frame import Source, windows
from ._tb_scalars import Chunk, Seen, read_window

__all__ = ["SPLIT_DIRS", "EventScalars", "detect", "is_event_file", "read", "read_event_file",
           "split_folder"]

EVENT_PREFIX = "events.out.tfevents."
#: Subfolder names that name a split (Keras writes ``train/`` and ``validation/``).
SPLIT_DIRS = frozenset(
    {"train", "training", "validation", "val", "valid", "eval", "evaluation", "test", "dev"}
)
#: A split folder named with a word for event files around the split (TF 1 templates write
#: ``train_summaries/`` and ``eval_summaries/``; others ``tb_val/``, ``val_logs/``).
_SPLIT_WRAPPED = re.compile(
    r"^(?:(?:tb|logs?|summary|summaries|events)[_-])?(?P<split>[a-z]+)"
    r"(?:[_-](?:tb|logs?|summary|summaries|events))?$", re.IGNORECASE)


def split_folder(name: str) -> str | None:
    """The split a folder of event files stands for (``eval_summaries`` -> ``eval``), as
    written, or None when the folder is no split (another run, an ``add_scalars`` child)."""
    m = _SPLIT_WRAPPED.match(name)
    return m.group("split") if m and m.group("split").lower() in SPLIT_DIRS else None


def is_event_file(p: Path) -> bool:
    """An event file name (profiler placeholders ``*.profile-empty`` are not logs)."""
    return p.name.startswith(EVENT_PREFIX) and not p.name.endswith(".profile-empty")


def _event_files(d: Path) -> list[Path]:
    try:
        return sorted(c for c in d.iterdir() if is_event_file(c) and c.is_file())
    except OSError:
        return []


def _subdirs_with_events(d: Path) -> list[Path]:
    try:
        subs = sorted(c for c in d.iterdir() if c.is_dir())
    except OSError:
        return []
    return [s for s in subs if _event_files(s)]


def could_hold(names: Collection[str]) -> bool:
    """Whether a folder listing these names can be a run (cheap, never wrong when False)."""
    return any(n.startswith(EVENT_PREFIX) or split_folder(n) for n in names)


def detect(path: Path) -> bool:
    """An event file, or a folder with event files in it or in split subfolders."""
    path = path if isinstance(path, Path) else Path(path)
    if path.is_file():
        return is_event_file(path)
    if not path.is_dir():
        return False
    if _event_files(path):
        return True
    try:  # only split folders count: list those, not every subfolder
        subs = sorted(c for c in path.iterdir() if split_folder(c.name) and c.is_dir())
    except OSError:
        return False
    return any(_event_files(s) for s in subs)


# -- one event file ----------------------------------------------------------------------




def read_event_file(path: Path) -> EventScalars:
    """Every scalar in one event file. Raises ReadError naming file and byte offset.

    The file is read a window at a time (see ``_tb_frame``): every length and data CRC
    is checked, and a damaged record is reported where the whole-file reading would
    (a corrupt length first, then a lying tail, then a bad data CRC, then a malformed
    Event), however far apart they are.
    """
    path = Path(path)
    seen = Seen()
    chunks: list[Chunk] = []
    hparams: dict[str, Any] = {}
    bad_hparams = 0
    crc_bad = malformed = None
    try:
        with open_regular(path) as f:  # never a FIFO; at most the read cap
            src = Source(path, f)
            for w in windows(src):  # corrupt lengths are raised here, at once
                if crc_bad is not None:
                    continue  # only lengths are still checked: they come first
                got = read_window(w, seen, decode_too=malformed is None)
                crc_bad = got.crc_bad_at
                malformed = malformed if malformed is not None else got.malformed_at
                if got.chunk is not None:
                    chunks.append(got.chunk)
                    hparams.update(got.hparams)
                    bad_hparams += got.bad_hparams
            torn, size = src.torn, src.size
    except OSError as e:
        raise ReadError(path, f"cannot read: {e.strerror or e}") from e
    if crc_bad is not None:
        raise ReadError(path, "corrupt record data (CRC mismatch)", f"byte {crc_bad}")
    if malformed is not None:
        raise ReadError(path, "malformed Event record", f"byte {malformed}")
    cols = [np.concatenate(c) if len(c) != 1 else c[0] for c in zip(*(
        (c.step, c.wall_time, c.value, c.tag) for c in chunks))] if chunks else [
        np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0, np.int32)]
    out = EventScalars(*cols, seen.names, hparams)
    if bad_hparams:
        out.notes.append(f"{path}: {bad_hparams} hparams record(s) could not be decoded; their "
                         "hyperparameters are missing from the run's params")
    if torn is not None:
        out.torn = True
        out.notes.append(
            f"{path}: torn last record at byte {torn} skipped (the writer was still writing?)"
        )
    if size == 0:
        out.notes.append(f"{path}: empty file (0 bytes); the writer had not started")
    return out


# -- runs --------------------------------------------------------------------------------


@dataclass
class _Source:
    """One event file and how its tags become metric names."""

    file: Path
    folder: str | None  # subfolder name, None for files directly in the run dir


def _metric_name(tag: str, folder: str | None, scope: str = "", retag: bool = True) -> str:
    """``tag`` as a metric name: after its split folder, without the run's own name in front
    (``<run>/train_loss`` in ``<run>/train/``: TF's ``tf.name_scope(run_name)``). With
    ``retag``, a tag that names a split itself in a split folder (``test_loss`` in ``val/``)
    takes the folder's split, which is the writer's: ``val/loss``."""
    if scope and tag.startswith(f"{scope}/") and _scoped(tag[len(scope) + 1:]):
        tag = tag[len(scope) + 1:]
    if folder is None:
        return tag
    prefix = tag.replace("/", "_") + "_"
    if folder.startswith(prefix) and len(folder) > len(prefix):
        return f"{tag}/{folder[len(prefix):]}"  # add_scalars: <main>_<key>/ holds <main>
    if retag and folder.lower() in SPLIT_DIRS:
        m = _OWN_SPLIT.match(tag)
        if m and m.group(1).lower() in SPLIT_DIRS:
            return f"{folder}/{tag[m.end():]}"
    return f"{folder}/{tag}"  # Keras: train/epoch_loss


def _scoped(rest: str) -> bool:
    """What follows the run's name in a tag is a metric of its own, not a split of a metric
    the run's folder is named after (a run in ``loss/`` logging ``loss/train``, ``loss/val``)."""
    return bool(rest) and rest.lower() not in SPLIT_DIRS


#: a tag's first word and the separator after it (``train_accuracy``, ``test/loss``)
_OWN_SPLIT = re.compile(r"([A-Za-z]+)[_/\-.](?=.)")


def _is_add_scalars_dir(folder: str, tags: list[str]) -> bool:
    return bool(tags) and all(
        folder.startswith(t.replace("/", "_") + "_") and len(folder) > len(t) + 1 for t in tags
    )


def read(path: Path, aliases: Mapping[str, str] | None = None) -> list[Run]:
    """Read a run directory (or one event file) into Runs.

    Subfolders that are neither a split (``train/``) nor an ``add_scalars`` child
    are runs of their own and come back as further Runs.
    """
    path = Path(path)
    if path.is_file():
        folder = split_folder(path.parent.name)
        return [_build(path.parent, path, [(_Source(path, folder), read_event_file(path))],
                       aliases)]
    if not path.is_dir():
        raise ReadError(path, "no such file or directory")
    parts = [(_Source(f, None), read_event_file(f)) for f in _event_files(path)]
    others: list[Run] = []
    for sub in _subdirs_with_events(path):
        split = split_folder(sub.name)
        got = [(_Source(f, split or sub.name), read_event_file(f)) for f in _event_files(sub)]
        tags = sorted({t for _, s in got for t in s.tags})
        if split or _is_add_scalars_dir(sub.name, tags):
            parts.extend(got)
        else:
            others.append(_build(sub, sub, [(_Source(s.file, None), e) for s, e in got],
                                 aliases))
    if not parts:
        raise ReadError(path, "no TensorBoard event files here")
    return [_build(path, path, parts, aliases), *others]


def _build(
    run_dir: Path,
    path: Path,
    parts: list[tuple[_Source, EventScalars]],
    aliases: Mapping[str, str] | None,
) -> Run:
    run = Run(id=run_dir.name, path=str(path), format="tensorboard")
    hparams: dict[str, Any] = {}
    for _, es in parts:
        run.warnings.extend(es.notes)
        run.in_progress |= es.torn
        hparams.update(es.hparams)
    scope = "" if split_folder(run_dir.name) else run_dir.name
    names, step, wall, value, code = _merge(parts, scope)
    if scope and any(t.startswith(f"{scope}/") and _scoped(t[len(scope) + 1:])
                     for _, es in parts for t in es.tags):
        run.warnings.append(f"{path}: tags named under the run's own name ({scope}/...) "
                            "read without it")
    keep = None
    epoch = None
    if "epoch" in names:  # Lightning logs the epoch as a scalar: make it the epoch column
        is_ep = code == names.index("epoch")
        keep = ~is_ep
        epoch = _latest_at(step[is_ep], value[is_ep], step)
    if "hp_metric" in names:  # Lightning's placeholder, not a measurement
        placeholder = (code == names.index("hp_metric")) & (value == -1.0)
        keep = ~placeholder if keep is None else keep & ~placeholder
    if keep is not None and not keep.all():
        step, wall, value, code = step[keep], wall[keep], value[keep], code[keep]
        epoch = None if epoch is None else epoch[keep]
    if epoch is not None and np.isnan(epoch).all():
        epoch = None
    # ``add_scalar(tag, value)`` with no global_step: every value at step 0
    # (after Lightning's placeholder hp_metric, logged twice at step 0, is gone)
    step, notes = numbered_in_order(code, step, names, str(path))
    run.warnings.extend(notes)
    names, step, wall, value, code, epoch, rename = with_detector_totals(
        run, str(path), names, step, wall, value, code, epoch, aliases)

    counts = np.bincount(code, minlength=len(names))
    mapping, notes = rename_map({n: int(c) for n, c in zip(names, counts) if c}, aliases, rename)
    run.warnings.extend(f"{path}: {n}" for n in notes)
    run.name_map.update((n, c) for n, c in mapping.items() if c != n)
    canon = [mapping.get(n, n) for n in names]
    cats = sorted(set(canon))
    to_cat = np.array([cats.index(c) for c in canon], dtype=code.dtype)
    cat_code = code if not cats or to_cat.tolist() == list(range(len(names))) else to_cat[code]
    step, value, keep, notes = on_train_steps(cats, cat_code, step, wall, value, str(path))
    run.warnings.extend(notes)
    if keep is not None:
        step, wall, value, cat_code = step[keep], wall[keep], value[keep], cat_code[keep]
        epoch = None if epoch is None else epoch[keep]
    if not _needs_dedupe(cat_code, step):
        # every metric's steps already increase: columns straight in, no table built
        order = np.argsort(cat_code, kind="stable")  # small codes: a radix sort
        bounds = np.searchsorted(cat_code[order], np.arange(len(cats) + 1))
        rows = {c: order[bounds[i]:bounds[i + 1]] for i, c in enumerate(cats)}
        del order
        run.set_arrays({c: (step[r], value[r]) for c, r in rows.items()},
                       wall_time={c: wall[r] for c, r in rows.items()},
                       epoch=math.nan if epoch is None else {c: epoch[r] for c, r in rows.items()})
    else:
        import pandas as pd  # not at import: detecting event files must not pay for pandas

        metric = pd.Categorical.from_codes(cat_code, categories=cats) if cats else []
        cols: dict[str, Any] = {"step": step, "metric": metric, "value": value, "wall_time": wall}
        if epoch is not None:
            cols["epoch"] = epoch
        df, notes = dedupe_steps(tidy_metrics(**cols), str(path))
        run.warnings.extend(notes)
        run.metrics = df
    if not len(step):
        run.warnings.append(f"{path}: no scalar summaries (the run logged nothing yet)")
    run.params, notes = _params(run_dir, hparams)
    run.warnings.extend(notes)
    return run


def _merge(
    parts: list[tuple[_Source, EventScalars]], scope: str = "",
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All files' scalars as one set of columns, with metric codes into the raw names.

    Several files (a restarted run) are put in wall-time order, so that keeping the
    last value of a repeated step keeps the later write.
    """
    pairs = {(src.folder, tag) for src, es in parts for tag in es.tags}
    # a split folder's tags take its split only when no two series would then share a name
    retag = len({_metric_name(t, f, scope) for f, t in pairs}) == len(pairs)
    index: dict[str, int] = {}
    remaps = []
    for src, es in parts:
        remaps.append([index.setdefault(_metric_name(tag, src.folder, scope, retag), len(index))
                       for tag in es.tags])
    names = sorted(index, key=index.__getitem__)
    small = np.int16 if len(names) < 1 << 15 else np.int64  # int16 codes sort by radix
    codes = [np.asarray(r, dtype=small)[es.tag] if len(r) else es.tag.astype(small)
             for r, (_, es) in zip(remaps, parts)]
    if len(parts) == 1:
        es = parts[0][1]
        return names, es.step, es.wall_time, es.value, codes[0]
    step, wall, value = (np.concatenate(c) for c in zip(
        *((es.step, es.wall_time, es.value) for _, es in parts)))
    code = np.concatenate(codes)
    order = np.argsort(wall, kind="stable")
    return names, step[order], wall[order], value[order], code[order]


def _latest_at(at_steps: np.ndarray, values: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """For each of ``steps``, the value logged at the latest ``at_steps`` <= it (else NaN)."""
    if not len(at_steps):
        return np.full(len(steps), np.nan)
    order = np.argsort(at_steps, kind="stable")
    at_steps, values = at_steps[order], values[order]
    i = np.searchsorted(at_steps, steps, side="right") - 1
    return np.where(i >= 0, values[np.maximum(i, 0)], np.nan)


def _params(run_dir: Path, from_events: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Lightning's ``hparams.yaml`` wins over the hparams plugin's copy in the events."""
    params = dict(from_events)
    y = run_dir / "hparams.yaml"
    if not y.is_file():
        return params, []
    loaded, notes = read_yaml_params(y)
    params.update(loaded)
    return params, notes
