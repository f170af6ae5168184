"""Records from the stdout of two tools, for :mod:`diagnose.readers.textlog`.

- **Keras** ``model.fit``: an ``Epoch N/M`` line, then progress records
  ``12/15 ━━━━ 0s 2ms/step - accuracy: 0.9000 - loss: 0.2000`` (Keras 3) or
  ``12/15 [====>...] - ETA: 0s - loss: 0.2000 - acc: 0.9000`` (Keras 2, tf.keras), redrawn
  in place with ``\\r`` and backspaces (verbose=1) or printed once (verbose=2). The epoch's
  values are on its first finished record (counter at its total; Keras 2.2's verbose=2
  ``- 1s - loss: ...`` has no counter); records after it in the same block are
  ``evaluate``/``predict`` bars, not the epoch.
- **Hugging Face** ``Trainer``: the dicts its ``ProgressCallback`` prints
  (``{'loss': 0.69, ..., 'epoch': 0.5}``; transformers 5 prints the floats as strings),
  read with ``ast.literal_eval``. Steps come from the tqdm bar of the training loop: the
  redraw tqdm makes right after printing the dict shows the step exactly; the bar before
  it may lag (tqdm redraws at most every 0.1 s).
- **cuda-convnet** (Krizhevsky's trainer and its forks, decaf, cuda-convnet2): one line per
  minibatch, ``epoch.batch... cost: value, error (time)`` (cuda-convnet2 adds the progress,
  ``1.2 (0.01%)... logprob:  7.00, 0.999, 0.994``: the cost, the top-1 and the top-5 error),
  and every test a ``Test output`` banner over the same line for the held-out batches.
- **Keras's History, printed**: ``print(history.history)`` (or a ``logging`` line that ends with
  it) after ``fit``: one dict of per-epoch lists, ``{'val_loss': [3.30, 3.47, ...], 'loss':
  [...], ...}``, read as a literal (never run), its index the epoch from 0 as ``CSVLogger``
  numbers them. Each such line is one run's history.
- **fairseq** (``fairseq-train``'s simple log format, with or without the ``logging`` prefix
  ``date time | INFO | train_inner |``): a ``train_inner`` line every ``--log-interval``
  updates (``epoch 003:    100 / 282 loss=3.15, nll_loss=1.24, ..., num_updates=664, ...``),
  a ``valid`` line per validation (``epoch 003 | valid on 'valid' subset | loss 4.37 | ... |
  num_updates 846``) and an epoch's ``train`` summary (``epoch 003 | loss 3.2 | ...``).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .._pyparse import literal
from ._frame import parse_float
from .hf import _NOT_METRICS, _SUMMARY_KEYS
from .keras_json import history_literal

__all__ = ["NUMBER", "Rec", "comma_pairs", "convnet_records", "fairseq_records", "hf_records",
           "history_records", "keras_records", "llmc_records"]

#: a number as loggers print it (``1e-05``, ``.5``, ``nan``, ``-inf``)
NUMBER = r"(?:[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf(?:inity)?))"
_EPOCH_HEAD = re.compile(r"^\s*Epoch (\d+)/(\d+)\s*$")
_KERAS_COUNTER = re.compile(r"^\s*(\d+)/(\d+)\s")
_KERAS_PAIR = re.compile(rf"\s-\s([A-Za-z_][\w]*):\s+({NUMBER})(?=\s|$)", re.I)
_KERAS_OLD = re.compile(r"^\s*-\s+\d+s\s")  # Keras 2.2 verbose=2: " - 1s - loss: ..."
_TQDM = re.compile(r"(?:^|[|\s])(\d+)/(\d+) \[")
_DICT = re.compile(r"^\s*(\{'[A-Za-z_][\w/.-]*': .*\})\s*$")
#: a key a Trainer record holds (its loss, an ``eval_`` metric, the learning rate): a printed dict
#: with none of them is a configuration that happens to name an ``epoch``, not a log record
_METRIC_KEY = re.compile(r"loss|acc|^eval_|learning_rate|^lr$|perplexity|f1|grad_norm",
                         re.IGNORECASE)


@dataclass
class Rec:
    """One record of a log: where it is, its counter (None: none on the line) and values."""

    line: int
    step: int | None
    values: list[tuple[str, float]]
    epoch: float = math.nan
    kind: str = "train"  # or "val" (only validation values) or "eval" (HF)
    part: int = 0  # which run of the file (a Trainer's summary ends one)
    notes: list[str] = field(default_factory=list)


# -- Keras ------------------------------------------------------------------------------------


#: a cell of a comma-separated print line that names the next cell's value (``train loss``)
_PAIR_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_./-]*(?: [A-Za-z][A-Za-z0-9_./-]*){0,3}$")
#: its value: a number (a percent, seconds) or a counter of a total (``1/20``)
_PAIR_VALUE = re.compile(rf"^(?:{NUMBER}(?:%|s)?|\d+/\d+)$", re.I)


def comma_pairs(line: str) -> str | None:
    """A print line that alternates names and values between commas (``Epoch, 1/20, train
    loss, 1.1140, train acc, 41.71%``: ``print(..., sep=", ")`` or a ``csv.writer`` row of
    pairs) spelled as ``name: value`` pairs, or None for any other line. A table's header
    never alternates names and numbers, nor does its data row begin with a name: such a
    file is a print log whatever its suffix."""
    raw = line.split(",")
    if len(raw) < 4 or len(raw) % 2 or not _PAIR_NAME.match(raw[0].strip()):
        return None  # most lines of a log end here, before every cell is stripped
    cells = [c.strip() for c in raw]
    names, values = cells[0::2], cells[1::2]
    if not (all(_PAIR_NAME.match(n) for n in names) and all(_PAIR_VALUE.match(v) for v in values)):
        return None
    return " | ".join(f"{n}: {v}" for n, v in zip(names, values))


def keras_records(lines: list[list[str]]) -> tuple[list[Rec], int, list[int]]:
    """(one record per finished epoch, epoch headers seen, lines of epochs that did not finish).

    ``lines``: each line's segments (split on ``\\r`` and backspaces, ANSI codes removed).
    """
    out: list[Rec] = []
    heads = 0
    unfinished: list[int] = []
    block: tuple[int, int] | None = None  # (line of the header, epoch number)
    done = False
    last_seen: int | None = None
    for i, segs in enumerate(lines, start=1):
        for seg in segs:
            m = _EPOCH_HEAD.match(seg)
            if m:
                if block is not None and not done and last_seen is not None:
                    unfinished.append(block[0])
                heads += 1
                block, done, last_seen = (i, int(m.group(1))), False, None
                continue
            if block is None:
                continue
            rec = _keras_record(seg)
            if rec is None:
                continue
            finished, pairs = rec
            if done:
                # the bar reaches its total at the last batch (train values only), and Keras
                # draws it once more when the epoch ends, with the validation values: the
                # later drawing is the epoch's record (a terminal capture holds both, split by
                # ``\r`` or by a warning printed between them)
                if finished and len(pairs) > len(out[-1].values):
                    out[-1] = Rec(i, block[1] - 1, pairs, epoch=float(block[1] - 1))
                continue
            last_seen = i
            if finished:
                out.append(Rec(i, block[1] - 1, pairs, epoch=float(block[1] - 1)))
                done = True
    if block is not None and not done and last_seen is not None:
        unfinished.append(block[0])
    return out, heads, unfinished


def _keras_record(seg: str) -> tuple[bool, list[tuple[str, float]]] | None:
    """(finished?, values) of a progress record, or None when ``seg`` is not one."""
    m = _KERAS_COUNTER.match(seg)
    if m is None and not _KERAS_OLD.match(seg):
        return None
    pairs = [(k, parse_float(v)) for k, v in _KERAS_PAIR.findall(seg)]
    if not pairs:
        return None
    return (m is None or int(m.group(1)) == int(m.group(2))), pairs


# -- Hugging Face -----------------------------------------------------------------------------


def hf_dict(seg: str) -> dict[str, Any] | None:
    """The Trainer's printed log dict in ``seg`` (None: not one); raises ValueError when it
    looks like one but does not parse (a torn or damaged line)."""
    m = _DICT.match(seg)
    if m is None:
        return None
    try:
        d = literal(m.group(1))
    except (SyntaxError, ValueError, MemoryError, RecursionError) as e:
        raise ValueError(f"not a Python dict literal ({type(e).__name__})") from e
    if not isinstance(d, dict) or not all(isinstance(k, str) for k in d):
        raise ValueError("not a dict with string keys")
    return d


def _number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return parse_float(v)
        except ValueError:
            return None
    return None


def hf_records(lines: list[list[str]], bad: list[int]) -> tuple[list[Rec], list[str]]:
    """Records of the Trainer's printed dicts, with steps from its tqdm bar; and notes.

    ``bad`` collects the lines of dicts that do not parse.
    """
    dicts: list[tuple[int, int, dict[str, Any]]] = []  # (line index, segment index, dict)
    for i, segs in enumerate(lines):
        for j, seg in enumerate(segs):
            try:
                d = hf_dict(seg)
            except ValueError:
                bad.append(i + 1)
                continue
            if d is not None:
                dicts.append((i, j, d))
    total = _training_total(lines, dicts)
    parts: list[tuple[list[Rec], list[int | None], float | None]] = [([], [], None)]
    for i, j, d in dicts:
        epoch = _number(d.get("epoch"))
        if _SUMMARY_KEYS & d.keys():
            parts[-1] = (parts[-1][0], parts[-1][1], epoch)  # this run ends here
            parts.append(([], [], None))
            continue
        values = [(k, x) for k, v in d.items() if k not in _NOT_METRICS
                  for x in [_number(v)] if x is not None]
        if not any(_METRIC_KEY.search(k) for k, _ in values):
            continue  # a printed config ({'board_size': 8, 'epoch': 20, ...}) is no record
        kind = "eval" if any(k.startswith("eval_") for k, _ in values) else "train"
        parts[-1][0].append(Rec(i + 1, None, values, math.nan if epoch is None else epoch,
                                kind, part=len(parts) - 1))
        parts[-1][1].append(_bar_step(lines, i, j, total) if total else None)
    recs: list[Rec] = []
    notes: list[str] = []
    for part, bars, final_epoch in parts:
        notes.extend(n for n in _hf_steps(part, bars, total, final_epoch) if n not in notes)
        recs.extend(part)
    return recs, notes


def _hf_steps(recs: list[Rec], bars: list[int | None], total: int | None,
              final_epoch: float | None) -> list[str]:
    """Steps for one run's records: the bar's count where it agrees with the epoch, else the
    step the epoch gives; notes on what was derived."""
    per_epoch = _steps_per_epoch(recs, bars, total, final_epoch)
    derived = 0
    for r, bar in zip(recs, bars):
        if per_epoch and math.isfinite(r.epoch):
            exact = r.epoch * per_epoch
            # the bar's count, when it agrees with the epoch (a bar drawn before the log
            # line may lag behind); else the step the epoch gives
            close = bar is not None and abs(bar - exact) <= 0.5 + 5e-4 * exact
            r.step = bar if close else int(round(exact))
            derived += not close
        else:
            r.step = bar
    if any(r.step is None for r in recs):
        return _derive_steps(recs)
    if derived:
        return [f"{derived} Trainer log line(s) without a tqdm step count beside them: "
                f"their steps derived from the epoch ({per_epoch:g} steps per epoch)"]
    return []


def _steps_per_epoch(recs: list[Rec], bars: list[int | None], total: int | None,
                     final_epoch: float | None) -> float | None:
    """Optimizer steps per epoch: the bar's total over the final summary's epoch, else the
    median of bar count / epoch over the records that have both."""
    if total and final_epoch and final_epoch > 0:
        return total / final_epoch
    ratios = sorted(b / r.epoch for r, b in zip(recs, bars)
                    if b is not None and math.isfinite(r.epoch) and r.epoch > 0)
    return ratios[len(ratios) // 2] if ratios else None


def _training_total(lines: list[list[str]], dicts: list[tuple[int, int, dict[str, Any]]]
                    ) -> int | None:
    """The total of the training loop's tqdm bar: the bar tqdm redraws after each train dict."""
    totals: Counter[int] = Counter()
    for i, j, d in dicts:
        if "loss" in d or "learning_rate" in d:
            hit = _next_counter(lines, i, j)
            if hit is not None:
                totals[hit[1]] += 1
    return totals.most_common(1)[0][0] if totals else None


