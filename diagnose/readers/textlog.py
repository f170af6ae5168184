"""Free-text training logs: the stdout people keep as ``train.log``, ``log.txt``, ``nohup.out``.

These shapes, tried in this order (the first that yields records reads the file):

1. Keras ``model.fit`` output (verbose 1 or 2, Keras 3 and Keras 2 / tf.keras): one point
   per epoch, the epoch's finished record; step = epoch - 1, as Keras's ``CSVLogger``
   numbers them (see :mod:`._textlog_tools`).
2. The dicts a Hugging Face ``Trainer`` prints, steps from its tqdm bar.
   (Then fixed formats: fairseq's records, build-nanogpt's ``{step} {stream} {value}`` lines,
   where a bare ``train`` or ``val`` is that split's loss, llm.c's ``s:{step} trl:{loss}``
   lines, and cuda-convnet's minibatch lines.)
3. Lines of hand-written loops: ``Epoch 3/10, Train Loss: 0.41, Val Acc: 81.2%``,
   ``epoch: 3 | train_loss=0.41``, ``Epoch [1/5], Step [100/600], Loss: 0.23``,
   ``[Epoch 3] loss 0.41 acc 0.88``, ``Iter 100: loss 0.5``, ``Test 3, loss: 0.52, test acc:
   0.81`` (the split and the epoch lead the line), ``Epoch 3/50 | Train 0.41 | Val 0.52``
   (a split's bare name holds its loss), behind any ``logging`` prefix. A record is a line
   with a counter (epoch, step, iter, ...) and named numbers;
   a line with only validation values and no counter (``Validation: loss 0.5``) takes the
   step of the record before it, and lines of values right under a line that holds only a
   counter (``Epoch 3/24``, dashes, ``train Loss: 0.41 Acc: 0.88``, ``val Loss: ...``: PyTorch's
   fine-tuning tutorial) take that counter. Step: the global step when one is printed (``Step
   [100/600]`` inside epoch 2 is step 700), else the epoch as printed. Timestamps,
   ``[12/100]`` brackets without a counter word and bare percentages are never values.
4. A table printed under a header of column names led by the counter (``Epoch    Train Loss
   Train Acc    Test Loss``, a rule of dashes, then a row of numbers per epoch), behind any
   ``logging`` prefix of a timestamp and level, read when no line names its own values.

A file is claimed only when it holds at least :data:`MIN_RECORDS` records with a loss or
an accuracy and steps that go up, so READMEs, configs and prose are not. A log with no
such records is read again taking a progress bar's count as the step (``Training [===  ]
8.5% 5000/58874 | loss=3.91``). A counter that starts again from the beginning (two runs
appended to one file) splits the file into runs ``<name>#1``, ``<name>#2``, unless every
restart takes the loss on from where it was (one model trained by a loop of ``fit`` calls:
one run, its steps numbered on). NaN and inf are values; lines that cannot be read (binary
junk, a dict that does not parse, a torn last line) are skipped and counted in a note.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

from .._errors import ReadError
from ..run import _MAX_METRICS, _MIN_METRICS, JUDGED_METRICS, Run, canonical_name
from ._common import starts_again
from ._frame import EMPTY, SCALAR_REPR, finish_metrics, parse_float
from ._params import printed_params
from ._safe_open import DETECT_BYTES, decode_text, first_line, read_bytes, read_prefix
from ._textlog_tools import (NUMBER, Rec, comma_pairs, convnet_records, fairseq_records,
                             history_records,
                             hf_records, keras_records, llmc_records, stream_records)
from .csv_generic import run_id
from .hf import _renamer

__all__ = ["MIN_RECORDS", "could_hold", "detect", "parse", "read"]

SUFFIXES = {".log", ".txt", ".out", ".err"}
#: markdown files people paste a console log into (``logs/FT.md``, a SLURM output kept as
#: ``run.md``); also where READMEs show a few lines of example output, hence MIN_MARKDOWN_RECORDS
MARKDOWN = {".md", ".markdown"}
#: records (with a loss or accuracy) a file needs before it is taken for a training log
MIN_RECORDS = 3
#: records of its main line a markdown file needs: a pasted log of a run prints a line an epoch
#: for many epochs, a README's example output three or four and ``...``
MIN_MARKDOWN_RECORDS = 10
#: a log without any counter is claimed only with this many records holding a loss (a loop
#: prints one an epoch; a summary of a few models' accuracies is no run)
MIN_NUMBERED = 5
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]")
_SEGMENTS = re.compile(r"[\r\x08]+")
#: control characters no text log has (tab, newline, CR, backspace and ESC are handled)
_JUNK = re.compile(r"[\x00-\x07\x0b\x0c\x0e-\x1a\x1c-\x1f\ufffd]")
# a logging prefix or a timestamp anywhere: never a step or a value
_DATE = r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?)?"
_TIME = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?"
_LEVEL = r"(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL)"
_STAMPS = re.compile(rf"{_DATE}(?:Z|[+-]\d{{2}}:?\d{{2}})?|\b{_TIME}\b|\b{_LEVEL}:[\w.<>-]*:")
#: (a word after a slash is a unit, ``ms/batch 45.12``, and a count has no decimals)
_COUNTER = re.compile(
    r"(?<!/)\b(epoch|global[ _]step|step|iteration|iter|it|batch)(?:e?s(?!\s*=))?"
    r"(?:\s+(?:id|no\.?|num|number))?\b\s*[:#=]?\s*\[?\s*(\d+)(?!\.?\d)"
    r"(?:\s*(?:/|of)\s*(\d+))?\s*\]?", re.I)
#: a count of the total before its word (``|   200/ 2983 batches |``: PyTorch's word language
#: model example, under ``| epoch   1 |``): the step within the epoch
_COUNT_BEFORE = re.compile(r"(?<![\w.])(\d+)\s*/\s*(\d+)\s+(?:batch|step|iteration|iter)(?:e?s)?\b",
                           re.I)
#: a progress bar's count (``Training [====   ] 8.5% 5000/58874 | loss=3.91``, tqdm's
#: ``45%|####   | 450/1000 [...]``): the step when no counter word is printed
_BAR_COUNTER = re.compile(r"\d+(?:\.\d+)?%\s*(?:\|[^|\n]*\|\s*)?(\d+)\s*/\s*(\d+)\b")
#: a line led by a plural counter word set with ``=`` and followed by more (``Steps = 40, loss =
#: 0.41``, a course's grokking loop): :data:`_COUNTER` leaves ``steps = 5000`` out, a setting
_LEAD_PLURAL = re.compile(r"^\s*(epoch|step|iteration|iter)s\s*=\s*(\d+)\s*[,;|]\s*(?=\S)",
                          re.IGNORECASE)
#: a line led by a bare bracketed counter: ``[001] train_loss: 1.153 | dev_loss: 1.161``
_LEAD_COUNTER = re.compile(r"^\s*\[\s*(\d+)(?:\s*/\s*(\d+))?\s*\]\s")
#: a line led by a short epoch word and its count of the total (``E  3/500 | Loss:0.41``,
#: ``Ep 3/50 loss 0.41``); never without the total, which an ``eps`` or ``e`` setting lacks
_SHORT_EPOCH = re.compile(r"^[\W_]*(?:ep|e)\s*(\d+)\s*/\s*(\d+)\b", re.I)
#: a line led by its split and the epoch (``Train 3, loss: 0.41, train acc: 0.88`` then ``Test 3,
#: loss: 0.52, test acc: 0.81``: DGCNN's and PointNet-style loops): the split names the values
_PHASE_COUNTER = re.compile(
    r"^[\W_]*(train(?:ing)?|val(?:id(?:ation)?)?|eval(?:uation)?|test(?:ing)?|dev)\s+(\d+)\s*[,:|]\s*",
    re.I)
#: ``Accuracy on Test-Set: 71.4%``, ``loss on the validation set: 0.52``: the split's metric
_ON_SPLIT = re.compile(
    r"\b([A-Za-z][A-Za-z0-9]*)\s+on\s+(?:the\s+)?(train(?:ing)?|val(?:id(?:ation)?)?|dev|"
    r"test(?:ing)?|eval(?:uation)?)(?:[\s_-]*(?:set|data(?:set)?|split))?\b", re.I)
#: a split word cut short with a period before the metric's name (``Val. Loss: 1.39``, a
#: tutorial's torchtext loop): read as ``Val Loss``; a name's words join by one character
_SPLIT_ABBREV = re.compile(r"\b(val|valid|eval|test|train|tr|trn)\. +(?=[A-Za-z])", re.I)
_BRACKET = re.compile(r"\[\s*\d+\s*/\s*\d+\s*\]|\(\s*\d+\s*/\s*\d+\s*\)|\d+\s*/\s*\d+")
#: a count out of a total under its name (``SO: 0/74``, ``kfac_inv: 0/0``): no metric's value,
#: and its name no word of a sentence either
_NAMED_COUNT = re.compile(r"(?<![\w.])[A-Za-z][\w.-]*\s*[:=]\s*\d+\s*/\s*\d+\b")
_PAIR = re.compile(
    rf"(?<![\w.])([A-Za-z][A-Za-z0-9_]*(?:[ _./-][A-Za-z][A-Za-z0-9_]*){{0,2}})"
    rf"\s*(?:[:=]\s*|\s)\s*({NUMBER})(%?)(?!\w|\.\w|/\d)", re.I)
_SPLIT_WORDS = {"val": "val", "valid": "val", "validation": "val", "eval": "val",
                "evaluation": "val", "dev": "val", "test": "test", "testing": "test",
                "train": "train", "training": "train"}
_LEAD = re.compile(r"^[\W_]*([A-Za-z]+)\b\s*[:\-|,]", re.I)
#: a line led by a held-out split as a bracketed tag (``[VALID DATA] avg. acc: 0.93 avg. loss:
#: 0.96``, ``[val] loss 0.5``): the values after it are that split's. A ``[train]`` tag names
#: nothing new (values are the train curve's unless named otherwise) and ``[eval] iter 0:
#: train 9.85 val 9.84`` names its own splits
_LEAD_TAG = re.compile(r"^[^\w\[]*\[\s*(val(?:id(?:ation)?)?|eval(?:uation)?|dev|test(?:ing)?)"
                       r"(?:[\s_-]+(?:data(?:set)?|set|split|phase|metrics?|results?))?\s*\]", re.I)
#: a split's results announced in the line (JoeyNMT: ``Validation result (greedy) at epoch 1,
#: step 500: bleu: 0.17, loss: ...``, ``Evaluation result (greedy) loss: 4.40, ppl: 81.81``;
#: the CS230 project template: ``- Eval metrics : accuracy: 0.079 ; loss: 5.192``):
#: every value on the line is that split's, wherever the logger's prefix puts the phrase
_RESULT = re.compile(r"\b(validation|evaluation|eval|test|dev)\s+(?:results?|metrics?)\b(?:\s*\([^)]*\))?"
                     r"(?:\s+at\b)?\s*:?", re.I)
#: a line that only says which phase comes next (``Training ist starting...``, ``Evaluating...``,
#: ``Validation:``, ``Running Validation...``) under an epoch's counter line: the values printed
#: after it are that split's
_PHASE_LINE = re.compile(r"^[\W_]*(?:(?:running|starting|start|begin(?:ning)?|now)\s+)?"
                         r"(train(?:ing)?|evaluat(?:ing|ion)|eval|validat(?:ing|ion)|"
                         r"val(?:id)?|test(?:ing)?)\b", re.I)


def could_hold(names: Collection[str]) -> bool:
    """A folder is never a text log (only files are)."""
    return False


def _wanted(path: Path) -> bool:
    return (path.suffix.lower() in SUFFIXES | MARKDOWN or path.name.lower() == "nohup.out"
            or (path.suffix.lower() == ".csv" and _pairs_first(path)))


def _pairs_first(path: Path) -> bool:
    """A ``.csv`` file whose first line alternates names and values (:func:`comma_pairs`): a
    loop's print lines saved under a table's name (``history.csv`` holding ``Epoch, 1/20,
    train loss, 1.1140, ...``), which the table reader leaves alone."""
    line = first_line(path) if path.is_file() else None
    return bool(line) and comma_pairs(line.decode("utf-8", "replace")) is not None


def detect(path: Path) -> bool:
    """A text file (``.log``, ``.txt``, ``.out``; ``.md`` with :data:`MIN_MARKDOWN_RECORDS`)
    whose first megabyte holds a training log."""
    path = path if isinstance(path, Path) else Path(path)
    if not _wanted(path) or not path.is_file():
        return False
    text, _ = _head_text(path)
    return bool(text) and parse(text).main_records() >= _least(path)


def _head_text(path: Path) -> tuple[str, bool]:
    """The whole lines of the file's first megabyte ("" for a binary or empty file), and
    whether the file goes on past it."""
    head = read_prefix(path, DETECT_BYTES)
    text = decode_text(head)
    if not text or _binary(text[:4096]):
        return "", False
    if len(head) == DETECT_BYTES:
        return text[:text.rfind("\n") + 1], True  # a whole-line prefix
    return text, False


def _least(path: Path) -> int:
    return MIN_MARKDOWN_RECORDS if path.suffix.lower() in MARKDOWN else MIN_RECORDS


#: a loss or accuracy named beside a number (``loss 0.41``, ``val_acc: 0.9``, ``Loss=2.3``)
_NAMED_VALUE = re.compile(r"(?i)(?:loss|acc)\w*\W{0,3}[-+]?\.?\d")


def why_unread(path: Path) -> str | None:
    """Why a text file :func:`detect` left alone holds no training log, in words a user can
    act on; None when it is not a text file this reader looks at (or when it is claimed)."""
    path = path if isinstance(path, Path) else Path(path)
    if not _wanted(path) or not path.is_file():
        return None
    text, more = _head_text(path)
    if not text:
        return "empty" if path.stat().st_size == 0 else "not text"
    parsed = parse(text)
    least = _least(path)
    main = parsed.main_records()
    if main >= least:
        return None
    named = [r for r in parsed.records if any(_judged(n) for n, _ in r.values)]
    where = " in its first megabyte" if more else ""
    if main:
        return (f"only {main} line(s){where} read as training records, fewer than the "
                f"{least} a log needs")
    if named:
        return (f"{len(named)} line(s){where} name a loss or accuracy, but no step, iteration "
                "or epoch counter that counts up runs through them")
    if _NAMED_VALUE.search(text):
        return (f"lines{where} name a loss or accuracy beside a value, but none with a step, "
                "iteration or epoch counter on the same line (as in `epoch 3 | loss 0.41` or "
                "`iter 100: loss 2.31`)")
    return (f"a text file, but no line{where} names a loss or accuracy beside its value; "
            "diagnose reads lines such as `epoch 3 | loss 0.41 | val_loss 0.52` or "
            "`step 100: train loss 2.31, val acc 0.61` (numbers printed without their names "
            "cannot be told apart)")


def _binary(head: str) -> bool:
    """Mostly control characters: a binary file, not a log with a damaged line in it."""
    junk = sum(1 for c in head if c < " " and c not in "\b\t\n\r\x1b")
    return junk > len(head) // 10


# -- the text ----------------------------------------------------------------------------------


def _lines(text: str) -> list[list[str]]:
    """Each line's segments: split where ``\\r`` or backspaces redraw it, ANSI codes removed,
    scalars printed with their type (``tensor(0.88, device='cuda:0')``) as their number."""
    return [[comma_pairs(s) or s for s in _SEGMENTS.split(_ANSI.sub("", line)) if s.strip()]
            for line in SCALAR_REPR.sub(r"\1", text).split("\n")]


class Parsed:
    """What a text holds: records (file order), their shape, and what was skipped."""

    def __init__(self) -> None:
        self.records: list[Rec] = []
        self.shape = ""
        self.bad: list[int] = []  # lines skipped as unreadable
        self.notes: list[str] = []
        self.unfinished: list[int] = []

    @property
    def claimed(self) -> bool:
        """Enough records with a loss or accuracy; for print lines, enough of the most common
        shape (the same names: a loop prints the same line again and again), with steps
        that go up."""
        return self.main_records() >= MIN_RECORDS

    def main_records(self) -> int:
        """How many records the log's main line holds: records with a loss or accuracy (Keras,
        Hugging Face), or those of the most common shape of print line when their steps go
        up (0 when they do not)."""
        good = [r for r in self.records if any(_judged(n) for n, _ in r.values)]
        if self.shape in ("keras", "hf", "convnet", "stream", "llmc", "fairseq"):
            return len(good)
        shapes: dict[tuple[str, ...], list[int]] = {}
        for r in good:
            if r.step is not None:
                shapes.setdefault(tuple(n for n, _ in r.values), []).append(r.step)
        main = max(shapes.values(), key=len, default=[])  # the line the loop prints
        return len(main) if _counts_up(main) else 0


def _counts_up(steps: list[int]) -> bool:
    """Steps that mostly go up (a restart or two allowed; numbers picked from prose go up
    and down alike)."""
    ups = sum(b > a for a, b in zip(steps, steps[1:]))
    downs = sum(b < a for a, b in zip(steps, steps[1:]))
    return ups > 0 and downs * 4 <= ups


def _judged(raw: str) -> bool:
    """A loss- or accuracy-like name (the curves the rules read, by any spelling)."""
    low = raw.lower()
    return canonical_name(_snake(raw)) in JUDGED_METRICS or "loss" in low or "acc" in low


def _snake(name: str) -> str:
    """``Train Loss`` -> ``train_loss``: lower case, words joined with ``_``."""
    return re.sub(r"[\s.\-]+", "_", name.strip().lower())


#: the head of a block wandb prints when a run ends (``wandb: Run summary:``), and one line of it
#: (``wandb:      train/loss 0.30694``; the history block draws sparklines instead of numbers)
_WANDB_BLOCK = re.compile(r"^wandb:\s+Run (history|summary):\s*$")
_WANDB_LINE = re.compile(r"^wandb:\s+(\S+)\s+(\S+)\s*$")


def _wandb_blocks(lines: list[list[str]]) -> tuple[set[int], list[tuple[int, str, float]]]:
    """wandb's console lines, and its run summary's values (line, name, value).

    The lines never hold the loop's records, and they would end the block an epoch's header
    opened (``Epoch 79/79``, then wandb's goodbye, then the epoch's batches). The summary
    repeats each metric's last value under the name the script logged it with (``train/loss``),
    which the vocabulary prefers to the names the loop printed every epoch (``Loss: 0.3069``):
    read as a record, one point would stand for a curve of hundreds. Its values come back at
    the log's last step only for metrics no record holds (:func:`_with_summary`)."""
    skip: set[int] = set()
    summary: list[tuple[int, str, float]] = []
    block = ""
    for i, segs in enumerate(lines, start=1):
        text = segs[-1].strip() if segs else ""
        if not any(seg.lstrip().startswith("wandb:") for seg in segs):
            block = ""
            continue
        skip.add(i)
        head = _WANDB_BLOCK.match(text)
        if head:
            block = head.group(1)
            continue
        line = _WANDB_LINE.match(text) if block else None
        if not line:
            block = ""
            continue
        if block == "summary" and _metric_name(line.group(1)):
            try:
                summary.append((i, line.group(1), parse_float(line.group(2))))
            except ValueError:
                pass
    return skip, summary


