"""Params that live outside a log format's own metadata: Hydra files, sweep folder names, and
the settings a training script printed before its first record.

A sweep usually says what it changed in two places a reader can see without the
training code: Hydra's ``.hydra/overrides.yaml`` / ``.hydra/config.yaml`` next to the
job, and ``key=value`` folder names (``sweep/lr=0.1/seed=2``, or Hydra's
``override_dirname`` form ``lr=0.1,seed=2``). Both fill params the format left unset.
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

from .._errors import ReadError
from ..run import CAMEL
from . import _yaml
from ._safe_open import read_text

__all__ = [
    "CONFIG_FIELDS",
    "compile_pattern",
    "file_params",
    "flatten",
    "hydra_params",
    "parse_value",
    "path_params",
    "printed_params",
    "read_yaml_params",
    "with_extra_params",
]

_INT = re.compile(r"[-+]?[0-9]+$")
_FLOAT = re.compile(r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$")
_WORDS: dict[str, Any] = {
    "true": True, "false": False, "none": None, "null": None,
    "nan": math.nan, "inf": math.inf, "+inf": math.inf, "-inf": -math.inf,
    "infinity": math.inf, "-infinity": -math.inf,
}
_SEGMENT = re.compile(r"^\+{0,2}([A-Za-z_][\w.\-/]*)=(.*)$")
#: Knobs people spell in folder names without ``=`` (``lr_sweep_3e-3``, ``lr-0.001``,
#: ``lr3e-3``, ``bs64``, ``lr 1E2``), with the name the rules use. Only these: ``version_0`` or
#: ``run2`` name a run, not a setting.
_KNOB_WORDS = {
    "lr": "lr", "learning_rate": "lr", "learningrate": "lr", "bs": "batch_size",
    "batch_size": "batch_size", "batchsize": "batch_size", "batch": "batch_size",
    "wd": "weight_decay", "weight_decay": "weight_decay", "dropout": "dropout",
    "seed": "seed", "momentum": "momentum", "epochs": "epochs",
}
_KNOB_TOKEN = re.compile(
    r"(?:^|[_\-\s])(?P<k>" + "|".join(sorted(_KNOB_WORDS, key=len, reverse=True)) + r")"
    r"(?:[_\-\s](?:sweep|search|grid))?[_\-\s]?"
    r"(?P<v>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)(?=$|[_\-\s])", re.IGNORECASE)
#: Knobs whose values are fractions: spelled in a name with a leading zero and no point
#: (``lr03``, ``dropout05``) they say neither 3 nor which fraction, and are not read.
_FRACTION_KNOBS = frozenset({"lr", "weight_decay", "dropout", "momentum"})
#: Keys of a training script's argument dump (timm's ``args.yaml``) that give the number of
#: classes: not a knob a sweep varies, but what the chance level ln K is read from.
CLASS_KEYS = frozenset({"num_classes", "n_classes", "num_labels"})
#: How many folders up (the run's own included) a name without ``=`` may set a knob.
NAME_LEVELS = 3
#: Files beside a log where people keep a run's settings (flat or one level nested).
PARAM_FILES = ("config.json", "args.json", "hparams.json", "params.json", "config.yaml",
               "args.yaml")
#: Of such a file, only the keys that name a tuning knob become params (a model's config.json
#: also lists its layer sizes, vocabulary, ...: those are not what a sweep varies).
KNOB_KEYS = frozenset({
    "lr", "learning_rate", "batch_size", "per_device_train_batch_size", "weight_decay",
    "dropout", "seed", "momentum", "epochs", "num_epochs", "num_train_epochs", "optimizer",
    "warmup_steps", "warmup_ratio", "max_grad_norm", "label_smoothing", "scheduler",
})
#: The identity field where a reader keeps the names a run's settings file records
#: (:func:`file_params`): not shown, compared when runs are grouped into experiments.
CONFIG_FIELDS = "config_fields"
#: How far above a run to look for Hydra's ``.hydra`` folder.
HYDRA_LEVELS = 3


def parse_value(text: str) -> Any:
    """A param value as written in text: int, float, bool or None when it looks like one."""
    s = text.strip()
    low = s.lower()
    if low in _WORDS:
        return _WORDS[low]
    if _INT.match(s):
        return int(s)
    if _FLOAT.match(s):
        return float(s)
    return s


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings to dotted keys; scientific-notation strings (YAML 1.1 leaves them) to floats.

    A leaf whose last key is unique also appears under that short key (``optimizer.lr`` ->
    ``lr``) unless the short key is taken, so rules that ask for ``lr`` find it.
    """
    out: dict[str, Any] = {}
    _flatten_into(obj, prefix, out)
    leaves: dict[str, list[str]] = {}
    for k in out:
        if "." in k:
            leaves.setdefault(k.rsplit(".", 1)[1], []).append(k)
    for leaf, keys in leaves.items():
        if len(keys) == 1 and leaf not in out:
            out[leaf] = out[keys[0]]
    return out