def _counters(seg: str) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in _TQDM.findall(seg)]


def _next_counter(lines: list[list[str]], i: int, j: int) -> tuple[int, int] | None:
    """The first bar counter after segment ``j`` of line ``i`` (on it or the next line)."""
    later = lines[i][j + 1:] + (lines[i + 1] if i + 1 < len(lines) else [])
    for seg in later:
        c = _counters(seg)
        if c:
            return c[0]
    return None


def _bar_step(lines: list[list[str]], i: int, j: int, total: int) -> int | None:
    """The training bar's count at a dict: its redraw after the dict, else the last count
    before it on the same or the previous line."""
    nxt = _next_counter(lines, i, j)
    if nxt is not None and nxt[1] == total:
        return nxt[0]
    before = (lines[i - 1] if i > 0 else []) + lines[i][:j]
    for seg in reversed(before):
        for n, t in reversed(_counters(seg)):
            if t == total:
                return n
    return None


def _derive_steps(recs: list[Rec]) -> list[str]:
    """Steps for a run none of whose records has a bar count beside it: the epoch in units
    of the finest decimal the Trainer printed (``'epoch': 0.22`` -> step 22), so train and
    evaluation records keep their order and spacing."""
    epochs = [r.epoch for r in recs if math.isfinite(r.epoch)]
    scale = next((10 ** d for d in range(5)
                  if all(abs(e * 10 ** d - round(e * 10 ** d)) < 1e-6 for e in epochs)), 10 ** 4)
    last = 0
    for r in recs:
        r.step = int(round(r.epoch * scale)) if math.isfinite(r.epoch) else last
        last = r.step
    return [f"no tqdm step count beside the Trainer's log lines: steps are the epoch x {scale} "
            "(hundredths of an epoch for 2 decimals), not optimizer steps"]


