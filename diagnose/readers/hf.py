"""Hugging Face ``Trainer``: ``trainer_state.json`` in the output folder or its ``checkpoint-*/``.

``log_history`` holds three kinds of entries: training logs (``loss``, ``grad_norm``,
``learning_rate``), evaluations (``eval_loss``, ``eval_<metric>``; with several eval
sets ``eval_<set>_loss``, ``eval_<set>_<metric>``) and one final summary
(``train_runtime``, ``train_loss`` averaged over the run ...), which is not a curve and
is left out (its ``train_runtime`` becomes ``results["train_time"]``). The file is
written by ``json.dumps``, so NaN and ±inf appear as bare ``NaN``/``Infinity`` tokens.

Every checkpoint keeps a copy of the state up to that point, so a run folder is read
once, from the most advanced copy: the root file unless a checkpoint got further. A state
whose steps start again from the beginning holds runs appended one after another (logs of
two trainings concatenated): each is read as a run of its own, ``<name>#1``, ``<name>#2``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from .._errors import ReadError
from ..run import Run, canonical_name
from ._common import appended_note, fits_int64, restart_points
from ._frame import EMPTY, finish_metrics
from ._safe_open import DETECT_BYTES, read_text

__all__ = ["detect", "read"]

STATE_FILE = "trainer_state.json"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
#: Keys of a log entry that are not metrics.
_NOT_METRICS = {"step", "epoch", "total_flos", "num_input_tokens_seen"}
#: Keys only the final summary entry has.
_SUMMARY_KEYS = {"train_runtime", "train_samples_per_second", "train_steps_per_second"}
_VAL_SETS = {"validation", "valid", "val", "eval", "dev"}
#: Eval sets that are the training data (scored to compare with the held-out sets).
_TRAIN_SETS = {"train", "training", "trainset", "train_set"}


def _checkpoints(d: Path) -> list[tuple[int, Path]]:
    out = []
    try:
        children = list(d.iterdir())
    except OSError:
        return out
    for c in children:
        m = _CHECKPOINT.match(c.name)
        if m and (c / STATE_FILE).is_file():
            out.append((int(m.group(1)), c / STATE_FILE))
    return sorted(out)


def could_hold(names: Collection[str]) -> bool:
    """Whether a folder listing these names can be a run (cheap, never wrong when False)."""
    return STATE_FILE in names or any(_CHECKPOINT.match(n) for n in names)


def detect(path: Path) -> bool:
    """An output folder with ``trainer_state.json`` (itself or in a checkpoint), or the file."""
    path = path if isinstance(path, Path) else Path(path)
    if path.is_dir():
        return (path / STATE_FILE).is_file() or bool(_checkpoints(path))
    return path.name == STATE_FILE


def read(path: Path, aliases: Mapping[str, str] | None = None) -> list[Run]:
    """Read a Trainer run: the root state, or the latest checkpoint's when it is further on."""
    path = Path(path)
    notes: list[str] = []
    if path.is_dir():
        run_dir = path
        state_path, state = _pick_state(path, notes)
    else:
        state_path, state = path, _load(path)
        run_dir = path.parent
        if _CHECKPOINT.match(run_dir.name):
            run_dir = run_dir.parent
    # a state whose steps go back to its first step or below holds a second training's logs
    # appended to the first's: mixing them by step would judge a curve no run drew
    history = state["log_history"]
    restarts = restart_points([_step(e) for e in history])
    if not restarts:
        return [_run(run_dir, state_path, state, history, notes, aliases)]
    bounds = [0, *(i for i, _ in restarts), len(history)]
    parts = [history[a:b] for a, b in zip(bounds, bounds[1:])]
    (at, before), n = restarts[0], len(parts)
    notes.append(appended_note(f"{state_path}: log_history entry {at}", before,
                               _step(history[at]), n, _run_id(run_dir)))
    return [_run(run_dir, state_path, state, entries, notes if k == 1 else [], aliases,
                 part=(k, n)) for k, entries in enumerate(parts, start=1)]


def _step(entry: Any) -> int | None:
    step = entry.get("step") if isinstance(entry, dict) else None
    return step if isinstance(step, int) and not isinstance(step, bool) else None


def _pick_state(d: Path, notes: list[str]) -> tuple[Path, dict[str, Any]]:
    """The root file unless the latest readable checkpoint got further; damaged copies skipped."""
    errors: list[ReadError] = []

    def attempt(p: Path) -> tuple[Path, dict[str, Any]] | None:
        try:
            return p, _load(p)
        except ReadError as e:
            errors.append(e)
            return None

    root = attempt(d / STATE_FILE) if (d / STATE_FILE).is_file() else None
    latest = None
    for _, p in reversed(_checkpoints(d)):
        latest = attempt(p)
        if latest:
            break
    if root is None and latest is None:
        raise errors[0] if errors else ReadError(
            d, f"no {STATE_FILE} here or in a checkpoint-* folder")
    notes.extend(f"{e}; skipped this copy" for e in errors)
    if root is None:
        return latest  # type: ignore[return-value]
    if latest and _int(latest[1].get("global_step")) > _int(root[1].get("global_step")):
        notes.append(f"{root[0]}: global step {root[1].get('global_step')} is behind "
                     f"{latest[0].parent.name}; read the checkpoint's copy instead")
        return latest
    return root