def _flatten_into(obj: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            _flatten_into(v, f"{prefix}.{k}" if prefix else str(k), out)
        return
    if isinstance(obj, str) and _FLOAT.match(obj.strip()) and "e" in obj.lower():
        obj = float(obj)
    if isinstance(obj, (set, tuple)):
        obj = list(obj)
    if prefix:
        out[prefix] = obj


#: Keys a printed ``key: value`` line is read for (a loop that logs its settings one per line,
#: ``INFO - learning_rate: 0.001``): the tuning knobs and the class count; other such lines
#: (``Epoch: 3``, ``Model: resnet``) are not settings a rule asks for.
PRINTED_KEYS = KNOB_KEYS | CLASS_KEYS
#: longest printed settings text parsed (argparse's ``Namespace`` or a config dict)
PRINTED_MAX_CHARS = 100_000
#: most lines a pretty-printed config dict may span
PRINTED_MAX_LINES = 300
_NAMESPACE = re.compile(r"\bNamespace\((.*)\)\s*$")
_DICT_OPEN = re.compile(r"^(?:[^{'\"]*?[\s:=|-])?(\{.*)$")
_KEY_VALUE = re.compile(r"^(?:.*?[\s:|\]-])?([A-Za-z_][\w.]*)\s*[:=]\s*([-+\w.]+)\s*$")
#: one ``key = value`` piece of a settings row (:func:`_settings_row`); the key one name or up to
#: four words (``Batch size: 64``)
_ROW_PAIR = re.compile(r"^\s*([A-Za-z_]\w*(?: [A-Za-z]+){0,3})\s*[:=]\s*([-+\w.]+)\s*$")
#: a label before a settings row's first ``key=value`` (``Config: epochs=200 | lr=0.1``)
_ROW_LABEL = re.compile(r"^[^=:]*[:\]]\s*(?=[A-Za-z_]\w*\s*=)")
#: the pieces of a settings row: split at commas or at ``|``
_ROW_SPLIT = re.compile(r"[,|]")
#: a setting named in words, alone on its line (``  Learning rate: 0.01``, ``Number of classes:
#: 6``): the words joined as a key, so it counts only when it names a knob (:data:`PRINTED_KEYS`)
_WORDS_VALUE = re.compile(r"^\s*(?:[-*]\s+)?([A-Za-z]+(?: [A-Za-z]+){0,3})\s*:\s*([-+\w.]+)\s*$")
#: keys (in words or one name) that name a knob by another spelling
_WORD_KEYS = {"number_of_classes": "num_classes", "number_of_epochs": "num_epochs",
              "num_of_classes": "num_classes", "num_class": "num_classes", "wd": "weight_decay"}


def _literal_entries(entries: Iterable[tuple[Any, ast.expr]]) -> dict[Any, Any]:
    """The entries whose value (and key, when a node) is a literal; a call such as pprint's
    ``device(type='cpu')`` is left out. ``ast.literal_eval`` never evaluates code."""
    out: dict[Any, Any] = {}
    for k, v in entries:
        try:
            out[k if isinstance(k, str) else ast.literal_eval(k)] = ast.literal_eval(v)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return out


#: an object's default repr (``<function relu at 0x7f..>``, ``<class 'torch.optim.adam.Adam'>``),
#: which is not Python: it stands for a value that is no literal
_OBJECT_REPR = re.compile(r"<[A-Za-z_][^<>\n]*>")


def _parsed(text: str) -> ast.expr | None:
    """The expression ``text`` holds, or None (too long, not Python, nested past the stack).

    A printed object repr (``act=<function relu at 0x7f..>``) would make the whole text
    unparsable and lose every other setting, so it is read as a call (``act=f()``), which
    is no literal and is left out like ``device(type='cuda')``."""
    if len(text) > PRINTED_MAX_CHARS:
        return None
    for attempt in (text, _OBJECT_REPR.sub("f()", text)):
        try:
            return ast.parse(attempt, mode="eval").body
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            continue
    return None


def _literal(text: str) -> Any:
    """A JSON object, or a Python dict display with its literal entries only, or None."""
    if len(text) > PRINTED_MAX_CHARS:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    node = _parsed(text)
    return _literal_entries(zip(node.keys, node.values, strict=True)) if isinstance(node, ast.Dict) else None


def _namespace(inner: str) -> dict[str, Any]:
    """The literal keywords of ``Namespace(a=1, b='x', dev=device(type='cuda'))`` (``dev`` is
    not a literal and is left out)."""
    call = _parsed(f"f({inner})")
    if not isinstance(call, ast.Call):
        return {}
    return _literal_entries((kw.arg, kw.value) for kw in call.keywords if kw.arg)


def _is_settings(d: Any) -> bool:
    """A dict of settings: it names a knob (not a class-to-index map) and no metric (not a
    record like ``{'loss': 0.5, 'epoch': 1}``)."""
    if not isinstance(d, dict) or not d:
        return False
    keys = [str(k).lower() for k in flatten(d)]
    return any(k.rsplit(".", 1)[-1] in PRINTED_KEYS for k in keys) and \
        not any("loss" in k or "acc" in k for k in keys)


def _row_key(key: str) -> str:
    """A settings row's key as the snake_case name rules ask for: ``WeightDecay`` and
    ``Weight decay`` -> ``weight_decay``, ``LR`` -> ``lr``."""
    return CAMEL.sub("_", key.strip()).lower().replace(" ", "_")


def _settings_row(line: str) -> dict[str, Any]:
    """The knobs of a line of settings printed as ``LR = 0.001, batch_size = 512, block_size =
    9`` (a course's homework loop) or ``[Optimizer] Adam | LR=0.0001 | WeightDecay=0.0001``:
    every piece between commas or ``|`` one ``key = value`` (the first may follow a label, or be
    a label with no digit), none of them a loss or an accuracy (``Steps = 0, loss = 2.6`` is a
    record). Keys in any case, CamelCase or words."""
    pieces = _ROW_SPLIT.split(line)
    if len(pieces) < 2:
        return {}
    if not _ROW_PAIR.match(pieces[0]):
        head = _ROW_LABEL.sub("", pieces[0], count=1)  # ``Config: epochs=200`` -> ``epochs=200``
        if _ROW_PAIR.match(head):
            pieces[0] = head
        elif not any(c.isdigit() for c in pieces[0]):
            pieces = pieces[1:]  # a label such as ``[Optimizer] Adam``
    pairs = [_ROW_PAIR.match(p) for p in pieces]
    if not all(pairs):
        return {}
    keys = [_row_key(p.group(1)) for p in pairs]
    row = {_WORD_KEYS.get(k, k): parse_value(p.group(2)) for k, p in zip(keys, pairs)}
    return {k: v for k, v in row.items() if k in PRINTED_KEYS} if _is_settings(row) else {}


def printed_params(lines: Sequence[str]) -> tuple[dict[str, Any], int, str]:
    """The settings a training script printed before training, the index of the line they
    start on and what they were read from ({}, -1, "" when none).

    Scripts print argparse's ``Namespace(lr=0.1, ...)``, a config dict (``{'lr': 0.1, ...}``
    on one line, or pretty-printed over several, behind any prefix), or one ``key: value``
    line per setting. The first Namespace or settings dict wins; ``key: value`` lines add
    only the knobs in :data:`PRINTED_KEYS` (and only when no Namespace or dict was found).
    Values are literals only: nothing printed is ever evaluated.
    """
    found: dict[str, Any] = {}
    first = -1
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        m = _NAMESPACE.search(line)
        if m:
            ns = _namespace(m.group(1))
            if ns:
                return flatten(ns), i, "argparse's Namespace"
        m = _DICT_OPEN.match(line) if "{" in line else None
        if m:
            end = i  # a pretty-printed dict ends on the first line that ends with ``}``
            while not lines[end].rstrip().endswith("}") and end + 1 < min(len(lines), i + PRINTED_MAX_LINES):
                end += 1
            d = _literal("\n".join([m.group(1), *(x.rstrip() for x in lines[i + 1:end + 1])]))
            if _is_settings(d):
                return flatten(d), i, "a printed config dict"
            i = end + 1  # its lines are the dict's, not settings of their own
            continue
        row = _settings_row(line)
        if row:
            for key, value in row.items():
                found.setdefault(key, value)
            first = i if first < 0 else first
            i += 1
            continue
        m = _KEY_VALUE.match(line)
        key = m.group(1).rsplit(".", 1)[-1] if m else ""
        key = _WORD_KEYS.get(key, key)
        if key not in PRINTED_KEYS:
            w = _WORDS_VALUE.match(line)
            if w:
                key = w.group(1).lower().replace(" ", "_")
                key, m = _WORD_KEYS.get(key, key), w
        if key in PRINTED_KEYS:
            found.setdefault(key, parse_value(m.group(2)))
            first = i if first < 0 else first
        i += 1
    return found, first, ("'key: value' lines" if found else "")


#: A params YAML file bigger than this is not one (and is not read whole).
PARAMS_MAX_BYTES = 16 << 20


def _text(path: Path) -> str:
    return read_text(path, PARAMS_MAX_BYTES, errors="replace")


def read_yaml_params(path: Path) -> tuple[dict[str, Any], list[str]]:
    """A YAML mapping file (``hparams.yaml``, ``config.yaml``) as flat params, and notes.

    A file that cannot be parsed gives no params and a note; the metrics stay readable.
    """
    try:
        data = _yaml.load(_text(path))
    except (OSError, ReadError, _yaml.YAMLError, RecursionError) as e:
        return {}, [f"{path}: params not read ({e})"]
    if data is None:
        return {}, []
    if not isinstance(data, Mapping):
        return {}, [f"{path}: params not read (expected a mapping, got {type(data).__name__})"]
    return flatten(data), []


def path_params(path: str | os.PathLike, patterns: Sequence[re.Pattern[str]] = ()) -> dict[str, Any]:
    """``key=value`` folder names along ``path`` (nearest folder wins on repeated keys).

    The one parser of params spelled in paths: ``lr=nan`` is NaN, ``wd=none`` is None
    and ``opt=adam_lr=3`` is ``opt`` = ``"adam_lr=3"`` (the first ``=`` splits, as Hydra's
    overrides do). With ``--group-by`` ``patterns`` (see
    :func:`compile_pattern`), the fields the first matching one
    captures instead, and nothing when none matches.
    """
    if patterns:
        posix = PurePath(path).as_posix()
        for pat in patterns:
            m = pat.search(posix)
            if m:
                return {k: parse_value(v) for k, v in m.groupdict().items() if v is not None}
        return {}
    out: dict[str, Any] = {}
    parts_of = Path(path).parts
    near = len(parts_of) - NAME_LEVELS
    for i, seg in enumerate(parts_of):
        if "=" not in seg:
            if i < near:
                continue  # far above the run: a home or temp folder's name, not a setting
            for m in _KNOB_TOKEN.finditer(seg):
                key, v = _KNOB_WORDS[m.group("k").lower()], m.group("v")
                if key in _FRACTION_KNOBS and re.fullmatch(r"0\d+", v):
                    continue  # ``lr03``, ``wd0001``: a point dropped, 0.3 or 0.03? not a guess
                out[key] = parse_value(v)
            continue
        parts = seg.split(",") if seg.count("=") > 1 else [seg]
        pairs = [_SEGMENT.match(p) for p in parts]
        if all(pairs):
            for m in pairs:
                out[m.group(1)] = parse_value(m.group(2))
    return out


def file_params(path: Path) -> tuple[dict[str, Any], list[str], str]:
    """Knob settings from a ``config.json`` / ``args.json`` / ... beside the log, notes, and
    the names the first such file records (its top-level keys, and the last part of a nested
    key where that is unique, sorted and comma-joined; "" when there is none).

    The run's own folder only; JSON or YAML, flat or nested (``{"optimizer": {"lr":
    0.003}}`` gives ``lr``), and the number of classes from an ``args`` file. A file that
    cannot be parsed gives a note, not an error. The names tell two projects built from one
    template apart: Stanford CS230's ``params.json`` holds the same knobs in both, not the
    same other fields.
    One listing of the folder, not a stat per candidate name: this runs for every run read.
    """
    d = path if path.is_dir() else path.parent
    try:
        present = set(os.listdir(d))
    except OSError:
        return {}, [], ""
    out: dict[str, Any] = {}
    notes: list[str] = []
    fields = ""
    for name in PARAM_FILES:
        if name not in present:
            continue
        f = d / name
        if not f.is_file():
            continue
        if name.endswith(".json"):
            try:
                data = json.loads(_text(f))
            except (OSError, ReadError, ValueError, RecursionError) as e:
                notes.append(f"{f}: params not read ({e})")
                continue
            flat = flatten(data) if isinstance(data, Mapping) else {}
        else:
            flat, more = read_yaml_params(f)
            notes += more
        fields = fields or ",".join(sorted({k.split(".", 1)[0] for k in flat}))
        # an argparse dump (timm's args.yaml) holds what the classifier head was built with; a
        # config.yaml's n_classes may count anything (a lane detector's lanes beside a summed loss)
        for k, v in knob_params(flat, classes=name.startswith("args.")).items():
            out.setdefault(k, v)
    return out, notes, fields


def knob_params(data: Mapping[str, Any], classes: bool = False) -> dict[str, Any]:
    """The tuning knobs (:data:`KNOB_KEYS`) of a flat or nested settings mapping, with
    ``learning_rate`` as ``lr``: what a sweep varies, not a model's layer sizes; with
    ``classes``, also the number of classes (:data:`CLASS_KEYS`) when it is a top-level count
    above 1."""
    out: dict[str, Any] = {}
    for k, v in flatten(data).items():
        if "." not in k and k in KNOB_KEYS and isinstance(v, (int, float, str, bool)):
            out.setdefault("lr" if k == "learning_rate" else k, v)
        elif classes and "." not in k and k in CLASS_KEYS and type(v) is int and v > 1:
            out.setdefault(k, v)  # the chance level ln K of the uniform-predictions reading
    return out


def hydra_params(start: Path, levels: int = HYDRA_LEVELS) -> tuple[dict[str, Any], list[str]]:
    """Params from the nearest ``.hydra`` folder at or above ``start``: config, then overrides.

    Overrides win over the config because they are what the sweep set for this job.
    """
    d = str(start)
    if not os.path.isdir(d):
        d = os.path.dirname(d)
    for _ in range(levels + 1):  # plain strings: asked for every run a check reads
        hydra = os.path.join(d, ".hydra")
        if os.path.isdir(hydra):
            return _read_hydra(Path(hydra))
        up = os.path.dirname(d)
        if up == d:
            break
        d = up
    return {}, []


def _read_hydra(hydra: Path) -> tuple[dict[str, Any], list[str]]:
    notes: list[str] = []
    config: Any = {}
    cfg = hydra / "config.yaml"
    if cfg.is_file():
        try:
            config = _yaml.load(_text(cfg)) or {}
        except (OSError, ReadError, _yaml.YAMLError, RecursionError) as e:
            notes.append(f"{cfg}: params not read ({e})")
    if not isinstance(config, dict):
        notes.append(f"{cfg}: params not read (expected a mapping)")
        config = {}
    ovr = hydra / "overrides.yaml"
    if ovr.is_file():
        try:
            items = _yaml.load(_text(ovr)) or []
        except (OSError, ReadError, _yaml.YAMLError, RecursionError) as e:
            items = []
            notes.append(f"{ovr}: overrides not read ({e})")
        for item in items if isinstance(items, list) else []:
            m = _SEGMENT.match(str(item))
            if m:
                _set_dotted(config, m.group(1), parse_value(m.group(2)))
    return flatten(config), notes


def _set_dotted(tree: dict[str, Any], key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    node = tree
    for p in parents:
        nxt = node.get(p)
        if not isinstance(nxt, dict):
            nxt = node[p] = {}
        node = nxt
    node[leaf] = value


def with_extra_params(
    params: dict[str, Any], path: Path, levels: int = HYDRA_LEVELS
) -> tuple[dict[str, Any], list[str], str]:
    """``params`` plus Hydra, files beside the log and folder-name params, for keys it does
    not already have (in that order: what a file says wins over a folder's name); notes; and
    the names the settings file beside the log records (:func:`file_params`)."""
    hydra, notes = hydra_params(path, levels)
    beside, more, fields = file_params(path)
    notes += more
    out = dict(params)
    for source in (hydra, beside, path_params(path)):
        for k, v in source.items():
            out.setdefault(k, v)
    return out, notes, fields


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A ``--group-by`` pattern as a regex over a run's path.

    Either a regex with named groups (``(?P<lr>[^/]+)``) or a glob whose
    ``name=*`` and ``{name}`` pieces capture the value of ``name`` (``lr=*/seed=*``);
    a bare ``*`` matches within one path segment, ``**`` across segments.
    """
    if "(?P<" in pattern:
        try:
            return re.compile(pattern)
        except re.error as e:
            raise ValueError(f"--group-by {pattern!r}: not a valid regex ({e})") from None
    out, i = [], 0
    token = re.compile(r"([A-Za-z_][A-Za-z0-9_.\-]*)=\*|\{([A-Za-z_][A-Za-z0-9_]*)\}|\*\*|\*")
    names: list[str] = []
    for m in token.finditer(pattern):
        out.append(re.escape(pattern[i:m.start()]))
        if m.group(1):
            name = m.group(1)
            out.append(re.escape(name) + "=" + _capture(name, names))
        elif m.group(2):
            out.append(_capture(m.group(2), names))
        else:
            out.append(".*" if m.group(0) == "**" else "[^/]*")
        i = m.end()
    out.append(re.escape(pattern[i:]))
    if not names:
        raise ValueError(
            f"--group-by {pattern!r} names no field: use name=* pieces (lr=*/seed=*) "
            "or a regex with named groups ((?P<lr>[^/]+))"
        )
    return re.compile("(?:^|/)" + "".join(out) + "(?:/|$)")


def _capture(name: str, names: list[str]) -> str:
    group = re.sub(r"\W", "_", name)
    if group in names:
        return f"(?P={group})"
    names.append(group)
    return f"(?P<{group}>[^/]*?)"