# -- cuda-convnet -----------------------------------------------------------------------------

#: a minibatch line: ``12.345... logprob:  0.47, 0.09 (1.400 sec)`` or cuda-convnet2's
#: ``1.2 (0.01%)... logprob:  7.00, 0.999, 0.994 (8.365 sec)``
_CONVNET_BATCH = re.compile(rf"^\s*(\d+)\.(\d+)(?:\s*\(\s*{NUMBER}%\s*\))?\.\.\.\s*(.*)$")
#: one cost layer's values: its name, then the cost and its error rate(s)
_CONVNET_COST = re.compile(rf"([A-Za-z_][\w]*):\s+({NUMBER}(?:\s*,\s*{NUMBER})*)")
_CONVNET_TEST = re.compile(r"^=+\s*Test output\s*=+\s*$")
#: what a cost layer's values are, in order (the logistic regression cost: the negative log
#: probability of the true class, then the top-1 and top-5 error rates)
_CONVNET_VALUES = ("loss", "error", "top5_error")


def convnet_records(lines: list[list[str]]) -> list[Rec]:
    """One train record per minibatch line, stepped 1, 2, ... in file order (the trainer
    prints every minibatch it trains on), and one validation record per ``Test output``
    block, at the step of the minibatch before it. Empty unless the log has at least
    one minibatch line."""
    out: list[Rec] = []
    step = 0
    testing = False
    for i, segs in enumerate(lines, start=1):
        seg = segs[-1] if segs else ""
        m = _CONVNET_BATCH.match(seg)
        if m:
            testing = False
            values = _convnet_values(m.group(3), "")
            if values:
                step += 1
                out.append(Rec(i, step, values, epoch=float(int(m.group(1)) - 1)))
            continue
        if _CONVNET_TEST.match(seg):
            testing = True
            continue
        if testing and step:
            values = _convnet_values(seg, "val_")
            if values:
                out.append(Rec(i, step, values, kind="val"))
                testing = False
    return out if any(r.kind == "train" for r in out) else []