def _with_summary(recs: list[Rec], summary: list[tuple[int, str, float]]) -> None:
    """wandb's summary values (:func:`_wandb_blocks`) of metrics no record holds, as one
    record at the last step."""
    steps = [r.step for r in recs if r.step is not None]
    held = {canonical_name(n) for r in recs for n, _ in r.values}
    values = [(n, v) for _, n, v in summary if canonical_name(n) not in held]
    if steps and values:
        last = max(steps)
        epoch = next((r.epoch for r in reversed(recs) if r.step == last), math.nan)
        recs.append(Rec(summary[0][0], last, values, epoch, "val" if all(
            n.startswith(("val", "test")) for n, _ in values) else "train"))


def parse(text: str) -> Parsed:
    """The records of a log's text, in the first shape that has any."""
    lines = _lines(text)
    skip, summary = _wandb_blocks(lines) if "wandb:" in text else (set(), [])
    out = _parse([[] if i in skip else segs for i, segs in enumerate(lines, start=1)], text)
    if summary:
        _with_summary(out.records, summary)
    return out


#: formats of one fixed shape each, tried in this order after the Keras, Hugging Face and
#: fairseq readings: (shape, reader, the note that tells how its names were read)
_FIXED_FORMATS: tuple[tuple[str, Callable[[list[list[str]]], list[Rec]], str], ...] = (
    ("stream", stream_records,
     ("'{step} {stream} {value}' lines (build-nanogpt's log): 'train' read as the train loss, 'val' "
      "as the validation loss, other streams under their names")),
    ("llmc", llmc_records,
     ("llm.c's 's:{step} key:value' lines: 'trl' read as the train loss, 'tel' as the validation "
      "loss, 'eval' as the HellaSwag accuracy ('hellaswag')")),
    ("convnet", convnet_records,
     ("cuda-convnet's minibatch lines: each cost layer's first value read as its loss, the next as "
      "its error rate(s); 'Test output' read as validation; steps count the minibatches in file "
      "order")),
)


