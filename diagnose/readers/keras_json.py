"""Keras ``History`` saved as JSON (``json.dump(history.history, f)``) or as its Python
text (``f.write(str(history.history))``, as many notebooks save it).

A JSON object of per-epoch lists (``loss``, ``val_loss``, ``accuracy``, ...), all
the same length, under a name like ``history.json`` or ``<model>_history.json`` (there also a
list of per-epoch records, ``[{"epoch": 1, "loss": ...}, ...]``), or under any name when the
file holds nothing but number lists, a loss among them (``train_gmf_32.json``), or whose name
says it holds losses and whose lists sit under bare split words (``losses.json``: ``{"train":
[...], "val": [...]}``, each that split's loss); or a
``.txt``/``.log`` file holding nothing but such a dict in Python's spelling (quotes either
way, ``nan``/``inf``, NumPy scalars printed as ``np.float64(0.5)``), read as a literal,
never run. Epoch ``i`` (from 0, as Keras's ``CSVLogger`` numbers them) is the step. Values
Keras could not compute are ``NaN`` (Python's JSON), ``null`` or ``nan``. A value saved as the
text of a tensor or NumPy scalar (``"tensor(0.69, device='cuda:0')"``: a loop that appended the
loss tensor and dumped with ``json.dump(h, f, default=str)``) is read as its number.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping
from pathlib import Path

from .._errors import ReadError
from .._pyparse import literal
from ..run import _SPLIT_WORDS, TRAIN_WORDS, Run, is_number
from ._frame import EMPTY, SCALAR_REPR, finish_metrics, printed_float
from ._params import knob_params

__all__ = ["could_hold", "detect", "history_literal", "read"]

#: history.json, model_history.json, model-history.json, history_model.json (and .txt/.log)
NAME = re.compile(r"^(?:(?P<a>.+)[_-])?history(?:[_-](?P<b>.+))?\.(?:json|txt|log)$", re.I)
MAX_BYTES = 64 << 20
#: the Python text of a History dict: a text file that opens ``{'loss': [`` (or with double
#: quotes) and closes with ``}``. A log of one dict per line (``{'loss': 0.5, ...}``) holds
#: numbers, not lists, after its first key: the text-log reader's
_TEXT_SUFFIXES = (".txt", ".log")
_TEXT_HEAD = re.compile(rb"""\A\{\s*(['"])[^'"\n]{1,200}\1\s*:\s*\[""")
#: the same printed by Python (``str(history.history)``: keys in single quotes), which a file
#: named ``*.json`` may hold too; a damaged JSON object (double quotes) stays a JSON error
_PYTHON_HEAD = re.compile(rb"""\A\{\s*'[^'"\n]{1,200}'\s*:\s*\[""")
#: how the text of a printed tensor or NumPy scalar opens inside a JSON string (``"tensor(0.69)"``)
_PRINTED_OPEN = rb"(?:tensor|(?:np\.|numpy\.)?float(?:16|32|64))\("
#: a JSON file of any name that opens with a list of numbers under a key (``{"train_loss":
#: [0.37, ...``) and names a loss among its first keys: a history a script dumped under its
#: own name (``train_gmf_32.json``); other JSON a walk meets (configs, label maps, vocabularies)
#: opens otherwise or names no loss
_JSON_HEAD = re.compile(rb"""\A\{\s*"[^"\n]{1,200}"\s*:\s*\[\s*(?:-?[\d.]|NaN|null|Infinity|"%s)"""
                        % _PRINTED_OPEN)
_JSON_LOSS = re.compile(rb""""[^"\n]{0,100}loss(?:es)?(?:_curve)?"\s*:\s*\[""", re.I)
#: the same for a list of records (``[{"step": 0, "train_loss": 4.75, ...}, ...]``, a loop's
#: ``log.append({...})`` dumped under its own name, ``training_log.json``): it opens with a
#: record whose first value is a number, and a loss is among the first record's keys
_RECORDS_HEAD = re.compile(
    rb"""\A\[\s*\{\s*"[^"\n]{1,200}"\s*:\s*(?:-?[\d.]|NaN|null|Infinity|"%s)""" % _PRINTED_OPEN)
_RECORDS_LOSS = re.compile(
    rb""""[^"\n]{0,100}loss(?:es)?"\s*:\s*(?:-?[\d.]|NaN|null|Infinity|"%s)""" % _PRINTED_OPEN,
    re.IGNORECASE)
#: an object that opens with a mapping or a list under its first key and names a loss in a
#: record: a loop's records kept under a key beside its settings (``{"config": {...},
#: "history": [{"epoch": 1, "train_loss": 1.03, ...}, ...]}``, ``logs/training_log.json``)
_NESTED_HEAD = re.compile(rb"""\A\{\s*"[^"\n]{1,200}"\s*:\s*[\[{]""")
#: an object that opens with its settings (``{"config": {...}, ...}``): its curves may come
#: after measurements of its own, past the first few KiB, so more of it is looked at
_SETTINGS_HEAD = re.compile(
    rb"""\A\{\s*"(?:config|params|hparams|args|hyperparameters|settings)"\s*:\s*\{""")
#: how much of such an object is searched for a loss list before it is parsed
_SETTINGS_SCAN = 64 << 10
#: the largest un-named JSON file whose content is checked in full before it is claimed
_CHECKED_BYTES = 8 << 20
#: the non-finite floats of Python's ``repr``, outside quotes: None (read as NaN) and overflow
_NONFINITE = re.compile(r"""('[^']*'|"[^"]*")|(-?)\b(nan|inf)\b""")
#: a file whose name says it holds losses (``losses.json``, ``loss_history.json``): its lists
#: under a bare split word (``{"train": [...], "val": [...]}``) are that split's loss
_LOSS_FILE = re.compile(r"(?:^|[_.-])loss(?:es)?(?:[_.-]|$)", re.IGNORECASE)
#: the split words such a file's keys are (the test split's too: the readers read it as held out)
_SPLIT_KEYS = _SPLIT_WORDS | {"test"}


def _falling_splits(data: Mapping) -> bool:
    """A history of nothing but bare split keys (``{"train": [...], "val": [...]}``) whose train
    list ends below where it starts: the one curve a loop keeps under a split's name alone is
    its loss (an accuracy or score rises), so such lists are read as the losses."""
    keys = {str(k).lower(): v for k, v in data.items()}
    train = next((keys[k] for k in sorted(TRAIN_WORDS) if k in keys), None)
    if not keys.keys() <= _SPLIT_KEYS or not isinstance(train, list):
        return False
    finite = [float(v) for v in train if _number(v) and math.isfinite(v)]
    return len(finite) > 1 and finite[-1] < finite[0]


def _split_losses(path: Path, data: Mapping, notes: list[str] | None = None) -> dict:
    """``data`` with its bare split keys named as losses when the file's name says it holds losses
    (``losses.json``: ``train`` -> ``train_loss``) or its lists are nothing but falling split
    curves (said in ``notes``); unchanged otherwise."""
    if not any(str(k).lower() in _SPLIT_KEYS for k in data):
        return data
    if not _LOSS_FILE.search(path.stem):
        if not _falling_splits(data):
            return data
        if notes is not None:
            notes.append(f"{path}: lists named only by their split ({', '.join(map(str, data))}) "
                         "read as the losses: the train list falls")
    return {(f"{k}_loss" if str(k).lower() in _SPLIT_KEYS and f"{k}_loss" not in data else k): v
            for k, v in data.items()}


def could_hold(names: Collection[str]) -> bool:
    """A folder holding a history JSON (the file itself is claimed, not the folder)."""
    return False


def detect(path: Path) -> bool:
    """A ``*history*.json`` file whose top level is an object of per-epoch lists or a list of
    per-epoch records; a ``.json`` file of another name that holds nothing but number lists, a
    loss among them, or nothing but records with a counter that counts up and a loss; or a
    ``.txt``/``.log`` file that is nothing but such a dict in Python's text."""
    path = path if isinstance(path, Path) else Path(path)
    text = path.suffix.lower() in _TEXT_SUFFIXES
    if not (text or path.suffix.lower() == ".json") or not path.is_file():
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(4096).lstrip().lstrip(b"\xef\xbb\xbf")
            if text:
                f.seek(max(0, f.seek(0, 2) - 64))  # the end, from the open file: no stat
                tail = f.read().rstrip()
    except OSError:
        return False
    if text:  # any name: the whole file must be the dict (a log around it is the text reader's)
        return bool(_TEXT_HEAD.match(head)) and tail.endswith(b"}")
    if not NAME.match(path.name):
        if _RECORDS_HEAD.match(head):
            return bool(_RECORDS_LOSS.search(head)) and _records_only(path)
        if _JSON_HEAD.match(head):
            return (bool(_JSON_LOSS.search(head)) or bool(_LOSS_FILE.search(path.stem))) and \
                _lists_only(path)
        if not _NESTED_HEAD.match(head):
            return False
        data: object = _ABSENT  # parsed once, for whichever sniff needs it
        if _RECORDS_LOSS.search(head):
            data = _json_of(path)
            if _nested_records(data):
                return True  # else a setting named for a loss (``"CrossEntropyLoss": null``)
        if not _JSON_LOSS.search(head) and _SETTINGS_HEAD.match(head):
            try:
                with open(path, "rb") as f:
                    head = f.read(_SETTINGS_SCAN)
            except OSError:
                return False
        return bool(_JSON_LOSS.search(head)) and \
            _nested_lists(_json_of(path) if data is _ABSENT else data)
    # the name says history: an empty or damaged one is reported, not passed over (a JSON
    # string that holds the dict's printed text, ``json.dump(str(history.history), f)``, too)
    return not head or head[:1] in (b"{", b"[") or head[:2] == b'"{'


#: a list under one of these names is the epoch axis of the lists as long as it (a
#: hand-written history's ``"epochs": [1, 2, ...]``), not a metric
AXIS_KEYS = ("epoch", "epochs", "step", "steps")
#: a mapping under one of these names holds the run's settings (its tuning knobs are params)
SETTINGS_KEYS = ("config", "params", "hparams", "args", "hyperparameters", "settings")


#: a settings entry that names the experiment a run belongs to (the Technion course's
#: ``"run_name": "exp1_2"``): runs of other experiments are never one setting's seeds
NAME_KEYS = ("run_name", "experiment_name", "exp_name", "experiment")


def _experiment(data: Mapping) -> str | None:
    """The experiment name a settings mapping beside the lists records, if any."""
    for key in SETTINGS_KEYS:
        settings = data.get(key)
        if isinstance(settings, Mapping):
            for name in NAME_KEYS:
                if isinstance(settings.get(name), str) and settings[name].strip():
                    return settings[name].strip()
    return None


def _is_axis(v: object) -> bool:
    return (isinstance(v, list) and len(v) > 0 and all(
        isinstance(x, int) and not isinstance(x, bool) for x in v)
        and all(b > a for a, b in zip(v, v[1:])))


def _settings(data: Mapping) -> dict:
    """The tuning knobs of the settings a history file carries beside its lists."""
    out: dict = {}
    for k in SETTINGS_KEYS:
        if isinstance(data.get(k), Mapping):
            out.update(knob_params(data[k]))
    return out


#: a record that lacks a key (validation every other epoch): no point there, unlike a ``null``
#: the writer put in (a value it could not compute, read as NaN)
_ABSENT = object()


def _number(v: object) -> bool:
    """A value a per-epoch list may hold: a number, None (JSON's ``null``: not computed), or
    nothing at all (a record without that key)."""
    return v is None or v is _ABSENT or is_number(v)


def _lists_only(path: Path) -> bool:
    """An un-named JSON file is a history only when it is nothing else: every value a list of
    numbers (or a final number), a loss among the lists with two points or more. A config that
    opens with ``"loss_weights": [1.0, 0.5]`` beside its strings is not claimed."""
    data = _json_of(path)
    if not isinstance(data, dict):
        return False
    data = _split_losses(path, data)
    return (all(isinstance(v, list) and all(map(_number, v)) or _number(v) or _loss_list(k, v)
                for k, v in data.items())
            and any(_loss_list(k, v) for k, v in data.items()))


def _records_only(path: Path) -> bool:
    """An un-named JSON list is a history only when it is one: every item a record, a counter
    (``step``, ``epoch``) that counts up through them, and a loss with two points or more. A
    sweep's table of final results (one record per setting, no counter) is not claimed."""
    return _is_records(_json_of(path))


def _nested_records(data: object) -> bool:
    """An un-named JSON object is a history when one of its keys holds a list of records that
    is one (:func:`_is_records`); settings, final numbers and notes may stand beside it. A
    sweep's summary (a record per setting, no counter counting up) is not claimed."""
    return isinstance(data, dict) and any(_is_records(v) for v in data.values())


#: a loss's name, ending the name or followed by a word that says how it was stored
_LOSS_LIST_NAME = re.compile(r"loss(?:es)?(?:_curve)?$", re.IGNORECASE)


def _loss_list(name: object, v: object) -> bool:
    """A list of two numbers or more under a loss's name (``train_loss``, ``val_losses``, a
    research dump's ``train_loss_curve``), or such numbers kept in one list per epoch
    (:func:`_per_epoch_lists`)."""
    if not (_LOSS_LIST_NAME.search(str(name)) and isinstance(v, list)):
        return False
    return len(v) >= 2 and all(map(_number, v)) or _per_epoch_lists(v) and sum(map(len, v)) >= 2


def _per_epoch_lists(v: object) -> bool:
    """A list of number lists: each epoch's per-batch values, kept as a loop that appends each
    epoch's list of batch losses keeps them (``[[2.30, 2.29, ...], [2.28, ...], ...]``)."""
    return isinstance(v, list) and bool(v) and all(
        isinstance(e, list) and bool(e) and all(map(_number, e)) for e in v)


#: the first word of a held-out split's name (``test_loss``, ``val_losses``)
_HELD_OUT_NAME = re.compile(rf"^(?:{'|'.join(sorted(_SPLIT_KEYS - TRAIN_WORDS))})(?:[_/.-]|$)",
                            re.IGNORECASE)


def _unnested_losses(path: Path, data: dict, notes: list[str]) -> dict:
    """``data`` with every loss kept as one list per epoch (:func:`_per_epoch_lists`) made one
    curve: a train loss per batch, its epochs' lists one after another; a held-out loss one
    value per epoch, the mean of that epoch's list (an evaluation's loss over its batches); and
    a single list wrapped in another (``"val_losses": [[...]]``) is that list. Said in
    ``notes``; other values stay as they are."""
    out = dict(data)
    for name, v in data.items():
        if not (_LOSS_LIST_NAME.search(str(name)) and _per_epoch_lists(v)):
            continue
        if len(v) == 1:
            out[name] = v[0]
            notes.append(f"{path}: {name!r} is one list inside another; read as that list")
        elif _HELD_OUT_NAME.match(str(name)):
            out[name] = [_mean(e) for e in v]
            notes.append(f"{path}: {name!r} holds a list per epoch ({len(v[0])} values in the "
                         "first: one per batch?); read as each epoch's mean")
        else:
            out[name] = [x for e in v for x in e]
            notes.append(f"{path}: {name!r} holds a list per epoch ({len(v[0])} values in the "
                         "first: one per batch?); read as one curve, epoch after epoch")
    return out


def _nested_lists(data: object) -> bool:
    """An un-named JSON object is a history when it holds its settings and an object of number
    lists, a loss among them with two points or more, under a key of its own (``{"config":
    {...}, "results": {"train_loss": [...], "test_acc": [...]}}``, a course's experiment file)
    or beside the settings (``{"config": {...}, "train_loss_curve": [...], ...}``, a research
    script's dump with its measurements around the curves). A config that merely holds a list
    under a loss's name has no settings mapping beside it. With no settings, an object of its
    own must hold a train loss and a held-out loss (``{"combined": {"train_losses": [...],
    "val_losses": [...]}, "by_operator": {...}}``, a script's curves grouped beside breakdowns
    of them): one list under a loss's name is not enough to call a file a run."""
    if not isinstance(data, dict):
        return False
    groups = [inner for k, inner in data.items() if isinstance(inner, Mapping)
              and k not in SETTINGS_KEYS]
    if not any(isinstance(data.get(k), Mapping) for k in SETTINGS_KEYS):
        return any(_train_and_held_out(inner) for inner in groups)
    return any(_loss_list(name, v) for inner in groups for name, v in inner.items()) \
        or any(_loss_list(k, v) for k, v in data.items())


def _train_and_held_out(group: Mapping) -> bool:
    """A held-out loss list and another loss list beside it (the train one)."""
    losses = [str(name) for name, v in group.items() if _loss_list(name, v)]
    return any(_HELD_OUT_NAME.match(n) for n in losses) and \
        any(not _HELD_OUT_NAME.match(n) for n in losses)


def _is_records(data: object) -> bool:
    """A list of per-epoch records: at least two, a counter that counts up through them and a
    loss with two points or more."""
    if not (isinstance(data, list) and len(data) >= 2 and all(isinstance(r, dict) for r in data)):
        return False
    columns = _columns(data)
    return any(k in columns for k in AXIS_KEYS) and any(
        re.search(r"loss(?:es)?$", str(k), re.I) and sum(v is not _ABSENT for v in col) >= 2
        for k, col in columns.items())


def _json_of(path: Path) -> object:
    """The JSON value of a file of at most :data:`_CHECKED_BYTES` (None: larger or not JSON)."""
    try:
        with open(path, "rb") as f:
            raw = f.read(_CHECKED_BYTES + 1)
        return _loads(raw) if len(raw) <= _CHECKED_BYTES else None
    except (OSError, ValueError, RecursionError):
        return None


def _loads(raw: str | bytes) -> object:
    """JSON, with every string that is a printed tensor or NumPy scalar read as its number
    (``"tensor(0.6931, grad_fn=<NllLossBackward0>)"`` -> 0.6931); other strings stay text."""
    data = json.loads(raw)
    hint = _PRINTED_OPEN if isinstance(raw, bytes) else _PRINTED_OPEN.decode()
    return _printed_numbers(data) if re.search(hint, raw) else data


def _printed_numbers(value: object) -> object:
    if isinstance(value, str):  # a printed scalar only: a number kept as text ("0.5") stays text
        try:
            return printed_float(value) if SCALAR_REPR.fullmatch(value.strip()) else value
        except ValueError:
            return value
    if isinstance(value, list):
        return [_printed_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: _printed_numbers(v) for k, v in value.items()}
    return value


def _columns(records: list[dict]) -> dict:
    """A list of per-epoch records (``[{"epoch": 1, "train_loss": 0.048, ...}, ...]``, a
    loop's ``history.append({...})`` dumped as JSON) as the History's columns: each numeric
    key a list over the records (``_ABSENT`` where a record lacks it: no point there), the epoch
    key the axis when it counts up (else the records' order is). Text values (a timestamp, a
    path) are not metrics."""
    records = _merged_by_counter([_unnested(r) for r in records])
    keys: list[str] = []
    for r in records:
        keys.extend(k for k in r if k not in keys)
    out: dict = {}
    for k in keys:
        col = [r.get(k, _ABSENT) for r in records]
        if all(map(_number, col)):
            out[k] = col
    for k in AXIS_KEYS:  # a counter that does not count up (repeated epochs) is no axis, nor a metric
        if k in out and not _is_axis(out[k]):
            del out[k]
    return out


def _merged_by_counter(records: list[dict]) -> list[dict]:
    """Records that share a counter's value as one record, when the counter never goes down and
    no two records at one value hold the same key: a trainer's log history dumped as a list
    puts its train record, its evaluation record and its closing summary (``train_loss``,
    ``train_runtime``) at one step, and one repeated step made the counter no axis at all.
    Records with a key twice at one value (two runs appended) stay as they are."""
    for k in AXIS_KEYS:
        col = [r.get(k) for r in records]
        if not (all(isinstance(x, int) and not isinstance(x, bool) for x in col)
                and len(set(col)) < len(col) and all(b >= a for a, b in zip(col, col[1:]))):
            continue
        merged: list[dict] = []
        for r in records:
            if merged and merged[-1][k] == r[k]:
                if (set(merged[-1]) & set(r)) - set(AXIS_KEYS):
                    return records
                merged[-1] = {**r, **merged[-1]}
            else:
                merged.append(dict(r))
        return merged
    return records


def _unnested(record: dict) -> dict:
    """A record whose splits hold their own numbers (``{"epoch": 1, "train": {"loss": 1.59},
    "val": {"loss": 1.57}}``, a loop that stores one dict per split each epoch) with those
    numbers as keys of the record, named with the split (``train_loss``, ``val_loss``; a group
    word such as ``metrics`` dropped, as :func:`_flattened` names them; a name already taken
    keeps the split's own name in front: ``val/loss``)."""
    if not any(isinstance(v, dict) for v in record.values()):
        return record
    out = {k: v for k, v in record.items() if not isinstance(v, dict)}
    for name, inner in record.items():
        if not isinstance(inner, dict):
            continue
        for key, v in inner.items():
            if is_number(v):
                out[_nested_name(name, key, record, out)] = v
    return out


def _nested_name(name: object, key: object, *taken: Mapping) -> str:
    """The flat name of ``key`` held under ``name`` (a split, or a split's group of metrics):
    ``train`` + ``loss`` -> ``train_loss``, ``val_metrics`` + ``acc`` -> ``val_acc`` (the group
    word dropped); a name already in one of ``taken`` keeps the group's own name in front
    (``val_metrics/acc``)."""
    head = _GROUP_WORD.sub("", str(name))
    flat = f"{head}_{key}" if head else str(key)
    return flat if not any(flat in t for t in taken) else f"{name}/{key}"


#: a row label of pandas's ``DataFrame.to_json()``: the frame's integer index as text
_ROW_LABEL = re.compile(r"-?[0-9]+")


def _from_row_labels(data: dict) -> dict:
    """pandas's ``DataFrame(history.history).to_json()`` (its default, one object per column
    keyed by the row labels: ``{"loss": {"0": 0.726, "1": 0.723, ...}}``) as per-epoch lists in
    row order. When the columns share labels that are not 0, 1, 2, ... (a frame indexed by
    epoch from 1), the labels become the ``epoch`` axis, unless the file has its own."""
    out: dict = {}
    rows: dict = {}  # each converted column's row labels, in order
    for name, col in data.items():
        if not (isinstance(col, dict) and col and all(_ROW_LABEL.fullmatch(str(k)) for k in col)
                and all(_number(v) for v in col.values())):
            out[name] = col
            continue
        keys = sorted(col, key=int)
        out[name] = [col[k] for k in keys]
        rows[name] = [int(k) for k in keys]
    labels = next(iter(rows.values()), None)
    if labels is not None and all(r == labels for r in rows.values()) \
            and labels != list(range(len(labels))) and not any(k in out for k in AXIS_KEYS):
        out["epoch"] = labels
    return out


#: a last word of a key that holds per-epoch dicts and says only that (``val_metrics``:
#: the validation split's metrics, one dict an epoch; ``{"history": [{"train_loss": ...},
#: ...]}``: a loop's records under the word for them)
_GROUP_WORD = re.compile(r"[_/.\s-]*(?:metrics|results|scores|stats|history|logs)$", re.I)


def _flattened(data: dict) -> dict:
    """``data`` with every object of per-epoch lists under a split's name (``"train": {"loss":
    [...]}`` -> ``train_loss``), and every list of per-epoch dicts of numbers (``"val_metrics":
    [{"loss": 0.4, "Avg_Acc": 0.81}, ...]``, a loop that appends its evaluator's dict), replaced
    by one list per key, named with the split (``val_loss``, ``val_Avg_Acc``; a group word such
    as ``metrics`` dropped in both shapes); a name already taken keeps the group's own name in
    front (``val_metrics/loss``). Other values stay as they are."""
    out: dict = {}
    for name, series in data.items():
        if isinstance(series, dict) and name not in SETTINGS_KEYS and any(
                isinstance(v, list) and v and all(_number(x) for x in v) for v in series.values()):
            # one object per split (``"train": {"loss": [...], "accuracy": [...]}``)
            columns = {k: v for k, v in series.items() if isinstance(v, list) and v}
        elif (isinstance(series, list) and bool(series)
              and all(r is None or isinstance(r, dict) for r in series)
              and any(isinstance(r, dict) for r in series)):
            columns = _columns([r or {} for r in series])
        else:
            out[name] = series
            continue
        for key, col in columns.items():
            if key in AXIS_KEYS:
                if key not in data and key not in out:  # the records' own epochs: the axis
                    out[key] = col
                continue
            out[_nested_name(name, key, data, out)] = col
    return out


def _mean(values: list) -> float | None:
    """The mean of the finite values (None when there is none: no value that epoch)."""
    kept = [float(v) for v in values if v is not None and v is not _ABSENT and math.isfinite(v)]
    return sum(kept) / len(kept) if kept else None


#: the names of the curves whose lengths tell a per-batch list from a per-epoch one
_CURVE_WORD = re.compile(r"loss|acc", re.IGNORECASE)


def _number_lists(data: Mapping) -> dict[str, list]:
    return {str(k): v for k, v in data.items() if k not in AXIS_KEYS and isinstance(v, list)
            and len(v) >= 2 and all(map(_number, v))}


def _per_batch_layout(data: Mapping) -> tuple[int, int, int] | None:
    """(epochs, batches per epoch, evaluations) when the loss and accuracy lists have different
    lengths that are whole multiples of the shortest (a list of phase starts or milestones is no
    curve): the shortest hold one value per epoch, the longest one per batch (a loop that keeps
    every batch's loss beside each epoch's accuracy, as the Technion course's ``FitResult``
    does). The held-out lists may hold one evaluation fewer than the train lists have epochs,
    each a whole multiple of their own shortest: a loop whose early stop breaks after the last
    epoch's training, before it appends that epoch's evaluation. None when the lists are as
    long as each other or do not divide."""
    curves = {k: len(v) for k, v in _number_lists(data).items() if _CURVE_WORD.search(k)}
    if len(set(curves.values())) < 2:
        return None
    epochs = min(curves.values())
    if not any(n % epochs for n in curves.values()):
        return epochs, max(curves.values()) // epochs, epochs
    held = {k: n for k, n in curves.items() if _HELD_OUT_NAME.match(k)}
    trained = [n for k, n in curves.items() if k not in held]
    if not held or not trained:
        return None
    epochs, evals = min(trained), min(held.values())
    if (evals != epochs - 1 or evals < 2 or any(n % epochs for n in trained)
            or any(n % evals for n in held.values()) or max(trained) == epochs):
        return None
    return epochs, max(trained) // epochs, evals


def _on_batch_steps(path: Path, data: dict, epochs: int, batches: int, evals: int,
                    notes: list[str]) -> tuple[dict, list[int]]:
    """``data`` on one step axis, the batch: the longest lists keep a step per batch, a list of
    one value per epoch stands at its epoch's last batch (absent at the others), and a list of a
    few values per epoch (a test loss per test batch), or a held-out list as long as the
    longest (the test set's batches counted like the train set's), is read as each epoch's
    mean there: an evaluation's batches all saw the same model, so they draw no curve. The
    held-out lists hold ``evals`` evaluations, those of the first epochs.
    Returns the data and the axis, one step per batch."""
    ends = [(e + 1) * batches - 1 for e in range(epochs)]
    lists = _number_lists(data)
    out: dict = {}
    for name, series in data.items():
        held_out = bool(_HELD_OUT_NAME.match(str(name)))
        count = evals if held_out else epochs
        per, rest = divmod(len(series), count) if str(name) in lists else (0, 1)
        if (per == batches and not held_out) or rest or (
                per > 1 and not _CURVE_WORD.search(str(name))):
            out[name] = series
            continue
        if per > 1:  # a held-out loss per test batch: every batch of an epoch saw one model
            series = [_mean(series[e * per:(e + 1) * per]) for e in range(count)]
            notes.append(f"{path}: {name!r} holds {per} values per epoch (one per batch?): "
                         "read as each epoch's mean")
        spread: list = [_ABSENT] * (epochs * batches)
        for end, v in zip(ends, series):
            spread[end] = v
        out[name] = spread
    notes.append(f"{path}: lists of {batches} values per epoch read as one per batch over "
                 f"{epochs} epochs; the lists of one value per epoch stand at each epoch's last "
                 "batch")
    if evals < epochs:
        notes.append(f"{path}: the held-out lists hold {evals} evaluations for {epochs} epochs: "
                     "read as those of the first epochs (a loop that stopped early before "
                     "recording its last evaluation)")
    return out, list(range(epochs * batches))


def history_literal(text: str) -> object:
    """The value of ``str(history.history)`` read back as a literal, never run: NumPy scalars
    (``np.float64(0.5)``) read as their numbers, ``nan`` as None, ``inf`` as an overflow.
    Raises what :func:`ast.literal_eval` raises on anything else."""
    text = SCALAR_REPR.sub(r"\1", text.strip().lstrip("\ufeff"))
    text = _NONFINITE.sub(lambda m: m.group(1) or (
        "None" if m.group(3) == "nan" else f"{m.group(2)}1e999"), text)
    return literal(text)


def _python_dict(path: Path, text: str) -> object:
    """The History dict of a file written with ``str(history.history)``, as a literal."""
    try:
        return history_literal(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError) as e:
        where = f" (line {e.lineno})" if isinstance(e, SyntaxError) and e.lineno else ""
        raise ReadError(path, f"not a Python dict of per-epoch lists{where}: "
                              f"{type(e).__name__}") from None


def read(path: Path, aliases: Mapping[str, str] | None = None) -> list[Run]:
    """One run per file: every list a metric, its index the epoch (or the file's own epoch
    list, ``"epochs": [1, 2, ...]``); a ``config``/``params`` mapping beside them gives the
    params, a number beside them (``"test_loss": 0.19``) a result."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ReadError(path, f"larger than {MAX_BYTES >> 20} MiB; not a Keras history")
        text = path.read_text(encoding="utf-8-sig")  # a BOM (Windows tools) is no JSON
    except OSError as e:
        raise ReadError(path, f"cannot read: {e.strerror or e}") from e
    if not text.strip():
        raise ReadError(path, "empty file: no Keras history in it")
    if path.suffix.lower() in _TEXT_SUFFIXES:
        data = _python_dict(path, text)
    else:
        try:
            data = _loads(text)
        except ValueError as e:
            # ``f.write(str(history.history))`` into a .json file: Python's text (its keys in
            # single quotes, as Python prints them), not JSON
            if not _PYTHON_HEAD.match(text.lstrip().encode()[:4096]):
                raise ReadError(path, f"not valid JSON: {e}") from None
            data = _python_dict(path, text)
        if isinstance(data, str) and _TEXT_HEAD.match(data.lstrip().encode()[:4096]):
            # ``json.dump(str(history.history), f)``: one JSON string holding that text
            data = _python_dict(path, data)
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        data = _columns(data)
    if not isinstance(data, dict) or not data:
        raise ReadError(path, "expected an object of per-epoch lists ({\"loss\": [...], ...}) "
                              "or a list of per-epoch records ([{\"epoch\": 1, \"loss\": ...}, ...])")
    params: dict = {}
    outer = data
    if isinstance(data.get("history"), dict):  # {"history": history.history, "params": ...}
        outer, data = data, data["history"]
        params = _settings(outer)
    experiment = _experiment(data) or _experiment(outer)
    params = {**_settings(data), **params}
    notes: list[str] = []
    data = _unnested_losses(path, _split_losses(path, _flattened(_from_row_labels(data)), notes),
                            notes)
    axis_key = next((k for k in AXIS_KEYS if _is_axis(data.get(k))), None)
    axis = data[axis_key] if axis_key else None
    # what a step is: an epoch (Keras's History), an optimizer step (a file's own ``step``
    # counter) or a batch (lists that keep every batch's value)
    unit = "step" if axis_key in ("step", "steps") else "epoch"
    steps, names, values = [], [], []
    layout = _per_batch_layout(data) if axis is None else None
    per_epoch = 1  # steps per epoch: a batch each when the lists hold every batch's value
    if layout is not None:
        data, axis = _on_batch_steps(path, data, *layout, notes)
        per_epoch, unit = layout[1], "batch"
    results: dict = {}
    for name, series in data.items():
        if name in AXIS_KEYS and series is axis:
            continue
        if not isinstance(series, list):
            if isinstance(series, (int, float)) and not isinstance(series, bool):
                results[str(name)] = float(series)  # a final number (test_loss): a result
            continue  # settings (read above) or anything else that is no per-epoch list
        if series and all(isinstance(v, str) for v in series):
            notes.append(f"{path}: {name!r} holds text, not numbers; not read")
            continue
        if series and all(isinstance(v, list) and all(map(_number, v)) for v in series):
            # a list of numbers per epoch (one F1 per class): no curve the rules read, and no
            # reason to lose the run's other metrics over it
            notes.append(f"{path}: {name!r} holds a list of {len(series[0])} numbers per epoch "
                         "(one per class?), not one number; not read")
            continue
        at = axis if axis is not None and len(axis) == len(series) else range(len(series))
        for epoch, (step, v) in enumerate(zip(at, series)):
            if v is _ABSENT:
                continue
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise ReadError(path, f"{name!r}[{epoch}] is not a number: {v!r}")
            steps.append(int(step))
            names.append(str(name))
            values.append(math.nan if v is None else float(v))
    if not names:
        raise ReadError(path, "no per-epoch list of numbers in it ({\"loss\": [...], ...})")
    m = NAME.match(path.name)
    stem = (m.group("a") or m.group("b")) if m else path.stem  # a file of its own name: that name
    rid = stem or path.parent.name or path.stem
    run = Run(id=rid, metrics=EMPTY, params=params, results=results, path=str(path),
              format="keras")
    if experiment:
        run.identity["experiment_name"] = experiment
    if unit != "epoch":
        run.identity["step_unit"] = unit
    run.warnings.extend(notes)
    finish_metrics(run, steps, names, values, aliases, str(path),
                   epoch=None if unit == "step" else [float(s // per_epoch) for s in steps])
    return [run]