def _convnet_values(text: str, prefix: str) -> list[tuple[str, float]]:
    """The named values of one line's cost layers: the first layer's are the loss and its
    error rates; another layer's keep the layer's name (``sqdiff``, ``sqdiff_error``)."""
    values: list[tuple[str, float]] = []
    for k, m in enumerate(_CONVNET_COST.finditer(text)):
        numbers = [parse_float(x) for x in re.split(r"\s*,\s*", m.group(2).strip())]
        names = _CONVNET_VALUES if k == 0 else \
            (m.group(1).lower(), *(f"{m.group(1).lower()}_{n}" for n in _CONVNET_VALUES[1:]))
        values.extend((prefix + n, x) for n, x in zip(names, numbers))
    return values


# -- step, stream, value (build-nanogpt) ------------------------------------------------------

#: ``250 val 3.2841``: a step, the name of a stream and one value, nothing else on the line
#: (or several name-value pairs: ``39250 valbin_ppl 19.37 valbin_loss 2.96``)
_STREAM_LINE = re.compile(rf"^\s*(\d+)((?:\s+[A-Za-z][A-Za-z0-9_]*\s+{NUMBER})+)\s*$")
_STREAM_PAIR = re.compile(rf"([A-Za-z][A-Za-z0-9_]*)\s+({NUMBER})")
#: what a bare split word names in such a log: the split's loss
_STREAM_LOSS = {"train": "train_loss", "val": "val_loss"}