def _parse(lines: list[list[str]], text: str) -> Parsed:
    """:func:`parse` on the text's lines (segments each)."""
    out = Parsed()
    for i, segs in enumerate(lines, start=1):
        if any(_JUNK.search(s) for s in segs):
            out.bad.append(i)
    bad = set(out.bad)
    clean = [[] if i in bad else segs for i, segs in enumerate(lines, start=1)]
    recs, heads, unfinished = keras_records(clean)
    if recs:
        out.records, out.shape, out.unfinished = recs, "keras", unfinished
        return out
    hf_bad: list[int] = []
    recs, notes = hf_records(clean, hf_bad)
    if recs:
        out.records, out.shape, out.notes = recs, "hf", notes
        out.bad = sorted(set(out.bad) | set(hf_bad))
        return out
    if "epoch" in text:  # every fairseq record names its epoch
        recs, notes = fairseq_records(clean)
        if recs:
            out.records, out.shape, out.notes = recs, "fairseq", notes
            return out
    for shape, fixed, note in _FIXED_FORMATS:
        recs = fixed(clean)
        if recs:
            out.records, out.shape, out.notes = recs, shape, [note]
            return out
    raw = _plain_raw(clean)
    out.records, out.shape = _steps(raw), "plain"
    if "%" in text and not out.claimed and _BAR_COUNTER.search(text):  # most logs have no bar
        out.records = _plain_records(clean, bars=True)
    if _TABLE_HINT.search(text) and not out.claimed:  # most logs have no table
        table = _table_records(clean)
        if table:
            out.records = table
    if not out.claimed and _SPLIT_HEAD.search(text):  # most logs have no split table
        table = _split_table_records(clean)
        if table:
            out.records = table
    out.notes = _number_records(out.records) + _summed_val_loss(out.records)
    numbered = _numbered(raw, clean)  # none at the first value line with a counter
    if numbered and not out.claimed:  # most logs print a counter
        found = out.records
        out.records = _steps(numbered)
        losses = sum(any("loss" in n for n, _ in r.values) for r in out.records)
        if out.claimed and losses >= MIN_NUMBERED:
            out.notes = [("no epoch or step counter printed: records numbered 1, 2, ... in file "
                          "order (a record ends where a name is printed again)")]
        else:
            out.records = found
    if not out.records:  # a log whose one record is the History printed after ``fit``
        out.records = history_records(clean)
        if out.records:
            out.shape, out.notes = "history", [("a Keras History printed as a dict of per-epoch "
                                                "lists: its index read as the epoch, from 0")]
    return out


