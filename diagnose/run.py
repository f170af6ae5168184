"""The Run model: one training run as identity, params and a tidy metrics table.

Every reader produces a ``Run``; every feature and rule consumes one. Keeping a
single in-memory picture is what lets the rules be format-agnostic.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:  # pandas is imported when a table is first built, not on `import diagnose`
    import pandas as pd

__all__ = [
    "CANONICAL_METRICS",
    "IDENTITY_FIELDS",
    "MetricsDropped",
    "PARAM_FIELDS",
    "RESULT_FIELDS",
    "Run",
    "Thousandths",
    "canonical_name",
    "counterpart",
    "infer_mode",
    "is_train_metric",
    "selection_metric",
    "tidy_metrics",
]

#: Names the rules understand; any other metric name passes through unchanged.
CANONICAL_METRICS = ("train/loss", "val/loss", "train/acc", "val/acc", "lr", "grad_norm")
#: the curves the rules judge: a run with none of them cannot be checked, whatever it logged
JUDGED_METRICS = CANONICAL_METRICS[:4]
#: the accuracies the rules read as fractions of 1 (1/K at chance, a gap of 0.1 as ten points)
ACCURACY_METRICS = JUDGED_METRICS[2:]
#: the largest value of an accuracy logged in percent
PERCENT = 100.0


def in_percent(values: np.ndarray) -> bool:
    """An accuracy logged in percent (``100 * correct / total``): nothing below 0, and its
    largest finite value above 1 and at most 100."""
    v = values[np.isfinite(values)]
    return bool(len(v)) and float(v.min()) >= 0 and 1 < float(v.max()) <= PERCENT


#: readers whose step axis counts epochs (Keras CSVLogger / History, Ultralytics results.csv)
EPOCH_AXIS_FORMATS = frozenset({"keras", "yolo"})

#: The chapter's experiment log, grouped as it groups them.
IDENTITY_FIELDS = ("experiment_id", "code_version", "data_version", "seed")
PARAM_FIELDS = ("lr", "batch_size", "optimizer", "weight_decay", "dropout", "epochs")
RESULT_FIELDS = ("best_val_metric", "train_time", "decision")

_METRIC_COLUMNS = ("step", "metric", "value", "wall_time", "epoch")

# Spellings seen in the wild, keyed by a normalised form (lower case, separators -> "/").
_ALIASES: dict[str, str] = {}


def _alias(canonical: str, *spellings: str) -> None:
    for s in spellings:
        _ALIASES[_normalise(s)] = canonical


#: whole words read as other words: those of other languages that name a split or a metric
#: (Chinese Lightning logs write ``训练/损失``, ``验证/准确率``), and the plurals hand-written loops
#: give the lists they append to (``train_losses``, ``val_accs``). A word not listed (``总损失``,
#: a total loss) stays as it is.
_WORDS = {"训练": "train", "验证": "val", "测试": "test", "损失": "loss", "准确率": "accuracy",
          "正确率": "accuracy", "学习率": "lr", "losses": "loss", "accuracies": "accuracy",
          "accs": "acc"}


def _normalise(name: str) -> str:
    norm = re.sub(r"[\s.\-]+", "_", name.strip().lower())
    return re.sub(r"[^_/]+", lambda m: _WORDS.get(m.group(0), m.group(0)), norm)


_alias(
    "train/loss",
    "loss", "train_loss", "training_loss", "train/loss", "loss/train", "train/loss_step",
    "train_loss_step", "train/loss_epoch", "train_loss_epoch", "epoch_loss", "training/loss",
    "loss/training", "train/epoch_loss", "trainloss", "loss_train", "train/train_loss",
    "train_loss_local", "train/loss_local", "loss_epoch", "loss_step", "train/total_loss",
    "train_loss_batch", "train/loss_batch", "train_batch_loss", "batch_loss", "loss_batch",
    # short split words of hand-written loops (``tr_loss``, ``TrnLoss``)
    "tr_loss", "trn_loss", "trloss", "trnloss",
    # "ls" for loss beside a short split word (a public Faster R-CNN's MLflow runs: ``tr_ls``)
    "tr_ls", "trn_ls", "train_ls",
    # "cost", the loss's name in TensorFlow 1 tutorials and the loops copied from them
    # (``Epoch: 0001 cost= 0.29``); a cost with any other word (``time cost``) is not a loss
    "cost", "train_cost", "training_cost", "train/cost", "cost/train", "cost_train",
    "train_batch_cost", "batch_cost", "minibatch_cost",
)
_alias(
    "val/loss",
    "val_loss", "valid_loss", "validation_loss", "eval_loss", "eval/loss", "loss/validation",
    "loss/val", "val/loss", "validation/loss", "valid/loss", "val_loss_epoch", "val/loss_epoch",
    "loss/valid", "dev_loss", "dev/loss", "test_loss_val", "loss_val", "loss_valid",
    "loss_validation", "validation/epoch_loss",
    "val/epoch_loss", "eval/epoch_loss", "valloss", "validloss", "validationloss", "evalloss",
    # detectron2's validation-loss hooks (``total_val_loss`` beside ``val_loss_cls``, ...)
    "total_val_loss", "val_total_loss", "total_validation_loss", "validation_total_loss",
    # short split words of hand-written loops (``va_loss``, ``VLoss``)
    "va_loss", "v_loss", "vloss", "val_ls", "vl_ls", "valid_ls",
    "val_cost", "valid_cost", "validation_cost", "val/cost", "validation/cost", "cost/val",
    "cost/validation", "dev_cost", "eval_cost",
)
# a test-set cost under the test loss's plain spelling, which the readers read as the validation
# loss when a log has no other
_alias("test_loss", "test_cost", "testing_cost", "test/cost", "cost/test")
_alias(
    "train/acc",
    "acc", "accuracy", "train_acc", "train_accuracy", "training_accuracy", "training_acc",
    "train/acc",
    "train/accuracy", "accuracy/train", "acc/train", "train_acc_step", "train_acc_epoch",
    "train/acc_step", "train/acc_epoch", "epoch_accuracy", "epoch_acc", "train/epoch_accuracy",
    "trainacc", "trainaccuracy", "training/accuracy", "training/acc", "accuracy/training",
    # Keras metric objects' names (``metrics=["categorical_accuracy"]``, ``BinaryAccuracy()``)
    "categorical_accuracy", "sparse_categorical_accuracy", "binary_accuracy",
    # and as Keras's TensorBoard callback writes them (``train/epoch_categorical_accuracy``)
    "epoch_categorical_accuracy", "epoch_sparse_categorical_accuracy", "epoch_binary_accuracy",
    "train/epoch_categorical_accuracy", "train/epoch_sparse_categorical_accuracy",
    "train/epoch_binary_accuracy", "train/epoch_acc",
    # top-1 spellings (a top-1 accuracy is the accuracy; top-5 is not)
    "train_top1", "train/top1", "train_acc1", "train/acc1", "train_top1_acc", "train/top1_acc",
    "train_acc_top1", "train/acc_top1", "train_acc_top1_step", "train_acc_top1_epoch",
    "train_accuracy_top1", "train/accuracy_top1",
    "tr_acc", "trn_acc", "tracc", "trnacc",
    # the split after the metric, as ``loss_train`` above (``acc_train`` beside ``loss_train``)
    "acc_train", "accuracy_train", "acc_training", "accuracy_training",
    # a loop's accuracy on its last batch, beside ``batch_loss`` (JoeyNMT's ``Batch Acc:``)
    "batch_acc", "batch_accuracy", "train_batch_acc", "train_batch_accuracy",
)
_alias(
    "val/acc",
    "val_acc", "val_accuracy", "valid_acc", "valid_accuracy", "validation_accuracy",
    "validation_acc", "eval_accuracy", "eval_acc", "eval/accuracy", "eval/acc", "val/acc",
    "val/accuracy", "accuracy/validation", "accuracy/val", "acc/val", "acc/validation",
    "val_acc_epoch", "val/acc_epoch", "validation/epoch_accuracy", "val/epoch_accuracy",
    "valacc", "valaccuracy", "validacc", "validaccuracy", "validationaccuracy",
    "validation/accuracy", "validation/acc", "valid/accuracy", "valid/acc", "accuracy/valid",
    "dev/accuracy", "dev/acc", "dev_accuracy", "dev_acc",
    # timm's summary.csv and top-1 spellings of image classifiers (often in percent)
    "eval_top1", "val_top1", "valid_top1", "eval/top1", "val/top1", "val_acc1", "eval_acc1",
    "val/acc1", "val_top1_acc", "val/top1_acc", "val_acc_top1", "val/acc_top1",
    "val_acc_top1_epoch", "val/acc_top1_epoch", "valid_acc_top1", "val_accuracy_top1",
    "val/accuracy_top1", "eval_acc_top1", "eval/acc_top1",
    "val_categorical_accuracy", "val_sparse_categorical_accuracy", "val_binary_accuracy",
    "validation/epoch_categorical_accuracy", "validation/epoch_sparse_categorical_accuracy",
    "validation/epoch_binary_accuracy", "validation/epoch_acc",
    # ultralytics' classifier top-1 as its TensorBoard callback writes it (results.csv's
    # column of the same name is mapped by the YOLO reader)
    "metrics/accuracy_top1",
    # MMPretrain's evaluator (``accuracy/top1``, in percent), as the MMEngine reader names it
    "val/accuracy/top1",
    "va_acc", "v_acc", "vacc",
    "acc_val", "accuracy_val", "acc_valid", "accuracy_valid", "acc_validation",
    "accuracy_validation", "acc_dev", "accuracy_dev",
)
_alias(
    "lr", "lr", "learning_rate", "learning-rate", "lr-sgd", "lr-adam", "lr-adamw", "train/lr",
    "train/learning_rate", "optimizer/lr", "lr/group_0", "epoch_learning_rate", "lr_abs",
)
_alias(
    "grad_norm",
    "grad_norm", "gradient_norm", "train/grad_norm", "grad_norm/total", "total_norm",
    "grad_norm_2.0_norm_total", "grad_2.0_norm_total", "gradients/norm",
)


#: a word boundary inside a CamelCase name (``WeightDecay`` -> ``Weight_Decay``, ``PackedNLLLoss``
#: -> ``Packed_NLL_Loss``, ``Train/EpochLoss`` -> ``Train/Epoch_Loss``): metric names here and in
#: the readers' frames, settings keys in the readers' params
CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def canonical_name(name: str, aliases: Mapping[str, str] | None = None) -> str:
    """Map a metric spelling to its canonical name; unknown names pass through unchanged.

    ``aliases`` (user configuration) is consulted first, by exact name then normalised name.
    """
    if aliases:
        if name in aliases:
            return aliases[name]
        norm_user = {_normalise(k): v for k, v in aliases.items()}
        if _normalise(name) in norm_user:
            return norm_user[_normalise(name)]
    norm = _normalise(name)
    if norm in _ALIASES:
        return _ALIASES[norm]
    inner = _ungrouped(norm)
    if inner is not None:  # the member's own name, when that is one the vocabulary knows
        mapped = canonical_name(inner, aliases)
        return mapped if mapped != inner else name
    plain = _unqualified(norm)
    if plain and plain in _ALIASES:
        return _ALIASES[plain]
    # a CamelCase name the vocabulary knows word by word (``Val/EpochLoss``, a hand-written
    # loop's TensorBoard tag): read as its words; joined spellings (``TrainLoss``) matched above
    words = CAMEL.sub("_", name)
    if words != name:
        mapped = canonical_name(words, aliases)
        return mapped if mapped != words else name
    return name


#: a tag group that names the kind of value its members already name (``add_scalars("Loss",
#: {"train_loss": ..., "test_loss": ...})`` writes ``Loss/train_loss``): the group says nothing more
_KIND_GROUPS = {"loss": {"loss"}, "accuracy": {"acc", "accuracy"},
                "acc": {"acc", "accuracy"}}


def _ungrouped(norm: str) -> str | None:
    """``loss/train_loss`` -> ``train_loss``: a normalised name without a group word that its
    member repeats, when the member names a split too; None otherwise."""
    head, _, tail = norm.partition("/")
    words = set(re.split(r"[_/]", tail))
    kinds = _KIND_GROUPS.get(head)
    if not tail or not kinds or not kinds & words or not (_SPLIT_WORDS | {"test"}) & words:
        return None
    return tail


#: words that say how a logged value was averaged, or over what (``train_loss_batch``,
#: ``Train/Average Loss per Epoch``, ``val_loss_iter``), or that it is a curve
#: (``val_acc_curve``), not what it is
_QUALIFIERS = frozenset({"avg", "average", "mean", "running", "per", "batch", "iter", "iteration",
                         "curve"})
#: words that say a loss is the sum of its parts (``train_loss_sum`` beside ``train_cls_loss``,
#: ``train_total_loss``): the loss the run minimises, the one the rules read
_TOTALS = frozenset({"sum", "total"})
#: words that name a split: a qualified name must keep one to be read (``avg_loss`` alone is
#: left to the readers' total-loss fallback, which reads it only when nothing else is a loss)
#: words that name a held-out split (the first word of ``val_loss``, ``eval/acc``, ...)
HELD_OUT_WORDS = frozenset({"val", "valid", "validation", "eval", "dev"})
#: words that name the training split (the first word of ``train_loss``, ``training/acc``)
TRAIN_WORDS = frozenset({"train", "training"})
_SPLIT_WORDS = TRAIN_WORDS | HELD_OUT_WORDS


def _plain(parts: list[str]) -> list[str]:
    """``parts`` without averaging words, a loss's ``sum`` or ``total``, a last ``epoch`` (a
    mean over the epoch, of any split) or a last ``step`` of a train name, the split word first
    or not (``loss_train_step``: one batch's value, the train loss's own reading, but not a
    validation loss's, which would be one evaluation batch)."""
    kept = [p for p in parts if p not in _QUALIFIERS and (p not in _TOTALS or "loss" not in parts)]
    train = bool(TRAIN_WORDS & set(kept)) and not HELD_OUT_WORDS & set(kept)
    if len(kept) > 2 and (kept[-1] == "epoch" or (kept[-1] == "step" and train)):
        kept = kept[:-1]
    return kept


def plain_words(name: str) -> list[str]:
    """The words of a metric name without how it was averaged (``Test/Average loss`` ->
    ``test``, ``loss``): what the value is."""
    norm = _normalise(name)
    return _plain([p for p in re.split(r"[_/]", _ungrouped(norm) or norm) if p])


def is_averaged(name: str) -> bool:
    """Whether ``name`` carries words that say how it was averaged (``avg_test_loss``)."""
    parts = [p for p in re.split(r"[_/]", _normalise(name)) if p]
    return _plain(parts) != parts


def _unqualified(norm: str) -> str | None:
    """A normalised name without its averaging words (``average_train_loss``, ``val_avg_loss``,
    ``train_loss_mean``, ``train_loss_batch_step`` -> ``train_loss``, ``val_loss``): hand-written
    loops and their CSVs print epoch averages under such names, and Lightning appends ``_step``
    and ``_epoch`` to any logged name. None when it has no such word, or names no split."""
    parts = re.split(r"[_/]", norm)
    kept = _plain(parts)
    if len(kept) == len(parts) or not _SPLIT_WORDS & set(kept):
        return None
    return "_".join(kept)


def _encodable(name: str) -> str:
    """``name`` with lone surrogates spelled as ``\\udXXX`` (a name from a damaged log)."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def tidy_metrics(rows: Any = None, **columns: Iterable[Any]) -> "pd.DataFrame":
    """Build the canonical tidy metrics frame with the right dtypes.

    Accepts either a DataFrame/records (``rows``) or column iterables. NaN and
    ±inf values are kept as they are: they are evidence, not noise.
    """
    import pandas as pd

    try:
        df = pd.DataFrame(rows if rows is not None else columns)
    except UnicodeEncodeError:  # a lone surrogate in a name, and pandas stores str as UTF-8
        df = pd.DataFrame(rows if rows is not None else columns, dtype=object)
        df["metric"] = [_encodable(str(m)) for m in df["metric"]]
    if df.empty and "step" not in df.columns:
        df = pd.DataFrame({"step": [], "metric": [], "value": []})
    out = pd.DataFrame(
        {
            "step": df["step"].astype("int64"),
            "metric": df["metric"].astype(str),
            "value": pd.to_numeric(df["value"], errors="coerce").astype("float64"),
        }
    )
    for opt in ("wall_time", "epoch"):
        if opt in df.columns:
            out[opt] = pd.to_numeric(df[opt], errors="coerce").astype("float64")
    return out.reset_index(drop=True)


_EMPTY_STEPS = np.empty(0, dtype=np.int64)
_EMPTY_VALUES = np.empty(0, dtype=np.float64)


class Thousandths:
    """A float64 column held as whole thousandths: 4 bytes a row instead of 8, exactly.

    ``wall_time`` is written to the millisecond (``%d.%03d``) and an epoch is often a
    whole number: such a column is ``(base + offsets) / 1000`` with int32 offsets, and
    ``k / 1000.0`` is the double nearest to the decimal ``k / 1000``, which is what the
    parser gave, so :meth:`array` returns the very values packed. Nothing reads these
    columns while checking; the tidy table unpacks them.
    """

    __slots__ = ("base", "offsets")

    def __init__(self, base: int, offsets: np.ndarray) -> None:
        self.base = base  # thousandths
        self.offsets = offsets  # int32

    @classmethod
    def pack(cls, v: np.ndarray) -> "Thousandths | None":
        """``v`` packed, or None when some value is not a whole number of thousandths
        (or not finite, or the offsets would not fit in 32 bits)."""
        if not len(v):
            return None
        k = v * 1000.0
        np.round(k, out=k)
        if not (np.abs(k) < 2.0 ** 53).all():  # NaN and inf fail here too
            return None
        base = int(k[0])
        if not (np.divide(k, 1000.0) == v).all() or np.signbit(v[v == 0]).any():
            return None  # (-0.0 would come back as 0.0)
        k -= base
        if not ((k >= -2.0 ** 31) & (k < 2.0 ** 31)).all():
            return None
        return cls(base, k.astype(np.int32))

    @classmethod
    def join(cls, parts: list["Thousandths"]) -> "Thousandths | np.ndarray":
        """The parts one after another, each let go (from ``parts``) once copied: packed,
        or as float64 values when the offsets from the first part's base would not fit."""
        base = parts[0].base if parts else 0
        fits = all(-2 ** 31 <= int(p.offsets.min()) + p.base - base < 2 ** 31
                   and -2 ** 31 <= int(p.offsets.max()) + p.base - base < 2 ** 31
                   for p in parts if len(p.offsets))
        out = np.empty(sum(len(p) for p in parts), dtype=np.int32 if fits else np.float64)
        at = 0
        for i, p in enumerate(parts):
            o = out[at:at + len(p)]
            if not fits:
                o[:] = p.array()
            else:
                o[:] = p.offsets
                if p.base != base:
                    o += np.int32(p.base - base)
            at += len(p)
            parts[i] = cls(p.base, p.offsets[:0])
        return cls(base, out) if fits else out

    def __len__(self) -> int:
        return len(self.offsets)

    def __getitem__(self, rows: Any) -> "Thousandths":
        return Thousandths(self.base, self.offsets[rows])

    def array(self) -> np.ndarray:
        out = self.offsets.astype(np.float64)
        out += self.base  # exact: integers below 2**53
        out /= 1000.0
        return out


def plain(v: "np.ndarray | Thousandths") -> np.ndarray:
    """A column as float64 values, packed or not."""
    return v.array() if isinstance(v, Thousandths) else v


@dataclass
class _Columns:
    """A run's metrics as numpy arrays per metric (sorted names), each sorted by step.

    What readers with a fast path fill and features read; the pandas table is
    built from it only when someone asks for ``run.metrics`` (no copy before that).
    """

    series: dict[str, tuple[np.ndarray, np.ndarray]]  # name -> (steps int64, values float64)
    #: per metric (packed or not), or one number for every row (NaN: the column is there
    #: but empty)
    wall_time: dict[str, np.ndarray | Thousandths] | float | None = None
    epoch: dict[str, np.ndarray | Thousandths] | float | None = None

    @property
    def n_rows(self) -> int:
        return sum(len(s) for s, _ in self.series.values())

    def n_steps(self) -> int:
        """Distinct steps over all metrics, without sorting them all when they nest."""
        arrs = sorted((s for s, _ in self.series.values()), key=len, reverse=True)
        if not arrs:
            return 0
        acc = arrs[0]
        for a in arrs[1:]:
            pos = np.searchsorted(acc, a)
            new = a[(pos == len(acc)) | (acc[np.minimum(pos, len(acc) - 1)] != a)]
            if len(new):
                acc = np.union1d(acc, new)
        return int(len(acc))

    def frame(self) -> "pd.DataFrame":
        names = list(self.series)
        steps = [self.series[n][0] for n in names]
        metric = np.repeat(np.array(names, dtype=object), [len(s) for s in steps])

        def column(v: Any) -> np.ndarray:
            if isinstance(v, float):
                return np.full(len(metric), v)
            return np.concatenate([plain(v[n]) for n in names]) if names else np.empty(0)

        extra = {k: column(v) for k, v in (("wall_time", self.wall_time), ("epoch", self.epoch))
                 if v is not None}
        return tidy_metrics(
            step=np.concatenate(steps) if names else np.empty(0, dtype=np.int64), metric=metric,
            value=np.concatenate([self.series[n][1] for n in names]) if names else np.empty(0),
            **extra)


@dataclass(frozen=True)
class _Info:
    """What a run whose curves were dropped still says about itself (after parallel checks)."""

    metric_names: list[str]
    n_steps: int
    step_range: tuple[int, int] | None


class MetricsDropped(RuntimeError):
    """The run's curves were not kept (it was analysed in a worker); reload it by path."""


@dataclass(eq=False)
class Run:
    """One training run.

    ``metrics`` is tidy: columns ``step`` (int64), ``metric`` (canonical name),
    ``value`` (float64) and optionally ``wall_time`` and ``epoch``. It is built
    lazily: readers may fill numpy arrays instead (:meth:`set_arrays`), which is
    all the rules need. ``identity``/``params``/``results`` follow the chapter's
    experiment log; extra keys are kept.
    """

    id: str
    metrics: "pd.DataFrame" = None  # type: ignore[assignment]  # a property, see below
    params: dict[str, Any] = field(default_factory=dict)
    identity: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    path: str | None = None
    format: str = "unknown"
    #: Original name -> canonical name for every renamed metric (shown by --verbose).
    name_map: dict[str, str] = field(default_factory=dict)
    #: Reader notes a user should see (torn last line, repeated steps, ...).
    warnings: list[str] = field(default_factory=list)
    #: True when the writer had not finished (no end time, torn tail).
    in_progress: bool = False
    num_classes: int | None = None

    def __post_init__(self) -> None:
        self.__dict__.setdefault("_arrays", {})

    # -- storage: a pandas table, numpy columns, or (after a parallel check) neither ------
    def _get_metrics(self) -> "pd.DataFrame":
        d = self.__dict__
        frame = d.get("_frame")
        if frame is None:
            if d.get("_info") is not None:
                raise MetricsDropped(
                    f"run {self.id!r}: its curves were not kept after a parallel check; "
                    f"read it again with diagnose.load({self.path!r})")
            cols = d.get("_cols")
            frame = cols.frame() if cols is not None else tidy_metrics()
            d["_frame"] = frame
        return frame

    def _set_metrics(self, value: "pd.DataFrame | None") -> None:
        # replacing the metrics table drops the arrays cached from the old one
        d = self.__dict__
        d["_frame"] = value
        d["_cols"] = None
        d["_info"] = None
        d["_arrays"] = {}

    def set_arrays(self, series: Mapping[str, tuple[np.ndarray, np.ndarray]],
                   wall_time: Mapping[str, np.ndarray | Thousandths] | float | None = None,
                   epoch: Mapping[str, np.ndarray | Thousandths] | float | None = None) -> None:
        """Fill the metrics from per-metric ``(steps, values)``, steps strictly increasing.

        The fast path for readers: no pandas table is built until ``run.metrics``
        is read. ``wall_time``/``epoch`` (per metric, same lengths) become those
        columns; a single number fills the column (NaN: present but empty, at no cost).
        """
        names = sorted(n for n, (st, _) in series.items() if len(st))
        arrays = {n: (np.asarray(series[n][0], dtype=np.int64),
                      np.asarray(series[n][1], dtype=np.float64)) for n in names}

        def per_metric(v: Any) -> dict[str, np.ndarray] | float | None:
            if v is None or isinstance(v, (int, float)):
                return None if v is None else float(v)
            return {n: v[n] if isinstance(v[n], Thousandths) else
                    np.asarray(v[n], dtype=np.float64) for n in names}

        cols = _Columns(arrays, per_metric(wall_time), per_metric(epoch))
        self._set_metrics(None)
        self.__dict__["_cols"] = cols
        self.__dict__["_arrays"] = dict(arrays)

    def without_metrics(self) -> "Run":
        """A copy that keeps identity, params, notes and metric names but drops the curves.

        What a parallel check sends back: formatters and group rules need no curves,
        and ten thousand runs' tables would not fit in memory.
        """
        info = _Info(self.metric_names, self.n_steps, self.step_range)
        light = Run(id=self.id, params=self.params, identity=self.identity, results=self.results,
                    env=self.env, path=self.path, format=self.format, name_map=self.name_map,
                    warnings=self.warnings, in_progress=self.in_progress,
                    num_classes=self.num_classes)
        light.__dict__["_info"] = info
        return light

    @property
    def has_metrics(self) -> bool:
        """False for a run whose curves were dropped (see :meth:`without_metrics`)."""
        return self.__dict__.get("_info") is None

    def _n_rows(self) -> int:
        d = self.__dict__
        if d.get("_frame") is not None:
            return len(d["_frame"])
        if d.get("_cols") is not None:
            return d["_cols"].n_rows
        return 0

    @classmethod
    def from_series(
        cls,
        series: Mapping[str, Iterable[float]],
        steps: Mapping[str, Iterable[int]] | None = None,
        *,
        id: str = "run",
        params: Mapping[str, Any] | None = None,
        num_classes: int | None = None,
    ) -> "Run":
        """A run from plain lists (rule test cases, notebooks).

        Without explicit ``steps``, the longest series gets steps 0..n-1 and
        shorter ones (sparse validation) are spread evenly over the same range.
        """
        lengths = {k: len(list(v)) for k, v in series.items()}
        span = max(lengths.values(), default=1) - 1
        rows_s, rows_m, rows_v = [], [], []
        for name, values in series.items():
            vals = [float(x) for x in values]
            if steps and name in steps:
                st = [int(x) for x in steps[name]]
                if len(st) != len(vals):
                    raise ValueError(f"steps for {name!r} has {len(st)} entries, values {len(vals)}")
            elif len(vals) == span + 1:
                st = list(range(len(vals)))
            else:
                st = np.round(np.linspace(span / max(1, len(vals)), span, len(vals))).astype(int).tolist()
            rows_s += st
            rows_m += [canonical_name(name)] * len(vals)
            rows_v += vals
        return cls(id=id, metrics=tidy_metrics(step=rows_s, metric=rows_m, value=rows_v),
                   params=dict(params or {}), num_classes=num_classes, format="series")

    # -- accessors a rule author needs -------------------------------------------------
    @property
    def metric_names(self) -> list[str]:
        """Metric names present, sorted."""
        d = self.__dict__
        if d.get("_info") is not None:
            return list(d["_info"].metric_names)
        if d.get("_frame") is None:
            return sorted(self._all_arrays())
        return sorted(self.metrics["metric"].unique().tolist()) if len(self.metrics) else []

    @property
    def splits(self) -> list[str]:
        """Splits present (``train``, ``val``, ...) from ``<split>/<name>`` metric names."""
        return sorted({m.split("/", 1)[0] for m in self.metric_names if "/" in m})

    def has(self, metric: str) -> bool:
        info = self.__dict__.get("_info")
        if info is not None:
            return metric in info.metric_names
        return metric in self._all_arrays()

    def arrays(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """``(steps int64, values float64)`` for one metric, sorted by step; empty if absent.

        Cached: rules call this many times, the frame is only grouped once.
        """
        return self._all_arrays().get(metric, (_EMPTY_STEPS, _EMPTY_VALUES))

    def series(self, metric: str) -> "pd.Series":
        """One metric as a float64 Series indexed by step."""
        import pandas as pd

        steps, values = self.arrays(metric)
        return pd.Series(values, index=pd.Index(steps, name="step"), name=metric)

    def steps_are_epochs(self, metric: str) -> bool:
        """True when a metric is logged once per epoch and its steps are the epoch numbers
        (Keras's ``CSVLogger`` and ``History``): each point then stands for a whole epoch of
        optimizer steps, though consecutive points are one "step" apart."""
        steps, _ = self.arrays(metric)
        if not len(steps):
            return False
        d = self.__dict__
        cols = d.get("_cols") if d.get("_frame") is None else None
        if cols is not None:
            ep = cols.epoch.get(metric) if isinstance(cols.epoch, dict) else None
        else:
            df = self.metrics
            if "epoch" not in df.columns:
                return False
            sub = df[df["metric"] == metric]
            ep = sub["epoch"].to_numpy(dtype=np.float64)[np.argsort(sub["step"].to_numpy(), kind="stable")]
        return ep is not None and len(ep) == len(steps) and bool(np.array_equal(ep, steps))

    @property
    def epoch_axis(self) -> bool:
        """Whether a step is an epoch: a format that logs one row per epoch (Keras, YOLO), unless
        its reader found another unit on the axis (``identity["step_unit"]``: ``batch`` for a
        history that keeps every batch's loss, ``step`` for one with its own step counter)."""
        return (self.format in EPOCH_AXIS_FORMATS
                and self.identity.get("step_unit", "epoch") == "epoch")

    def param(self, name: str, default: Any = None) -> Any:
        """A param or identity field, whichever holds it."""
        if name in self.params:
            return self.params[name]
        return self.identity.get(name, default)

    @property
    def n_steps(self) -> int:
        """Number of distinct steps with any metric."""
        d = self.__dict__
        if d.get("_info") is not None:
            return d["_info"].n_steps
        if d.get("_frame") is None:
            cols = d.get("_cols")
            return cols.n_steps() if cols is not None else 0
        return int(self.metrics["step"].nunique()) if len(self.metrics) else 0

    @property
    def step_range(self) -> tuple[int, int] | None:
        """First and last step over all metrics, or None for an empty run."""
        info = self.__dict__.get("_info")
        if info is not None:
            return info.step_range
        arrs = self._all_arrays()
        if not arrs:
            return None
        cached = self.__dict__.get("_range")
        if cached is not None and cached[0] is arrs:  # features ask for it many times
            return cached[1]
        rng = (min(int(s[0]) for s, _ in arrs.values() if len(s)),
               max(int(s[-1]) for s, _ in arrs.values() if len(s)))
        self.__dict__["_range"] = (arrs, rng)
        return rng

    @property
    def seed(self) -> Any:
        return self.param("seed")

    def _all_arrays(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        if self.__dict__.get("_info") is not None:
            self._get_metrics()  # raises MetricsDropped: the curves are not here
        if not self._arrays and self._n_rows():
            import pandas as pd

            df = self.metrics
            codes, names = pd.factorize(df["metric"], sort=True)
            steps = df["step"].to_numpy(dtype=np.int64)
            order = np.lexsort((steps, codes))  # stable: equal steps keep file order
            codes, steps = codes[order], steps[order]
            values = df["value"].to_numpy(dtype=np.float64)[order]
            bounds = np.flatnonzero(codes[1:] != codes[:-1]) + 1
            starts = np.concatenate(([0], bounds))
            ends = np.concatenate((bounds, [len(codes)]))
            for s, e in zip(starts, ends):
                self._arrays[str(names[codes[s]])] = (steps[s:e], values[s:e])
        return self._arrays

    def invalidate(self) -> None:
        """Drop cached arrays after ``metrics`` was replaced (or edited in place)."""
        if self.__dict__.get("_frame") is not None:
            self.__dict__["_arrays"] = {}

    def __repr__(self) -> str:
        return (
            f"Run(id={self.id!r}, format={self.format!r}, metrics={self.metric_names}, "
            f"steps={self.n_steps}, params={self.params!r})"
        )


# A property over a dataclass field: the generated __init__ assigns through the setter.
Run.metrics = property(Run._get_metrics, Run._set_metrics,  # type: ignore[assignment]
                       doc="The tidy metrics table (built on first access from the arrays).")


def is_number(x: Any) -> bool:
    """True for ints/floats (not bools), NaN and inf included."""
    t = type(x)
    if t is float or t is int:
        return True
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def finite(x: Any) -> bool:
    if type(x) is float:
        return x - x == 0.0
    return is_number(x) and math.isfinite(float(x))


# ---------------------------------------------------------------------------------------
# the metric vocabulary: direction, train/val counterparts
# ---------------------------------------------------------------------------------------
_MAX_METRICS = re.compile(r"acc|f1|auc|precision|recall|score|bleu|rouge|iou|dice|map|r2|top\d",
                          re.I)
#: Error-like names win over the list above: ``mape`` holds "map", ``acc_loss`` holds "acc".
_MIN_METRICS = re.compile(r"loss|err|mse|mae|mape|rmse|perplexity|ppl", re.I)


def infer_mode(metric: str) -> str:
    """``max`` for accuracy-like metrics (acc, f1, auc, bleu, ...), else ``min``."""
    name = metric.rsplit("/", 1)[-1]
    return "max" if _MAX_METRICS.search(name) and not _MIN_METRICS.search(name) else "min"


def counterpart(metric: str, runs: Sequence[Run]) -> str | None:
    """The validation metric that matches a training one (train/acc -> val/acc), if logged."""
    if not metric.startswith("train/"):
        return metric
    for cand in ("val/" + metric.split("/", 1)[1], "val/loss"):
        if any(r.has(cand) for r in runs):
            return cand
    return None


def is_train_metric(metric: str) -> bool:
    return canonical_name(metric).startswith("train/")


def selection_metric(by: str, mode: str | None = None) -> tuple[str, str]:
    """The metric group rules judge by, and its direction: the validation counterpart of ``by``."""
    metric = by
    if metric.startswith("train/"):
        metric = "val/" + metric.split("/", 1)[1]
    return metric, mode or infer_mode(metric)