def stream_records(lines: list[list[str]]) -> list[Rec]:
    """One record per ``{step} {stream} {value}`` line: build-nanogpt's ``log/log.txt`` (and
    its many forks) writes ``0 val 10.95``, ``0 hella 0.2487``, ``0 train 10.955``, where a
    bare ``train`` or ``val`` is that split's loss. Empty unless every line with text has the
    shape and the log holds a ``train`` stream: a word beside a number is no name otherwise."""
    out: list[Rec] = []
    for i, m in _every_line(lines, _STREAM_LINE):
        pairs = [(p.group(1).lower(), parse_float(p.group(2))) for p in _STREAM_PAIR.finditer(m.group(2))]
        out.append(Rec(i, int(m.group(1)), [(_STREAM_LOSS.get(n, n), v) for n, v in pairs],
                       kind="val" if all(n.startswith("val") for n, _ in pairs) else "train"))
    return out if any(n == "train_loss" for r in out for n, _ in r.values) else []


def _every_line(lines: list[list[str]], shape: re.Pattern[str]) -> list[tuple[int, re.Match[str]]]:
    """(line number, match) of every line with text, or none at all when one line has another
    shape: a fixed format owns the whole file or none of it. A ``#`` comment line (``# stage
    started ... from best.pt at step 39001``) is no data line of any shape."""
    out = []
    for i, segs in enumerate(lines, start=1):
        seg = segs[-1] if segs else ""
        if not seg.strip() or seg.lstrip().startswith("#"):
            continue
        m = shape.match(seg)
        if not m:
            return []
        out.append((i, m))
    return out


# -- Keras's History, printed -----------------------------------------------------------------

#: a line that ends with a dict whose first value is a list (a logger's prefix may come first)
_HISTORY_LINE = re.compile(r"""(\{\s*(['"])[A-Za-z_][\w/.-]{0,200}\2\s*:\s*\[.*\})\s*$""")
#: the name of a History's loss (``loss``, ``val_loss``, ``dec_loss``): ``loss_weights`` is none
_HISTORY_LOSS = re.compile(r"(?:^|_)loss$", re.IGNORECASE)


def history_records(lines: list[list[str]]) -> list[Rec]:
    """One record per epoch of every printed History: a dict whose lists are all of numbers
    (``nan`` allowed) and all as long, one of them a loss. A dict of settings (lists of
    milestones beside scalars, ``loss_weights``) is no History."""
    out: list[Rec] = []
    for i, segs in enumerate(lines, start=1):
        seg = segs[-1] if segs else ""
        if ": [" not in seg:  # most lines of a log end here
            continue
        m = _HISTORY_LINE.search(seg)
        if m is None:
            continue
        try:
            d = history_literal(m.group(1))
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            continue
        if not isinstance(d, dict):
            continue
        cols = {k: v for k, v in d.items() if isinstance(v, list)}
        if (len(cols) != len(d) or len({len(v) for v in cols.values()}) != 1
                or not any(isinstance(k, str) and _HISTORY_LOSS.search(k) for k in cols)
                or not all(x is None or _number(x) is not None for v in cols.values() for x in v)):
            continue
        n = len(next(iter(cols.values())))
        for e in range(n):
            values = [(k, math.nan if v[e] is None else _number(v[e])) for k, v in cols.items()]
            out.append(Rec(i, e, values, epoch=float(e)))
    return out


# -- llm.c's logger ---------------------------------------------------------------------------