# -- tables ------------------------------------------------------------------------------------

#: a table's cells: two or more spaces, a tab or a bar between them (``Train Loss   Train Acc``)
_CELL_GAP = re.compile(r"\s{2,}|\t|\s*\|\s*")
#: a unit in brackets after a column's name (``Val Acc (%)``, ``Time [s]``)
_UNIT_TEXT = r"\s*[(\[][^)\]]*[)\]]"
_UNIT = re.compile(_UNIT_TEXT + "$")
#: a header cell: a name of up to three words, a unit in brackets allowed
_HEAD_CELL = re.compile(rf"^[A-Za-z][A-Za-z0-9_./-]*(?: [A-Za-z][A-Za-z0-9_./-]*){{0,2}}(?:{_UNIT_TEXT})?$")
#: the names a table's counter column goes by
_TABLE_WORDS = r"(?:epoch|step|iter|iteration|global[ _]step)s?"
_TABLE_COUNTER = re.compile(rf"^{_TABLE_WORDS}$", re.I)
#: the name of a column that says which split a row is about, before the counter's (``dset
#: epoch cost`` over rows ``trn 3 0.42`` and ``dev 3 0.46``: tabulate printing one row a split)
_KEY_WORDS = r"(?:dset|dataset|split|subset|set|phase|mode|part)"
_TABLE_KEY = re.compile(rf"^{_KEY_WORDS}$", re.IGNORECASE)
#: the split words of such rows, short forms included
_ROW_SPLITS = {**_SPLIT_WORDS, "trn": "train", "tst": "test", "tr": "train"}
_TABLE_NUMBER = re.compile(rf"^{NUMBER}%?$", re.I)
#: a ``logging`` prefix in front of a table's lines: a timestamp, bracketed or not, then a level
#: name and a separator (``[2021/08/30 00:30:01] - ``, ``2021-08-30 00:30:01,123 - INFO - ``),
#: or a level and a logger's name (``INFO:root:``); fast adversarial training and the repos
#: forked from it print their epoch table so
_TABLE_PREFIX_TEXT = (rf"[ \t]*(?:\[?[ \t]*(?:{_DATE}|{_TIME})[ \t]*\]?"
                      rf"(?:[ \t]*[-|:]?[ \t]*\[?{_LEVEL}\]?)?[ \t]*[-|:]?|{_LEVEL}:[\w.<>-]*:)")
_TABLE_PREFIX = re.compile(_TABLE_PREFIX_TEXT)
#: a line that may head a table (its counter's name, then a wide gap): the cheap look first
_TABLE_HINT = re.compile(rf"^(?:{_TABLE_PREFIX_TEXT})?[ \t|]*"
                         rf"(?:{_KEY_WORDS}(?:[ \t]{{2,}}|\t| *\|)[ \t|]*)?"
                         rf"{_TABLE_WORDS}(?:[ \t]{{2,}}|\t| *\|)", re.I | re.M)


def _table_head(line: str) -> list[str] | None:
    """The column names of a table's header line (``Epoch    Train Loss   Train Acc    Test
    Loss``), led by its counter and naming a loss or accuracy; None for any other line."""
    cells = [c for c in _CELL_GAP.split(line.strip()) if c]
    if len(cells) < 2 or not all(_HEAD_CELL.match(c) for c in cells):
        return None
    counted = cells[1:] if _TABLE_KEY.match(cells[0]) else cells  # a split column first
    if not _TABLE_COUNTER.match(counted[0]) or not any(_judged(c) for c in counted[1:]):
        return None
    return cells


def _table_records(lines: list[list[str]]) -> list[Rec]:
    """Records of a table a loop prints under a header of column names (``print(f"{epoch:<8}
    {loss:<12.4f} ...")``): a row holds a number per column, in order (a unit after the last
    one, as in ``0.55    s``, is left aside; one more number in front is a row index, as
    pandas prints it). The header's first column is the counter, and its rows count up: a line
    printed between rows (``New best model saved!``) leaves the table open, a row whose counter
    does not go on (a report's numbers after training) is not one of its rows, and a new header
    starts a new table. Names come from the header (``Train Loss`` -> ``train_loss``), units
    dropped. A split column before the counter (``dset  epoch  cost``) names each row's split
    (``trn  3  0.42`` then ``dev  3  0.46``): its values are that split's, and each split's
    rows count up on their own."""
    out: list[Rec] = []
    head: list[str] | None = None
    keyed = False  # the table's first column names the split of each row
    names: list[str | None] = []
    last: dict[str, int] = {}  # the counter of the table's last row, per split
    for i, segs in enumerate(lines, start=1):
        line = _TABLE_PREFIX.sub("", segs[-1], count=1) if segs else ""
        if not line.strip() or not re.search(r"[A-Za-z0-9]", line):
            continue  # a blank line, or a rule of dashes under the header
        row_split = ""
        if keyed:
            lead = re.match(r"\s*([A-Za-z]+)[ \t|,]+(?=\d)", line)
            row_split = _ROW_SPLITS.get(lead.group(1).lower(), "") if lead else ""
            line = line[lead.end():] if row_split else line
        if head is None or (not row_split and re.match(r"\s*[A-Za-z]", line)):
            new = _table_head(line)
            if new is not None or head is None:
                head, last = new, {}
                keyed = bool(head) and bool(_TABLE_KEY.match(head[0]))
                head = head[1:] if keyed else head
                # the columns' names, once per header (units dropped); None: not a metric
                names = [n if _metric_name(n) else None for n in
                         (_snake(_UNIT.sub("", c)) for c in head[1:])] if head else []
            continue
        if keyed and not row_split:
            continue  # a keyed table's row names its split
        tokens = [t for t in re.split(r"[\s|,]+", line.strip()) if t]
        nums = []
        for t in tokens:
            if not _TABLE_NUMBER.match(t):
                break
            nums.append(t)
        if len(nums) == len(head) + 1 and re.fullmatch(r"\d+", nums[0]):
            nums = nums[1:]  # a row index in front
        if len(nums) != len(head) or not re.fullmatch(r"\d+", nums[0]) or \
                len(tokens) - len(nums) > 1 or int(nums[0]) <= last.get(row_split, -1):
            continue
        last[row_split] = int(nums[0])
        values = [(_split_name(row_split, n), parse_float(t.rstrip("%")))
                  for n, t in zip(names, nums[1:]) if n]
        if values:
            step = int(nums[0])
            epoch = float(step) if head[0].lower().startswith("epoch") else math.nan
            out.append(Rec(i, step, values, epoch))
    return out


def _split_name(split: str, name: str) -> str:
    """A keyed table's column name for a row of ``split`` (``cost`` in a ``dev`` row:
    ``val_cost``); the name as it is with no split, or one that names its own."""
    if not split or name.split("_", 1)[0] in _ROW_SPLITS:
        return name
    return f"{split}_{name}"


#: the header of a table with one column per split (AllenNLP's trainer prints it each epoch,
#: ``                    Training |  Validation``), after any logging prefix
_SPLIT_HEAD = re.compile(r"^(?:.* - )?\s*train(?:ing)?\s*\|\s*val(?:id(?:ation)?)?\s*$",
                         re.I | re.M)