def _int(v: Any) -> int:
    return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else -1


def _load(p: Path) -> dict[str, Any]:
    try:
        text = read_text(p)
    except UnicodeDecodeError as e:
        raise ReadError(p, "not UTF-8 text (a damaged file?)", f"byte {e.start}") from e
    if not text.strip():
        raise ReadError(p, "empty file (the Trainer was interrupted while saving?)")
    try:
        state = json.loads(text)  # NaN / Infinity / -Infinity tokens are accepted
    except RecursionError as e:
        raise ReadError(p, "JSON nested too deeply") from e
    except json.JSONDecodeError as e:
        raise ReadError(p, f"not valid JSON ({e.msg})", f"line {e.lineno} column {e.colno}") from e
    except ValueError as e:  # an integer longer than Python converts
        raise ReadError(p, f"not readable JSON ({e})") from e
    if not isinstance(state, dict) or not isinstance(state.get("log_history"), list):
        raise ReadError(p, "no 'log_history' list: not a Trainer state file")
    return state


def _float(v: int | float) -> float:
    """A JSON number as a float; an integer too large for one is +-inf (as float() says)."""
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def _model_config(*dirs: Path) -> tuple[int | None, dict[str, str]]:
    """Classes and the model's identity from its ``config.json`` (``save_model`` writes it).

    ln(K) rules need K; the identity (``model_type``, the first of ``architectures``) keeps
    runs of different models out of one comparison. ``training_args.bin`` is a pickle and
    is never opened.
    """
    k_found: int | None = None
    ident: dict[str, str] = {}
    for d in dirs:
        try:
            cfg = json.loads(read_text(d / "config.json", DETECT_BYTES))
        except (OSError, ReadError, ValueError, RecursionError):
            continue
        if not isinstance(cfg, dict):
            continue
        if not ident:
            if isinstance(cfg.get("model_type"), str):
                ident["model_type"] = cfg["model_type"]
            arch = cfg.get("architectures")
            if isinstance(arch, list) and arch and isinstance(arch[0], str):
                ident["model"] = arch[0]
        k = cfg.get("num_labels")
        if not isinstance(k, int) and isinstance(cfg.get("id2label"), dict):
            k = len(cfg["id2label"])
        if k is None and "id2label" not in cfg and _classifier_head(cfg):
            # transformers 5 writes only what differs from the defaults, and a classifier
            # head's default is two labels (a regression head writes num_labels = 1)
            k = 2
        if isinstance(k, int) and not isinstance(k, bool) and k >= 2:
            k_found = k
            break
    return k_found, ident


def _classifier_head(cfg: dict[str, Any]) -> bool:
    """Whether a transformers config names a classification head (``...ForSequenceClassification``
    and the like, or a single-label classification problem type)."""
    arch = cfg.get("architectures")
    heads = [a for a in arch if isinstance(a, str)] if isinstance(arch, list) else []
    return (cfg.get("problem_type") == "single_label_classification"
            or any(a.endswith("Classification") for a in heads))


def _run_id(run_dir: Path) -> str:
    rid = run_dir.name or str(run_dir)
    if _CHECKPOINT.match(rid) and run_dir.parent.name:
        rid = f"{run_dir.parent.name}/{rid}"
    return rid