#: ``s:250 trl:3.2841 lr:0.000600 norm:0.31``: llm.c's ``main.log`` line, a step then
#: ``key:value`` pairs (``trl`` train loss, ``tel`` validation loss, ``eval`` HellaSwag accuracy)
_LLMC_LINE = re.compile(rf"^\s*s:(\d+)((?:\s+[A-Za-z_]+:{NUMBER})+)\s*$")
_LLMC_PAIR = re.compile(rf"([A-Za-z_]+):({NUMBER})")
#: what llm.c's short keys name; ``eval`` is a multiple-choice benchmark's accuracy, not the
#: held-out split's, so it keeps a name of its own
_LLMC_NAMES = {"trl": "train_loss", "tel": "val_loss", "eval": "hellaswag", "norm": "grad_norm"}


def llmc_records(lines: list[list[str]]) -> list[Rec]:
    """One record per line of llm.c's logger (``train_gpt2.cu`` and its forks write
    ``s:0 tel:10.9`` and ``s:1 trl:10.9 lr:0.0006 norm:5.2`` to ``main.log``). Empty unless
    every line with text has the shape and the log holds a train loss."""
    out: list[Rec] = []
    for i, m in _every_line(lines, _LLMC_LINE):
        values = [(_LLMC_NAMES.get(k.lower(), k.lower()), parse_float(v))
                  for k, v in _LLMC_PAIR.findall(m.group(2))]
        out.append(Rec(i, int(m.group(1)), values,
                       kind="val" if any(n == "val_loss" for n, _ in values) else "train"))
    return out if any(n == "train_loss" for r in out for n, _ in r.values) else []


# -- fairseq ----------------------------------------------------------------------------------

#: what precedes a fairseq record: the ``logging`` prefix and the logger's name (fairseq >= 0.10:
#: ``2023-06-13 17:31:54 | INFO | train_inner | ``), or older fairseq's bare bar (``| ``)
_FS_LEAD = r"^\s*(?:(?:\S+\s+\S+\s*\|\s*[A-Z]+\s*\|\s*(?P<logger>[\w.]+)\s*\|\s*)|\|\s*)?"
#: a ``train_inner`` record: the epoch, the update within it of the epoch's total, then
#: ``name=value`` pairs between commas
_FS_INNER = re.compile(_FS_LEAD + r"epoch\s+(?P<epoch>\d+):\s+(?P<i>\d+)\s*/\s*(?P<n>\d+)\s+"
                       r"(?P<pairs>[A-Za-z_][\w]*=.*)$")
#: a validation record (``valid on 'valid' subset``, the subset's name in either quotes) or an
#: epoch's train summary: the epoch, then ``name value`` cells between bars
_FS_EPOCH = re.compile(_FS_LEAD + r"epoch\s+(?P<epoch>\d+)\s*\|\s*"
                       r"(?:valid on ['\"](?P<subset>[^'\"]+)['\"] subset\s*\|\s*)?"
                       r"(?P<cells>[A-Za-z_][\w]*\s+\S+(?:\s*\|.*)?)$")
_FS_PAIR = re.compile(rf"([A-Za-z_][\w]*)\s*=\s*({NUMBER})(?=\s*(?:,|$))", re.IGNORECASE)
_FS_CELL = re.compile(rf"^([A-Za-z_][\w]*)\s+({NUMBER})$", re.IGNORECASE)
#: throughput, batch sizes, clocks, counters and running bests: no curve a rule judges
_FS_BOOKKEEPING = frozenset({"wps", "ups", "wpb", "bsz", "num_updates", "train_wall", "wall",
                             "gb_free", "oom", "loss_scale", "clip", "sample_size", "nsentences",
                             "ntokens", "cuda_gb_allocated", "cuda_gb_reserved", "cuda_gb_free"})


#: ``--log-format json``: the stats as a JSON object after the same prefix
_FS_JSON = re.compile(_FS_LEAD + r"(?P<dict>\{\s*\"epoch\".*\})\s*$")