#: a row of it: a metric's name, then its training and validation values (``N/A``: none)
_SPLIT_ROW = re.compile(rf"^(?:.* - )?\s*([A-Za-z][\w./-]*)\s*\|\s*({NUMBER}|N/A)\s*\|"
                        rf"\s*({NUMBER}|N/A)\s*$", re.I)
#: the counter line before it (``Epoch 3/19``)
_SPLIT_EPOCH = re.compile(r"\bepoch\s+(\d+)\s*/\s*\d+\b", re.I)


def _split_table_records(lines: list[list[str]]) -> list[Rec]:
    """Records of tables with one column per split, one table an epoch (AllenNLP:
    ``loss | 1.581 | 1.572`` under ``Training | Validation``): each row's first value is the
    training curve's, its second the validation's. The epoch is the last ``Epoch N/M`` line
    before the table; a table with no epoch line before it, or one that does not go on from
    the last, is not read (a final summary repeats the best epoch's numbers)."""
    out: list[Rec] = []
    epoch: int | None = None
    last = -1
    rec: Rec | None = None
    for i, segs in enumerate(lines, start=1):
        line = segs[-1] if segs else ""
        if _SPLIT_HEAD.match(line):
            rec = None
            if epoch is not None and epoch > last:
                rec = Rec(i, epoch, [], float(epoch))
                out.append(rec)
                last = epoch
            continue
        if not line.strip():
            continue
        row = _SPLIT_ROW.match(line) if rec is not None else None
        if row is None:
            rec = None  # any other line ends the table
            m = _SPLIT_EPOCH.search(line)
            if m:
                epoch = int(m.group(1))
            continue
        name = _snake(row.group(1))
        for split, cell in (("train", row.group(2)), ("val", row.group(3))):
            if cell.upper() != "N/A" and _metric_name(f"{split}_{name}"):
                rec.values.append((f"{split}_{name}", parse_float(cell)))
    return [r for r in out if r.values]


# -- hand-written loops ------------------------------------------------------------------------


Raw = list[tuple[int, dict[str, tuple[int, int | None]], list[tuple[str, float]]]]


def _plain_records(lines: list[list[str]], bars: bool = False) -> list[Rec]:
    """Records of print/logging lines: a counter and named values (or validation values only).
    ``bars``: a progress bar's count is the step of a line with no counter word (tried only
    when a log has no other records: a tqdm bar usually counts within an epoch)."""
    return _steps(_plain_raw(lines, bars))


def _plain_raw(lines: list[list[str]], bars: bool = False) -> Raw:
    """The value lines of :func:`_plain_records`: (line number, counters, values) each."""
    raw: Raw = []
    # a line holding only its counter (``Epoch 3/25``, then ``----------``) heads the lines of
    # values printed right under it without one (``train Loss: 0.41 Acc: 0.88``, ``val Loss:
    # ...``): PyTorch's fine-tuning tutorial loop. The block ends at the first other line; in
    # it, a name's first value stands (a progress bar redrawn below repeats it, rounded)
    header: dict[str, tuple[int, int | None]] | None = None
    in_block: set[str] = set()
    phase = ""  # the split a phase line in the block named (``Evaluating...``)
    pieces = ((i, piece) for i, segs in enumerate(lines, start=1) if segs
              for piece in _records_of(_STAMPS.sub(" ", segs[-1])))
    for i, line in pieces:
        if not re.search(r"[A-Za-z0-9]", line):
            continue  # a rule of dashes: no line at all
        counters = {}
        for m in _COUNTER.finditer(line):
            kind = _counter_kind(m.group(1))
            counters.setdefault(kind, (int(m.group(2)), int(m.group(3)) if m.group(3) else None))
        if "step" not in counters and "/" in line:
            before = _COUNT_BEFORE.search(line)
            if before:
                counters["step"] = (int(before.group(1)), int(before.group(2)))
                line = line[:before.start()] + " " + line[before.end():]
        bar = None if counters or not bars else _BAR_COUNTER.search(line)
        if bar:
            counters["step"] = (int(bar.group(1)), int(bar.group(2)))
        short = None if counters else _SHORT_EPOCH.match(line)
        if short:
            counters["epoch"] = (int(short.group(1)), int(short.group(2)))
            line = line[short.end():]
        plural = None if counters else _LEAD_PLURAL.match(line)
        if plural:
            counters[_counter_kind(plural.group(1))] = (int(plural.group(2)), None)
            line = line[plural.end():]
        lead = None if counters else _LEAD_COUNTER.match(line)
        if lead:  # no word says what it counts: a step
            counters["step"] = (int(lead.group(1)), int(lead.group(2)) if lead.group(2) else None)
            line = line[lead.end():]
        led = None if counters else _PHASE_COUNTER.match(line)
        if led:  # ``Test 3, loss: 0.52`` reads as ``Test loss: 0.52`` at epoch 3
            counters["epoch"] = (int(led.group(2)), None)
            line = f"{led.group(1)} {line[led.end():]}"
        result = _RESULT.search(line)
        if result:
            line = line[:result.start()] + " " + line[result.end():]
        first = _COUNTER.search(line)
        counted = _NAMED_COUNT.sub(" ", _COUNTER.sub(" ", line))
        if ". " in counted:  # (the substitution costs every line of a long log otherwise)
            counted = _SPLIT_ABBREV.sub(r"\1 ", counted)
        rest = _ON_SPLIT.sub(r"\2 \1", _BRACKET.sub(" ", counted))
        pairs = list(_PAIR.finditer(rest))
        if _prose(_PAIR.sub(" ", rest)) or (first and pairs and _metrics_before(line[:first.start()])):
            header = None
            continue  # a sentence with numbers in it, or values before the counter
        if counters and not pairs:
            if bar:  # a bar alone is no header: the values it counts are on its own line
                continue
            if header is not None and "epoch" in header and set(counters) == {"step"}:
                # a batch's progress under the epoch's line (``Batch 80 of 88. Elapsed:
                # 0:00:47.``, the BERT fine-tuning tutorial's loop): the block's step within
                # the epoch, and the block goes on
                header = {"epoch": header["epoch"], "step": counters["step"]}
            else:
                header, in_block, phase = counters, set(), ""
            continue
        if header is not None and not counters and not pairs:
            named = _PHASE_LINE.match(rest)
            if named:  # ``Evaluating...``: what follows in the block is that split's
                phase = _SPLIT_WORDS.get(named.group(1).lower()) or "val"  # evaluating, validating
                continue
            if not _prose(rest, 0):
                continue  # ``Epoch time: 23.50s`` under the header: a timing, the block goes on
        split = (_SPLIT_WORDS[result.group(1).lower()] if result else "") or \
            _lead_split(rest) or _named_split(pairs) or (
            phase if header is not None and not counters and phase != "train" else "")
        bare = _bare_losses(pairs) if counters or header is not None else False
        values = []
        metric = ""  # the metric a ``<metric> <split>`` name led with, for bare splits after it
        for m in pairs:
            name = _snake(m.group(1))
            words = name.split("_")
            if len(words) == 2 and words[1] in _SPLIT_WORDS and _metric_name(words[0]):
                metric = words[0]  # ``Accuracy Train: 11.3%, Dev: 10.8%``: both accuracies
            elif metric and not bare and name in _SPLIT_WORDS:
                name = f"{name}_{metric}"
            lead = name.split("_", 2)
            if len(lead) == 3 and lead[0] in _MEAN_WORDS and \
                    _SPLIT_WORDS.get(lead[1]) in ("val", "test"):
                name = f"{lead[1]}_{lead[2]}"  # ``Avg Eval Loss: 7.08``: the split's loss
            if bare and name in _SPLIT_WORDS:
                name = f"{_SPLIT_WORDS[name]}_loss"
            words = name.split("_")
            if words[0] in _SPLIT_WORDS and words[0] not in ("train", "training") and \
                    len(words) > 1:
                name = _SPLIT_WORDS[words[0]] + "_" + "_".join(words[1:])
            elif split and words[0] not in _SPLIT_WORDS:
                name = f"{split}_{name}"
            if not _metric_name(name):
                continue
            values.append((name, parse_float(m.group(2))))
        if header is not None and not counters and pairs:  # (``lr: 0.001`` keeps it open too)
            values = [(n, v) for n, v in values if n not in in_block]
            in_block.update(n for n, _ in values)
            counters = header
        elif header is not None and "epoch" in header and set(counters) == {"step"}:
            # a batch's values under the epoch's line, its counter starting again each epoch
            # (``Epoch 0/79``, then `` - Batch Number 100 -> Loss: 1.187 Accuracy: 0.363``,
            # then the epoch's ``train Loss: 1.3373 Acc: 0.3383``): a step within the epoch,
            # and the block goes on to the epoch's own lines
            counters = {"epoch": header["epoch"], "step": counters["step"]}
        else:
            header = None
        if values:
            raw.append((i, counters, values))
    return raw