def _run(run_dir: Path, state_path: Path, state: dict[str, Any], history: list[Any],
         notes: list[str], aliases: Mapping[str, str] | None,
         part: tuple[int, int] = (1, 1)) -> Run:
    """One run of the state: its log entries ``history``; ``part`` (k, n) when the state holds
    n runs appended one after another (only the last one can still be training)."""
    params: dict[str, Any] = {}
    for src, dst in (("train_batch_size", "batch_size"), ("num_train_epochs", "epochs"),
                     ("max_steps", "max_steps"), ("logging_steps", "logging_steps"),
                     ("eval_steps", "eval_steps")):
        if state.get(src) is not None:
            params[dst] = state[src]
    if isinstance(state.get("trial_params"), dict):
        params.update(state["trial_params"])
    rid = _run_id(run_dir)
    if part[1] > 1:
        rid = f"{rid}#{part[0]}"
    run = Run(id=rid, metrics=EMPTY, params=params, path=str(run_dir), format="hf")
    run.warnings.extend(notes)
    run.num_classes, model = _model_config(run_dir, state_path.parent)
    run.identity.update(model)
    if state.get("best_metric") is not None:
        run.results["best_val_metric"] = state["best_metric"]
    if state.get("trial_name"):
        run.identity["experiment_id"] = state["trial_name"]

    steps, names, values, epochs = [], [], [], []
    summary = None
    skipped = 0
    for entry in history:
        if not isinstance(entry, dict):
            skipped += 1
            continue
        if _SUMMARY_KEYS & entry.keys():
            summary = entry
            continue
        step = _step(entry)
        if step is None or not fits_int64(step):
            skipped += 1
            continue
        epoch = entry.get("epoch")
        epoch = _float(epoch) if isinstance(epoch, (int, float)) and not isinstance(epoch, bool) \
            else math.nan
        for k, v in entry.items():
            if k in _NOT_METRICS or isinstance(v, bool) or not isinstance(v, (int, float)):
                continue
            steps.append(step)
            names.append(k)
            values.append(_float(v))
            epochs.append(epoch)
    if skipped:
        run.warnings.append(f"{state_path}: {skipped} log_history entr(ies) without an integer "
                            "step (that fits 64 bits) skipped")
    if summary is not None:
        if isinstance(summary.get("train_runtime"), (int, float)):
            run.results["train_time"] = float(summary["train_runtime"])
    elif part[0] < part[1]:
        pass  # another run was appended after this one: it stopped, finished or not
    elif _reached_max_steps(state):
        # a checkpoint's copy of the state (checkpoint-N/trainer_state.json) is saved before
        # the summary entry is appended; saved at max_steps, it is the finished run's
        run.warnings.append(f"{state_path}: no final summary entry, but global_step reached "
                            f"max_steps ({state['global_step']}): the state of the last checkpoint")
    else:
        run.in_progress = True
        run.warnings.append(f"{state_path}: no final summary entry; training had not finished "
                            "when this state was saved")
    keys = list(dict.fromkeys(names))  # log order: the first eval set is the first one logged
    stand_in = _stand_in_set(keys)
    if stand_in is not None:
        others = [s for s in _eval_sets(keys) if s != stand_in]
        run.warnings.append(
            f"{state_path}: no eval set is named as validation (eval_loss, eval_val_*, ...); "
            f"the first one logged, '{stand_in}', is read as the validation set"
            + (f" and {', '.join(repr(o) for o in others)} keep their names" if others else ""))
    finish_metrics(run, steps, names, values, aliases, str(state_path), epoch=epochs,
                   rename=_renamer(keys, aliases, stand_in))
    return run


def _reached_max_steps(state: Mapping[str, Any]) -> bool:
    done, budget = state.get("global_step"), state.get("max_steps")
    return (isinstance(done, int) and isinstance(budget, int) and not isinstance(done, bool)
            and not isinstance(budget, bool) and 0 < budget <= done)


def _eval_sets(keys: Collection[str]) -> list[str]:
    """The ``<set>`` names of ``eval_<set>_loss`` / ``eval_<set>_runtime``, in ``keys``' order."""
    return list(dict.fromkeys(
        k[5:-len(suf)] for k in keys for suf in ("_loss", "_runtime")
        if k.startswith("eval_") and k.endswith(suf) and len(k) > 5 + len(suf)))


def _stand_in_set(keys: Collection[str]) -> str | None:
    """The eval set read as validation when none is named so: the first one logged.

    ``Trainer(eval_dataset={"g0": ..., "g1": ...})`` evaluates every set during training;
    each is held out. With no plain ``eval_loss`` and no set named as validation, leaving
    them all under their own names would leave the run with no validation curve at all
    ("generalization gap: not checked"), so the first set (the first key of the dict the
    user passed) stands in. A set named for the training data is never a stand-in.
    """
    if "eval_loss" in keys:
        return None
    sets = _eval_sets(keys)
    if any(s.lower() in _VAL_SETS for s in sets):
        return None
    held_out = [s for s in sets if s.lower() not in _TRAIN_SETS and f"eval_{s}_loss" in keys]
    return held_out[0] if held_out else None


def _renamer(keys: Collection[str], aliases: Mapping[str, str] | None, stand_in: str | None = None):
    """``eval_<set>_<metric>`` -> ``<split>/<metric>``; other names the usual way.

    Eval set names are the ``<set>`` of ``eval_<set>_loss`` / ``eval_<set>_runtime``;
    validation-like sets are the ``val`` split (and ``stand_in``, see ``_stand_in_set``),
    others keep their name (``test/loss``).
    """
    sets = sorted(_eval_sets(keys), key=len, reverse=True)

    def rename(raw: str) -> str:
        if aliases and canonical_name(raw, aliases) != canonical_name(raw):
            return canonical_name(raw, aliases)
        name = canonical_name(raw)
        if name != raw or not raw.startswith("eval_"):
            return name
        rest = raw[5:]
        split = "val"
        for s in sets:
            if rest.startswith(s + "_"):
                split = "val" if s.lower() in _VAL_SETS or s == stand_in else s
                rest = rest[len(s) + 1:]
                break
        return canonical_name(f"val/{rest}").replace("val/", f"{split}/", 1)

    return rename