def _fs_json_record(line: int, text: str) -> tuple[str, Rec | None]:
    """A JSON record and its tag: ``train_inner`` stats carry bare names and ``num_updates``
    (tag ``""``); an epoch's (``train_loss``, ``train_num_updates``: tag ``train``) and a
    validation's (``valid_loss``, ``valid_num_updates``: the subset's name) carry their tag
    before each name."""
    try:
        stats = json.loads(text)
    except ValueError:
        return "", None
    if not isinstance(stats, dict):
        return "", None
    tag = "" if "num_updates" in stats else next(
        (k[:-len("_num_updates")] for k in stats if k.endswith("_num_updates")), None)
    if tag is None:
        return "", None
    found = [(k[len(tag) + 1:] if tag else k, str(v)) for k, v in stats.items()
             if (not tag or k.startswith(tag + "_")) and k not in ("epoch", "update")]
    prefix = "" if tag in ("", "train") else ("test_" if "test" in tag else "val_")
    values, updates = _fs_values([(k, v) for k, v in found if _FS_NUMBER.match(v)], prefix)
    if not values:
        return tag, None
    epoch = float(stats.get("epoch", math.nan))
    if not tag and isinstance(stats.get("update"), (int, float, str)):
        epoch = float(stats["update"])  # epochs done from 0: 2.25 is a quarter into epoch 3
    return tag, Rec(line, updates, values, epoch=epoch, kind="val" if prefix else "train")


_FS_NUMBER = re.compile(rf"^{NUMBER}$", re.I)


def _fs_values(found: list[tuple[str, str]], prefix: str
               ) -> tuple[list[tuple[str, float]], int | None]:
    """A record's named values (the split's prefix on each) and its ``num_updates``."""
    values, updates = [], None
    for name, text in found:
        name = name.lower()
        if name == "num_updates":
            updates = int(float(text))
        elif name not in _FS_BOOKKEEPING and not name.startswith("best_"):
            values.append((prefix + name, parse_float(text)))
    return values, updates


def fairseq_records(lines: list[list[str]]) -> tuple[list[Rec], list[str]]:
    """Records of a fairseq training log, stepped by ``num_updates`` (the optimizer's update
    count, which every record prints). The ``train_inner`` lines are the train curve; an
    epoch's ``train`` summary averages the same updates, so it is read only when no
    ``train_inner`` line was printed (``--log-interval`` longer than an epoch). A validation
    on a subset named ``test`` is the test split's. Empty unless the log holds a
    ``train_inner`` line or a validation line, and every record its ``num_updates`` (a loop
    of one's own printing ``epoch 1:  10 / 100 loss=0.5`` is left to the print-line reading)."""
    inner: list[Rec] = []
    evals: list[Rec] = []
    summaries: list[Rec] = []
    for i, segs in enumerate(lines, start=1):
        seg = segs[-1] if segs else ""
        if "epoch" not in seg:
            continue
        js = _FS_JSON.match(seg)
        if js:
            tag, rec = _fs_json_record(i, js.group("dict"))
            if rec is not None:
                (inner if tag == "" else summaries if tag == "train" else evals).append(rec)
            continue
        m = _FS_INNER.match(seg)
        if m and m.group("logger") in (None, "train_inner"):
            values, updates = _fs_values(_FS_PAIR.findall(m.group("pairs")), "")
            if values:
                epoch = int(m.group("epoch")) - 1 + int(m.group("i")) / max(int(m.group("n")), 1)
                inner.append(Rec(i, updates, values, epoch=epoch))
            continue
        m = _FS_EPOCH.match(seg)
        if not m or m.group("logger") not in (None, "train", "valid"):
            continue
        cells = [_FS_CELL.match(c.strip()) for c in m.group("cells").split("|")]
        subset = m.group("subset")
        prefix = "" if subset is None else ("test_" if "test" in subset.lower() else "val_")
        values, updates = _fs_values([c.groups() for c in cells if c], prefix)
        if values:
            rec = Rec(i, updates, values, epoch=float(m.group("epoch")),
                      kind="val" if prefix else "train")
            (evals if prefix else summaries).append(rec)
    if not inner and not evals:
        return [], []
    notes = []
    train = inner or summaries
    if inner and summaries:
        notes.append(f"fairseq log: the train curve is its {len(inner)} train_inner records; the "
                     f"{len(summaries)} epoch summaries average the same updates and are left out")
    recs = sorted(train + evals, key=lambda r: r.line)
    if any(r.step is None for r in recs):  # no fairseq: a loop of its own that prints alike
        return [], []
    return recs, notes