#: a first word that says a value is averaged over a held-out split, before the split's name
#: (``Avg Eval Loss``, ``Mean Val Loss``): the value is that split's (``Average Train Loss``
#: beside per-batch losses keeps its own name: the batch losses are the train curve)
_MEAN_WORDS = frozenset({"avg", "average", "mean"})


def _bare_losses(pairs: list[re.Match]) -> bool:
    """Whether a record's bare split words carry its losses (``Epoch 3/50 | Train 0.9230 | Val
    0.8910 | Dice 0.346``: a loop that prints each split's loss under the split's name): only
    when no value on the line is named a loss, and no bare split word holds a whole number or
    a percentage (``Train: 318 | Val: 182`` counts samples, ``train 88.1%`` is an accuracy;
    ``Train nan`` is a loss that diverged)."""
    bare = [m for m in pairs if _snake(m.group(1)) in _SPLIT_WORDS]
    return bool(bare) and not any("loss" in m.group(1).lower() for m in pairs) and all(
        not m.group(3) and not re.fullmatch(r"[-+]?\d+", m.group(2)) for m in bare)


def _numbered(raw: Raw, lines: list[list[str]]) -> Raw:
    """Steps 1, 2, ... for a loop that prints its values with no epoch or step
    (``print(f"Train Loss: {tl:.4f}, Val Loss: {vl:.4f}")`` once an epoch, or one value per
    line): a record is the lines up to the first name printed again, the order of the file
    is the order of training. None when a value line has a counter, or a count the patterns
    above do not read (``Epoch(train) [1][5/20]``)."""
    if any(c or _BRACKET.search(_STAMPS.sub(" ", lines[i - 1][-1])) for i, c, _ in raw):
        return []
    out = []
    k, names = 0, set()
    for line, _, values in raw:
        these = {n for n, _ in values}
        if k == 0 or these & names:
            k, names = k + 1, set()
        names |= these
        out.append((line, {"step": (k, None)}, values))
    return out


def _records_of(line: str) -> list[str]:
    """A line led by a bare bracketed counter that holds further records led by the next
    numbers (``[010] loss: 0.31 [011] loss: 0.27``: a loop that printed with ``end=" "``
    unless it saved a checkpoint), one piece per record; any other line as it is."""
    lead = _LEAD_COUNTER.match(line)
    if not lead:
        return [line]
    at = [m.start() for m in re.finditer(r"(?<=\s)\[\s*\d+(?:\s*/\s*\d+)?\s*\]\s", line)]
    starts = [0] + [a for a in at if a > lead.end() - 1]
    pieces = [line[a:b] for a, b in zip(starts, starts[1:] + [len(line)])]
    numbers = [int(_LEAD_COUNTER.match(p).group(1)) for p in pieces]
    if len(pieces) == 1 or any(b <= a for a, b in zip(numbers, numbers[1:])):
        return [line]  # a batch counter after the epoch's, not records run together
    return pieces


#: words a record line may hold besides its counters and values (a level, a split, units)
_FILLER = re.compile(r"^(?:info|debug|warning|warn|error|root|main|train|training|val|valid|"
                     r"validation|eval|evaluation|test|dev|eta|avg|mean|time|data|lr|it|s|ms|"
                     r"step|sec|samples|batch|epoch|done|finished|summary|results?|best)$", re.I)
#: more other words than this make a line a sentence, not a record
MAX_PROSE_WORDS = 3


def _prose(rest: str, most: int = MAX_PROSE_WORDS) -> bool:
    """Whether what is left of a line (counters and values removed) is prose: more than
    ``most`` words that are not :data:`_FILLER`."""
    words = [w for w in re.findall(r"[A-Za-z]{2,}", rest) if not _FILLER.match(w)]
    return len(words) > most


def _metrics_before(head: str) -> bool:
    """Whether the text before a line's counter holds a metric's value (``best val_loss 0.41
    at epoch 7``: a summary, not a record). A row number there is not one (``index:   3,epoch:
    3 train_loss:0.41``: a loop that prints its own index first)."""
    return any(_metric_name(_snake(m.group(1))) for m in _PAIR.finditer(_BRACKET.sub(" ", head)))


def _named_split(pairs: list[re.Match]) -> str:
    """The split a line is about when its first name leads with it as a word of its own
    (``val Loss: 0.52 Acc: 0.81``: the accuracy is the validation one too); not ``val_loss=``,
    which names its own split only."""
    if not pairs:
        return ""
    words = pairs[0].group(1).split()
    return _SPLIT_WORDS.get(words[0].lower(), "") if len(words) > 1 else ""


def _counter_kind(word: str) -> str:
    w = word.lower().replace(" ", "_")
    return "epoch" if w == "epoch" else "step"


def _lead_split(rest: str) -> str:
    """The split a line is about when it starts with one (``Validation: loss 0.5``, ``[VALID
    DATA] avg. loss: 0.96``)."""
    m = _LEAD.match(rest) or _LEAD_TAG.match(rest)
    return _SPLIT_WORDS.get(m.group(1).lower(), "") if m else ""


def _metric_name(name: str) -> bool:
    """Names worth a curve: known to the vocabulary, or ending in a loss-, error- or
    score-like word (``top1_acc``; not ``loss_fell_only``)."""
    last = name.rsplit("_", 1)[-1]
    return canonical_name(name) != name or bool(_MAX_METRICS.search(last)
                                                  or _MIN_METRICS.search(last))


#: a line of values printed under records, with no counter of its own, is theirs when the same
#: names come under at least one in this many of them
UNDER_SHARE = 2


def _steps(raw: list[tuple[int, dict[str, tuple[int, int | None]], list[tuple[str, float]]]]
           ) -> list[Rec]:
    """Steps for the records: a global step, (epoch - 1) x steps per epoch + step when the
    step counts within an epoch, or the epoch (right after a record with a step counter, that
    record's step); lines without a counter follow the record before them when they carry only
    validation or test values, or other values printed under at least half the records
    (``UNDER_SHARE``) that the records at that step do not already hold; else they are
    dropped."""
    per_epoch = _per_epoch_size(raw)
    canon = functools.lru_cache(maxsize=None)(canonical_name)  # a log repeats a few names
    under: list[tuple[int, frozenset[str]]] = []  # records read from a line under a record
    # epochs counted from 0 (``Epoch [0/50]``) start at step 0 too, not an epoch before it
    first_epoch = int(not any(c["epoch"][0] == 0 for _, c, _ in raw if "epoch" in c))
    stepped = False  # the last record had a step counter
    out: list[Rec] = []
    for line, counters, values in raw:
        ep = counters.get("epoch")
        st = counters.get("step")
        epoch = float(ep[0]) if ep else math.nan
        if st is not None:
            step = st[0]
            if ep is not None and per_epoch:
                step = (ep[0] - first_epoch) * per_epoch + st[0]
        elif ep is not None and stepped:
            # an epoch's summary in a log that counts steps (JoeyNMT's ``Epoch 1: total
            # training loss 11850.41`` after ``Epoch 1, Step: 4200, ...``): at the step the
            # epoch ended, not at step 1, which would read as a second run from the start
            out.append(Rec(line, out[-1].step, values, epoch, "epoch"))
            continue
        elif ep is not None:
            step = ep[0]
            epoch = float(step)
        else:
            if not out:
                continue
            prev = out[-1]
            if not all(n.startswith(("val_", "test_")) for n, _ in values):
                # a line of other values right under a record (``epoch : 3/100 - loss = 4.01``
                # then ``Accuracy Train:13.3%, Dev:12.4%``): what it holds that the record's
                # step does not already hold under any name is that record's (a batch's
                # repeated ``train loss: 0.41`` under ``loss = 0.43`` is not), when the loop
                # prints it under most records (kept below; a summary printed once at the end,
                # or pieces of a redrawn progress bar, are no curve)
                named = set()  # what the records at its step hold: the last ones, in a row
                for r in reversed(out):
                    if r.step != prev.step:
                        break
                    named.update(canon(n) for n, _ in r.values)
                values = [(n, v) for n, v in values if canon(n) not in named]
                if prev.kind == "val" or not values:
                    continue
                under.append((len(out), frozenset(n for n, _ in values)))
                out.append(Rec(line, prev.step, values, prev.epoch, prev.kind))
                continue
            out.append(Rec(line, prev.step, values, prev.epoch, "val"))
            continue
        out.append(Rec(line, step, values, epoch))
        stepped = st is not None
    if under:
        counted = len(out) - len(under) - sum(r.kind == "val" for r in out)
        times = Counter(names for _, names in under)
        drop = {i for i, names in under if times[names] * UNDER_SHARE < counted}
        out = [r for i, r in enumerate(out) if i not in drop]
    return out


#: a validation loss this many times the log of the perplexity printed beside it is a sum over
#: the evaluation set's tokens, not a mean (a mean loss is the log of its perplexity)
SUMMED_FACTOR = 10.0
_PERPLEXITY = ("val_ppl", "val_perplexity")


def _summed_val_loss(recs: list[Rec]) -> list[str]:
    """A validation loss summed over the set (JoeyNMT 1.x: ``loss: 81463.59, ppl: 36.74``,
    where the batch losses are per token) kept as ``val_summed_loss``, and the log of the
    perplexity, the loss per token, read as the validation loss: a sum thousands of times the
    train loss is no gap. Every record with both must say so; returns the note."""
    both = []
    for r in recs:
        named = dict(r.values)
        ppl = next((named[n] for n in _PERPLEXITY if n in named), None)
        if "val_loss" in named and ppl is not None:
            both.append((r, named["val_loss"], ppl))
    if not both or not all(ppl > 1 and loss > SUMMED_FACTOR * math.log(ppl)
                           for _, loss, ppl in both):
        return []
    for r, _, ppl in both:
        r.values = [("val_summed_loss" if n == "val_loss" else n, v) for n, v in r.values]
        r.values.append(("val_loss", math.log(ppl)))
    r, loss, ppl = both[0]
    return [f"line {r.line}: the validation loss printed ({loss:g}) is {loss / math.log(ppl):.0f}x "
            f"the log of the perplexity beside it ({ppl:g}): a sum over the evaluation set; "
            "ln(perplexity), the loss per token, is read as val/loss and the sum keeps the name "
            "val_summed_loss"]


def _number_records(recs: list[Rec]) -> list[str]:
    """Steps for a loop that prints a line per batch with only its epoch (``Epoch 1 - Batch
    loss: 12.13``, hundreds per epoch): numbered in file order, so the batch curve is kept
    rather than its last value per epoch; a line of validation values takes the number of the
    record before it, and an epoch that goes back to the first starts the numbers again (a
    run appended). Nothing changes when a step is printed or each epoch has one record of a
    kind. Returns the note that says so."""
    if any(r.step is None or r.epoch != r.step for r in recs if r.kind != "val"):
        return []  # a step counter was printed (or no counter): its steps stand
    seen: set[tuple[float, tuple[str, ...]]] = set()
    repeated: list[str] = []
    for r in recs:
        key = (r.epoch, tuple(n for n, _ in r.values))
        if r.kind != "val" and key in seen:
            repeated = list(key[1])
            break
        seen.add(key)
    if not repeated or _resumed(recs):
        return []
    k, first, last = 0, recs[0].epoch, recs[0].epoch
    for r in recs:
        if r.kind != "val":
            if starts_again(r.epoch, last, first):
                k = 0
            k, last = k + 1, r.epoch
        r.step = max(k, 1)
    epochs = len({r.epoch for r in recs})
    return [f"no step counter, and several records of one epoch ({', '.join(map(repr, repeated))} "
            f"printed about {k // max(epochs, 1)} times per epoch): records numbered in file "
            "order as steps, the epoch kept beside them"]


def _unprefixed(lines: list[str]) -> list[str]:
    """The lines without a ``logging`` prefix (``2026-05-08 22:39:24 | INFO |   LR : 0.0001``):
    the settings a script logs before training are read as if printed bare."""
    return [line[m.end():] if (m := _TABLE_PREFIX.match(line)) else line for line in lines]


def _resumed(recs: list[Rec]) -> bool:
    """Whether an epoch is printed again only because the counter went back past it, never to
    the run's start nor twice in a row: a run resumed from an earlier checkpoint (epochs 1-25,
    then 21-30) whose later records replace the ones it discarded, not a loop printing several
    records an epoch."""
    first: dict[tuple[str, ...], float] = {}
    last: dict[tuple[str, ...], float] = {}
    for r in recs:
        if r.kind == "val":
            continue
        key = tuple(n for n, _ in r.values)
        if key in last and (r.epoch == last[key] or starts_again(r.epoch, last[key], first[key])):
            return False
        first.setdefault(key, r.epoch)
        last[key] = r.epoch
    return True


def _per_epoch_size(raw: list[tuple[int, dict[str, tuple[int, int | None]], list]]) -> int | None:
    """Steps per epoch when the step counter starts again in each epoch: the printed total
    (``Step [100/600]``), else the largest step of the first epoch; None for a global step.
    A counter that does not go up when the epoch does counts within the epoch, also when it
    never falls (a loop printing once per epoch, always ``Step [600/600]``)."""
    both = [(c["epoch"], c["step"]) for _, c, _ in raw if "epoch" in c and "step" in c]
    resets = any(e2[0] > e1[0] and s2[0] <= s1[0]
                 for (e1, s1), (e2, s2) in zip(both, both[1:]))
    if not resets:
        return None
    # a counter from 0 has one more position than its largest value (``Step [0/8]`` to
    # ``Step [8/8]``: nine records an epoch, the first of the next epoch after the last)
    extra = int(min(s[0] for _, s in both) == 0)
    totals = [s[1] for _, s in both if s[1]]
    first = both[0][0][0]
    return max(max(totals, default=0),
               max(s[0] for e, s in both if e[0] == first or totals) + extra)


# -- runs ----------------------------------------------------------------------------------


def read(path: Path, aliases: Mapping[str, str] | None = None) -> list[Run]:
    """The runs of one text log (several when its counter starts again)."""
    path = Path(path)
    data = read_bytes(path)
    text = decode_text(data)
    notes: list[str] = []
    parsed = parse(text)
    torn = bool(text) and not text.endswith("\n")
    if torn:
        # an unterminated last line may be cut mid-number: kept only when it holds the same
        # names as the record before it (a log saved without its final newline)
        last = text.count("\n") + 1
        recs = parsed.records
        whole = len(recs) > 1 and recs[-1].line == last and \
            [n for n, _ in recs[-1].values] == [n for n, _ in recs[-2].values]
        if not whole:
            parsed = parse(text[:text.rfind("\n") + 1])
        notes.append(f"{path}:{last}: last line has no newline; " + (
            "read, as it holds the same names as the line before (a value cut short there "
            "would not show)" if whole else "skipped as torn (the writer was interrupted or "
            "is still writing)"))
        torn = not whole
    if not parsed.records:
        where = f"line {parsed.bad[0]}" if parsed.bad else "line 1"
        raise ReadError(path, "no training records in this text (no line with a counter "
                        "and a loss or accuracy)", where)
    if parsed.bad:
        notes.append(f"{path}: {len(parsed.bad)} unreadable line(s) skipped (binary bytes "
                     f"or a damaged record; first: line {parsed.bad[0]})")
    notes.extend(f"{path}: {n}" for n in parsed.notes)
    if parsed.unfinished:
        notes.append(f"{path}:{parsed.unfinished[-1]}: an epoch that did not finish "
                     f"({len(parsed.unfinished)} in all); its partial values skipped")
    groups = _split_runs(parsed.records)
    if _continued(groups):
        notes.append(f"{path}: the counter starts again {len(groups) - 1} times, but each time "
                     "the loss goes on from where it was (one model trained by repeated fit "
                     "calls): read as one run, its steps numbered on")
        groups = [_numbered_on(groups)]
    rid = run_id(path)
    runs = []
    head = text.split("\n", groups[-1][0].line)
    for k, recs in enumerate(groups, start=1):
        name = rid if len(groups) == 1 else f"{rid}#{k}"
        # the settings this run's script printed before its first record
        start = groups[k - 2][-1].line if k > 1 else 0
        params, at, what = printed_params(_unprefixed(head[start:recs[0].line - 1]))
        classes = _convnet_classes(head[start:recs[0].line - 1]) \
            if parsed.shape == "convnet" and "num_classes" not in params else {}
        run = Run(id=name, metrics=EMPTY, path=str(path), params=params,
                  format="keras" if parsed.shape in ("keras", "history") else "unknown",
                  in_progress=torn or bool(parsed.unfinished) and k == len(groups))
        run.warnings.extend(notes if k == 1 else [n for n in notes if "unreadable" in n])
        if params:
            run.warnings.append(f"{path}:{start + at + 1}: params read from the settings the script "
                                f"printed before training ({what}): {', '.join(sorted(params)[:8])}"
                                + (", ..." if len(params) > 8 else ""))
        if classes:
            run.params.update(classes)
            run.warnings.append(f"{path}:{start + classes.pop('line')}: num_classes "
                                f"{run.params['num_classes']} read from the size of the net's "
                                "softmax layer")
        if len(groups) > 1:
            run.warnings.append(
                f"{path}:{recs[0].line}: run {k} of {len(groups)} in this file, from this line "
                f"(the counter starts again from the beginning {len(groups) - 1} time(s): runs "
                f"appended to one log); read as {name!r}")
        _fill(run, recs, parsed.shape, aliases, str(path))
        runs.append(run)
    return runs


#: cuda-convnet's start-up line for the softmax layer: its outputs are the classes
_CONVNET_SOFTMAX = re.compile(r"^Initialized softmax layer '[^']*', producing (\d+) outputs\s*$")


def _convnet_classes(lines: list[str]) -> dict[str, int]:
    """The classes of a cuda-convnet net, from the size its softmax layer announced, and the
    line that says it (``line``)."""
    found = [(i, int(m.group(1))) for i, line in enumerate(lines, start=1)
             for m in [_CONVNET_SOFTMAX.match(line)] if m]
    return {"num_classes": found[-1][1], "line": found[-1][0]} if found and found[-1][1] > 1 \
        else {}


def _split_runs(recs: list[Rec]) -> list[list[Rec]]:
    """Records split where the counter goes back to the run's start or before it (a second
    run appended) or where the tool said a run ended; a smaller step back (a resumed run)
    stays in the run."""
    groups: list[list[Rec]] = [[]]
    for r in recs:
        g = groups[-1]
        if g and r.part != g[-1].part:
            groups.append([])
        elif g and r.step is not None and r.step <= g[0].step and \
                r.kind not in ("val", "epoch") and \
                any(x.step != g[0].step for x in g):
            groups.append([])
        groups[-1].append(r)
    return [g for g in groups if g]


#: fewest restarts of the counter that may read as one model trained on (a loop of ``fit``
#: calls); with one restart, a second run whose first value happens to sit near the first
#: run's last could not be told from a continuation
MIN_CONTINUED_RESTARTS = 2
#: how many of the curve's largest steps a restart may move the loss and still go on from where
#: it was (a plateau's epochs differ by noise; a new run jumps back by most of the whole fall)
CONTINUED_STEP_FACTOR = 2.0


def _continued(groups: list[list[Rec]]) -> bool:
    """Whether runs split at counter restarts are one model trained on: every restart takes
    the train loss on from the run before's last value by no more than a step or two of the
    curve (:data:`CONTINUED_STEP_FACTOR` times the largest change between its neighbours' own
    consecutive records) and nearer there than to the first run's first value, where a new run
    would jump back up to its untrained loss."""
    if len(groups) <= MIN_CONTINUED_RESTARTS or any(g[0].part != groups[0][0].part for g in groups):
        return False
    if any(r.step is None for g in groups for r in g):
        return False  # records without a counter: nothing to number on
    curves = []
    for g in groups:
        loss = [v for r in g if r.kind not in ("val", "epoch") for n, v in r.values
                if canonical_name(_snake(n)) == "train/loss"]
        if len(loss) < 2 or not all(math.isfinite(v) for v in loss):
            return False
        curves.append(loss)
    untrained = curves[0][0]
    for before, after in zip(curves, curves[1:]):
        step = max(abs(b - a) for c in (before, after) for a, b in zip(c, c[1:]))
        jump = abs(after[0] - before[-1])
        if jump > CONTINUED_STEP_FACTOR * step or jump >= abs(after[0] - untrained):
            return False
    return True


def _numbered_on(groups: list[list[Rec]]) -> list[Rec]:
    """The runs' records as one run: each run's steps moved on past the last step before it."""
    out: list[Rec] = []
    for g in groups:
        if out:
            shift = out[-1].step + 1 - g[0].step
            for r in g:
                r.step += shift
                r.epoch += shift if math.isfinite(r.epoch) else 0
        out.extend(g)
    return out


def _fill(run: Run, recs: list[Rec], shape: str, aliases: Mapping[str, str] | None,
          where: str) -> None:
    steps, names, values, epochs = [], [], [], []
    for r in recs:
        for n, v in r.values:
            steps.append(r.step)
            names.append(n)
            values.append(v)
            epochs.append(r.epoch)
    rename = None
    if shape == "hf":
        rename = _renamer(set(names), aliases)
    elif shape == "plain":
        rename = _test_as_val(set(names), aliases, run, where)
    finish_metrics(run, steps, names, values, aliases, where, epoch=epochs, rename=rename)


def _test_as_val(names: set[str], aliases: Mapping[str, str] | None, run: Run, where: str):
    """``test_acc`` read as the validation accuracy when the log has no validation values
    (hand-written loops often call their held-out split "test")."""
    has_val = any(canonical_name(n, aliases).startswith("val/") for n in names)
    moved = sorted(n for n in names if n.startswith("test_") and not has_val
                   and canonical_name("val_" + n[5:], aliases).startswith("val/"))
    if moved:
        run.warnings.append(f"{where}: {', '.join(map(repr, moved))} read as validation "
                            "metrics: no other held-out values in this log")

    def rename(raw: str) -> str:
        return canonical_name("val_" + raw[5:] if raw in moved else raw, aliases)

    return rename
