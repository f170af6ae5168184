"""Curve measurements: small typed functions over a run's series, in a registry.

Features are code, rules are data. A feature function takes a context and
returns a dict of named values (``None`` where it cannot say, e.g. no validation
split). Rules combine the names in their ``when`` conditions and templates.

Conventions that keep the rules scale-free and robust:
- thresholds live in rules; features report ratios and positions (0..1);
- smoothing windows scale with the number of points (:func:`window`);
- NaN/±inf are counted by ``nonfinite`` and excluded from every other measurement.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..run import ACCURACY_METRICS, JUDGED_METRICS, PERCENT, Run, in_percent
from ._registry import (
    DEFAULTS_LOADER,
    FEATURES,
    PARAM_DEFAULTS,
    FeatureSpec,
    GroupContext,
    Value,
    compute,
    feature,
    feature_params,
    group_feature,
)
from ._series import (
    MIN_POINTS_HALVES,
    MIN_POINTS_SHAPE,
    _ts_slope,
    decel_ratio,
    kendall_trend,
    theil_sen_end,
    level_drop,
    mann_kendall_z,
    median,
    median_gap_above_one,
    rel_change,
    safe_ratio,
    smooth,
    smooths,
    theil_sen_drop,
    trend_decel,
    window,
)

__all__ = ["DEFAULTS_LOADER", "FEATURES", "PARAM_DEFAULTS", "FeatureSpec", "GroupContext",
           "RunContext", "compute", "feature", "feature_params", "group_feature", "recorded_classes",
           "window"]

@dataclass
class RunContext:
    """What a run-scope feature sees: the run, plus cached shared computations."""

    run: Run
    #: True while training is still going (live checks): end-only features may say less.
    live: bool = False
    #: rule parameters features read (configured values; defaults from the rule files)
    params: dict[str, Any] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict)

    def param(self, name: str) -> float:
        """A threshold a measurement needs, as configured, else its rule file's default."""
        if name in self.params:
            return self.params[name]
        if name not in PARAM_DEFAULTS and DEFAULTS_LOADER:
            DEFAULTS_LOADER[0]()
        if name not in PARAM_DEFAULTS:
            raise KeyError(f"feature parameter {name!r} is declared by no loaded rule file "
                           "(load the rules first: diagnose.load_rules())")
        return PARAM_DEFAULTS[name]

    def arrays(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """A metric as logged, but an accuracy logged in percent as fractions of 1: every
        rule reads accuracy so (1/K at chance, a gap of 0.1 as ten points)."""
        s, v = self.run.arrays(metric)
        if metric in ACCURACY_METRICS and in_percent(v):
            return s, v / PERCENT
        return s, v

    def finite(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """Steps and values of a metric with NaN/±inf removed."""
        key = "finite:" + metric
        if key not in self._cache:
            s, v = self.arrays(metric)
            ok = np.isfinite(v)
            self._cache[key] = (s[ok], v[ok]) if not ok.all() else (s, v)
        return self._cache[key]

    def smoothed(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """Finite values smoothed with a centred median-then-mean window scaled to length."""
        key = "smooth:" + metric
        if key not in self._cache:
            s, v = self.finite(metric)
            self._cache[key] = (s, smooth(v))
        return self._cache[key]

# ---------------------------------------------------------------------------------------
# run features
# ---------------------------------------------------------------------------------------
TRAIN, VAL = "train/loss", "val/loss"
LR = "lr"  # the logged learning rate (the metric name readers give it)
#: a log long enough to tell a fall at its start from the noise of its plateau
MIN_POINTS_EARLY = 100

@feature("train_points", "train_first", "train_last", "train_start", "train_end", "train_min",
         "train_range", "train_drop", "train_trend_z", "train_trend_drop", "train_level_drop", "later_level_drop",
         "first_step", "last_step", "steps_run", "decel", "trend_decel", "train_first_step",
         "train_last_step", "train_ends_note", "train_end_note")
def train_curve(ctx: RunContext) -> dict[str, Value]:
    """Where the train loss starts and ends (logged and smoothed), how much it fell, and its trend.

    Trend measures over the whole run, so a short noisy run is not judged by its two end
    points: ``train_trend_z`` (Mann-Kendall: about N(0, 1) without trend, strongly negative
    for a falling loss), ``train_trend_drop`` (the Theil-Sen line's fall over the run,
    relative to the median loss) and ``train_level_drop`` (median of the first fifth of the
    logged points against the median of the last fifth, relative to the first).
    """
    s, v = ctx.smoothed(TRAIN)
    _, raw = ctx.finite(TRAIN)
    first, last = ctx.run.step_range or (None, None)
    if len(v) == 0:
        return {"train_points": 0, "first_step": first, "last_step": last,
                "steps_run": None if last is None else last - first}
    return {
        "train_points": len(v),
        "train_first": raw[0],
        "train_last": raw[-1],
        "train_first_step": int(s[0]),
        "train_last_step": int(s[-1]),
        "train_start": v[0],
        "train_end": v[-1],
        "train_min": float(v.min()),
        # 0 for a loss that logged one number all run (every label masked, a frozen model)
        "train_range": float(raw.max() - raw.min()),
        "train_drop": float(v[0] - v[-1]) / abs(float(v[0])) if v[0] else None,
        "train_trend_z": mann_kendall_z(raw),
        "train_trend_drop": theil_sen_drop(ctx.finite(TRAIN)[0], raw),
        "train_level_drop": level_drop(raw),
        # the same without the first logged point: a first window holding a blow-up (a mean of
        # 5.8e4 in a 12-point log) is the first fifth's median and hides how level the rest is
        "later_level_drop": level_drop(raw[1:]),
        "decel": decel_ratio(s, v),
        "trend_decel": trend_decel(*ctx.finite(TRAIN)),
        "first_step": first,
        "last_step": last,
        "steps_run": last - first,
        # what messages may call smoothed: a curve too short for a window is read as logged
        "train_ends_note": (f"smoothed {float(v[0]):.4g} -> {float(v[-1]):.4g}" if smooths(len(v))
                            else "too few points to smooth"),
        "train_end_note": f" (smoothed {float(v[-1]):.4g})" if smooths(len(v)) else "",
    }


@feature("train_range_after_first", "constant_story", "grad_dead_after_first")
def constant_train(ctx: RunContext) -> dict[str, Value]:
    """Whether the logged train loss is one number throughout, or after its first point: a
    trainer that logs the mean over a window (Hugging Face ``logging_steps``) writes a first
    value that still holds the steps before the loss froze (a public fine-tune: 0.2527 at its
    first log, then exactly 0.0 at the other 749). ``constant_story`` says which, in logged
    values and steps.

    A loss of 0.0 after a first window is also what a model that fits its data perfectly logs
    under a trainer that rounds to four decimals; ``grad_dead_after_first`` (1 when a logged
    gradient norm is NaN/inf or exactly 0 at every logged step after the first train loss, 0
    when it is not, absent when none is logged) tells a dead update from a finished one."""
    s, raw = ctx.finite(TRAIN)
    if len(raw) <= 1:
        return {}
    rest = float(raw[1:].max() - raw[1:].min())
    out: dict[str, Value] = {"train_range_after_first": rest}
    if rest:
        return out  # not constant: no story to tell
    if "grad_norm" in ctx.run.metric_names:
        gs, gv = ctx.arrays("grad_norm")
        later = gv[gs >= s[1]]
        if len(later):
            dead = ~np.isfinite(later) | (later == 0)
            out["grad_dead_after_first"] = int(bool(dead.all()))
    if raw[0] == raw[1]:
        out["constant_story"] = (f"train loss was {float(raw[-1]):.4g} at every one of its "
                                 f"{len(raw)} logged points (steps {int(s[0])}-{int(s[-1])})")
    else:
        out["constant_story"] = (f"train loss was {float(raw[-1]):.4g} at every one of its "
                                 f"{len(raw) - 1} logged points after the first (steps "
                                 f"{int(s[1])}-{int(s[-1])}; the first, at step {int(s[0])}, "
                                 f"was {float(raw[0]):.4g})")
    return out


@feature("val_trend_z", "val_median_improvement")
def val_noise(ctx: RunContext) -> dict[str, Value]:
    """Whether a validation loss moved, read from all its evaluations: ``val_trend_z``
    (Mann-Kendall over the whole run) and ``val_median_improvement`` (the first evaluation
    minus the median of the later ones, over the first). Over hundreds of noisy evaluations
    the lowest is where one lucky evaluation fell (a public log that tested one batch at a
    time: 0.51 at the first test, 0.37 at its luckiest, 0.52 at the last), so the first-to-
    lowest ``val_improvement`` reads the noise as progress."""
    _, raw = ctx.finite(VAL)
    if len(raw) <= 1:  # no later evaluation to compare the first with
        return {"val_trend_z": None, "val_median_improvement": None}
    first = float(raw[0])
    return {"val_trend_z": mann_kendall_z(raw),
            "val_median_improvement": (first - median(raw[1:])) / abs(first) if first else None}


# ---------------------------------------------------------------------------------------
# the number of classes, from the config and from the curves
# ---------------------------------------------------------------------------------------
#: the params :func:`classes` reads: every feature that judges against ln K declares them
K_PARAMS = ("chance_acc_tol", "chance_loss_tol", "chance_acc_trend_z", "chance_loss_only_tol",
            "loss_only_spacing", "max_loss_only_k", "perfect_acc", "start_points", "loss_only_acc_tol",
            "ce_bound_share")


def _median_tail(ctx: RunContext, metric: str) -> float | None:
    """Median of the second half of a metric's logged values."""
    _, v = ctx.finite(metric)
    return median(v[len(v) // 2:]) if len(v) else None


#: a metric only a regression (or reconstruction) model logs: its loss is no cross-entropy
#: over classes, so no ln K is its chance level
_REGRESSION = re.compile(r"(?:^|[/_\-])(?:mse|mae|rmse|msle|rmsle|mape|smape|r2|huber|psnr|ssim)"
                         r"(?:$|[/_\-])", re.IGNORECASE)


def loss_parts(ctx: RunContext) -> list[tuple[str, str]]:
    """The logged parts of the validation loss that have a train counterpart:
    (``val/<x>loss<y>``, ``train/<x>loss<y>``) for every such name but ``val/loss`` itself."""
    names = set(ctx.run.metric_names)
    out = []
    for name in sorted(names):
        part = name.split("/", 1)[-1]
        if name.startswith("val/") and name != VAL and "loss" in part and f"train/{part}" in names:
            out.append((name, f"train/{part}"))
    return out


def chance_k(acc: float, loss: float | None, acc_tol: float,
             loss_tol: float) -> tuple[list[int], int | None]:
    """The class counts K' whose chance accuracy 1/K' is within ``acc_tol`` of ``acc`` (a
    median accuracy), and of those the one whose ln K' is nearest ``loss``, if within
    ``loss_tol`` of it (relative): accuracy and loss both those of uniform predictions."""
    k0 = round(1 / acc)
    near = [kk for kk in range(max(2, k0 - 1), k0 + 2) if abs(acc * kk - 1) <= acc_tol]
    fitting = [kk for kk in near if loss is not None and abs(loss / math.log(kk) - 1) <= loss_tol]
    return near, (min(fitting, key=lambda kk: abs(loss / math.log(kk) - 1)) if fitting else None)


#: a per-class validation metric: val_class_2_acc, val/acc_class_2, val_recall_class2
_PER_CLASS = re.compile(r"^(?:val|valid|validation|eval)[_/].*?class_?(\d+)(?!\d)")


def _nearest_k(loss: float | None) -> int | None:
    """The class count whose ln K is nearest a positive loss (at least 2); None for a loss in
    the thousands (a regression loss: no ln K anywhere near) or none at all."""
    if loss is None or not loss > 0:
        return None
    try:
        return max(2, round(math.exp(loss)))
    except OverflowError:
        return None


def _falls_firmly(part: np.ndarray, first: float, last: float, z_bar: float, tol: float) -> bool:
    """A loss still falling, so not settled at any ln K it passes: a Mann-Kendall trend below
    -``z_bar`` over ``part`` and a fall from ``first`` to ``last`` of more than ``tol`` of it."""
    z = mann_kendall_z(part)
    return z is not None and z < -z_bar and first - last > tol * abs(first)


def _told_apart(k: int, tol: float) -> bool:
    """ln K and ln(K + 1) differ by more than ``tol`` of ln K: a loss within ``tol`` of ln K
    names K alone (at 1% up to K of about 28, at 5% up to about 9)."""
    return math.log1p(1 / k) > tol * math.log(k)


def _k_at_loss(loss: float | None, loss_tol: float) -> int | None:
    """The K whose ln K is within ``loss_tol`` (relative) of ``loss``, where neighbouring
    class counts are told apart at that tolerance (ln(K+1) - ln K above it: K up to about 9
    at 5%); None elsewhere: from there on every loss sits near some ln K."""
    k0 = _nearest_k(loss)
    if k0 is None:
        return None
    fit = [kk for kk in range(max(2, k0 - 1), k0 + 2)
           if abs(loss / math.log(kk) - 1) <= loss_tol and _told_apart(kk, loss_tol)]
    return min(fit, key=lambda kk: abs(loss / math.log(kk) - 1)) if fit else None


def prior_entropy_range(a: float, k: int) -> tuple[float, float] | None:
    """The entropies (nats) a class prior over ``k`` classes can have when its largest share
    is ``a``: least with as many classes as fit at ``a`` and the rest on one more, most with
    the rest spread evenly over the other ``k - 1``. A model that predicts the prior for every
    input scores ``a`` as accuracy and that entropy as loss. None where no such prior exists
    (``a`` under 1/k, or 1 and over)."""
    if not 0 < a < 1 or a * k < 1 - 1e-9 or k < 2:
        return None
    m = int(1 / a + 1e-9)  # classes at the largest share
    r = max(0.0, 1 - m * a)
    low = -m * a * math.log(a) - (r * math.log(r) if r > 0 else 0.0)
    high = -a * math.log(a) - (1 - a) * math.log((1 - a) / (k - 1))
    return low, max(low, high)


def _k_from_names(names: Any) -> int | None:
    """K from per-class validation metrics (classes 0..K-1 each logging an accuracy or
    recall): the number of labels the run itself names, when no config gives it."""
    seen = {int(m.group(1)) for n in names if (m := _PER_CLASS.match(str(n).lower()))}
    return len(seen) if len(seen) > 1 and seen == set(range(len(seen))) else None


def _loss_offset(ctx: RunContext, top: float) -> bool:
    """The train loss holds a term beyond the cross-entropy (an L2 penalty Keras adds to the
    loss): at a logged step where every training example was classified right (accuracy at
    least ``perfect_acc``) each one's cross-entropy is below ln K, yet the loss is above it."""
    sa, acc = ctx.finite("train/acc")
    sl, loss = ctx.finite(TRAIN)
    _, ia, il = np.intersect1d(sa, sl, return_indices=True)
    hit = acc[ia] >= ctx.param("perfect_acc")
    return bool(hit.any() and np.median(loss[il][hit]) > top)


#: a CTC model or loss named in a config (NeMo's ``EncDecCTCModel``, ``ctc_loss``, ``loss: ctc``)
#: (not inside a run of DNA letters: a primer ``ACTCG`` in a genomics config is no CTC)
_CTC = re.compile(r"(?<![ACGTU])CTC(?![ACGTU])|(?<![A-Za-z0-9+/])ctc(?![A-Za-z0-9+/])")


def _sequence_loss(run: Run) -> bool:
    """Whether the run's config names a CTC model or loss: its "number of classes" is the size
    of a vocabulary a sequence loss is summed over (a speech model's 34 letters), and ln K is
    no chance level for it (such a loss starts in the hundreds and may pass ln 34 on its way
    down). Keys and short values only: a long value is data (an encoded array)."""
    for key, value in run.params.items():
        short = isinstance(value, str) and len(value) < 200
        if _CTC.search(str(key)) or (short and _CTC.search(value)):
            return True
    return False


def _train_witness(ctx: RunContext, near: list[int], tol: float, loss_tol: float) -> int | None:
    """K' named by the train curves when the validation loss cannot name it: the median train
    accuracy at 1/K' and the train loss settled at ln K', for a K' the validation accuracy
    sits at too. A validation loss summed over batches rather than averaged (a running total
    never divided by the number of batches) is N x ln K at chance, far from any ln K'."""
    _, ta = ctx.finite("train/acc")
    tail = _median_tail(ctx, TRAIN)
    if len(ta) < 2 or tail is None or not float(np.median(ta)) > 0:
        return None
    _, k_t = chance_k(float(np.median(ta)), tail, tol, loss_tol)
    return k_t if k_t in near else None


def classes(ctx: RunContext) -> dict[str, Any]:
    """K from the config and K read off the curves (validation accuracy ~ 1/K all run).

    The curves name K' when the median validation accuracy is about 1/K' and either the
    loss sits at ln K' or the accuracy has no trend (a model still learning passes through
    1/K' on its way up: that is no evidence). ``k``: the number of classes the loss is
    judged against: the config's, unless the curves contradict it (accuracy at 1/K' with
    the loss at ln K'), then the curves'.
    """
    key = "classes"
    if key in ctx._cache:
        return ctx._cache[key]
    k_cfg = recorded_classes(ctx.run)
    if k_cfg is not None and (k_cfg <= 1 or _sequence_loss(ctx.run)):
        k_cfg = None
    k_cfg = k_cfg or _k_from_names(ctx.run.metric_names)
    k_acc, note, majority = None, "", False
    _, acc = ctx.finite("val/acc")
    tol, loss_tol = ctx.param("chance_acc_tol"), ctx.param("chance_loss_tol")
    loss = _median_tail(ctx, VAL)
    if loss is None:
        loss = _median_tail(ctx, TRAIN)

    def fits(kk: int) -> bool:  # the loss is that of uniform predictions over kk classes
        return loss is not None and abs(loss / math.log(kk) - 1) <= loss_tol

    if len(acc) > 1:
        a = float(np.median(acc))
        if a > 0:
            near, k_fit = chance_k(a, loss, tol, loss_tol)
            if near and not k_fit:
                k_fit = _train_witness(ctx, near, tol, loss_tol)
            z = mann_kendall_z(acc)
            if k_fit:
                k_acc = k_fit
            elif near and (z is None or abs(z) < ctx.param("chance_acc_trend_z")):
                # without the loss as a witness the accuracy must not end above 1/K': a short
                # log (few evaluations, so no trend can show) climbing from 0.41 to 0.64 has a
                # median of 1/2 on its way up (a dead model that ends on a rarer class, below
                # 1/K', is still at chance)
                # nor may the loss sit below ln K' (beyond the chance tolerance): a model at 1/K'
                # scores no better than uniform over K', so its loss cannot be lower; one that
                # is lower says K' is wrong (a 100-class model at ln 100 = 4.61 whose accuracy
                # 0.00625 reads as 1/160: ln 160 = 5.08) or that the model is learning
                last = [kk for kk in near if float(acc[-1]) * kk - 1 <= tol
                        and (loss is None or loss / math.log(kk) - 1 >= -loss_tol)]
                k_acc = min(last, key=lambda kk: abs(a * kk - 1)) if last else None
                # a frozen model over K'' classes answers one class: its accuracy is that
                # class's share (0.446 of three) and may sit near 1/K' of a smaller K', while
                # its loss sits at ln K'' (1.085 ~ ln 3). The loss is the sharper witness when
                # it fits a larger K'' whose chance accuracy the accuracy does not fall below
                # (K = 2 read it as a loss 1.57x chance: "diverged" on a model that never moved).
                # Only for a frozen model: one accuracy value at half the evaluations or more
                # (one wobbling near 1/K' may be a model that learned a little), and a
                # validation loss that stayed within the chance tolerance of its median (one
                # that climbs 1.27 -> 1.65 over three evaluations is a model moving away, not
                # one answering a single class). The value need not end the run: an 8-class
                # BERT answering its largest class at 0.327 for 14 evaluations and 0.336 at
                # the last, its loss at 1.63-1.66, sat "1.5x ln 3": a blow-up
                frozen = int(np.unique(acc, return_counts=True)[1].max())
                _, vl = ctx.finite(VAL)
                with np.errstate(divide="ignore", invalid="ignore"):  # a loss logged as 0
                    still = not len(vl) or bool(
                        (np.abs(vl / np.median(vl) - 1) <= loss_tol).all())
                k_other = (_k_at_loss(loss, loss_tol)
                           if k_acc and still and frozen >= len(acc) - frozen else None)
                if k_other and k_other > k_acc and a * k_other >= 1 - tol:
                    k_acc, majority = k_other, True
                # nor may the train loss have started at ln K0 of more classes while the accuracy
                # sits well above 1/K0: a fresh four-class model sits at ln 4 (1.37-1.39) for its
                # first points, and one that learned a little scores 0.54, near 1/2 on its way up;
                # read as two classes, its loss "ended at chance" and the healthy run was called
                # diverged. Every one of the first points must fit ln K0 (one first window that
                # blew up to 1.55 is not a start at ln 5)
                _, tv = ctx.finite(TRAIN)
                head = tv[:int(ctx.param("start_points"))]
                k0 = _k_at_loss(float(np.median(head)), loss_tol) if len(head) and k_acc else None
                if (k0 and k0 > k_acc and a * k0 - 1 > tol
                        and bool((np.abs(head / math.log(k0) - 1) <= loss_tol).all())):
                    k_acc = None
                # nor may the train accuracy have started well below 1/K' and climbed in a
                # trend: a model over K' classes is not that far below chance after its first
                # epoch, and one stuck at chance does not climb (a NumPy MLP on CIFAR-10: train
                # accuracy 0.27 -> 0.52 in 100 epochs while validation scatters around 0.44,
                # read as two classes, had "diverged" at a loss of twice ln 2)
                _, ta = ctx.finite("train/acc")
                zt = mann_kendall_z(ta) if k_acc and len(ta) else None
                if (zt is not None and zt > ctx.param("chance_acc_trend_z")
                        and float(ta[0]) * k_acc - 1 < -tol):
                    k_acc = None
    k_loss = None
    val = _median_tail(ctx, VAL)
    # a loss summed over logged parts (a detector's box + cls + dfl, a multi-task total) is no
    # cross-entropy over K classes: where it settles says nothing about K
    if k_cfg is None and not (k_acc and fits(k_acc)) and val and val > 0 and not loss_parts(ctx):
        # no config, and no accuracy that the loss bears out: the loss alone names K only when
        # the validation loss sits within a tight tolerance of ln K (few runs settle there by
        # chance), the train loss too or above it within the chance-level reading's looser
        # tolerance (batch noise, dropout and regularisers lift a dead model's train loss above
        # chance, never below it), and an accuracy, if logged, is no better than 1/K (a model
        # that gives six classes equal odds and never the seventh scores about 1/7, not 1/6)
        kk = _nearest_k(val)
        tail = _median_tail(ctx, TRAIN)
        tight = ctx.param("chance_loss_only_tol")
        over = (tail / math.log(kk) - 1) if kk and tail is not None else math.inf
        _, tv = ctx.finite(TRAIN)
        # a plateau lands within the tolerance of some ln K by chance as often as the band
        # (twice the tolerance) covers the spacing of neighbouring ln K: at 1%, 8% of losses
        # near ln 3 and 80% near ln 15 (a language model's fine-tune settling at 2.72). Only
        # where neighbours lie `loss_only_spacing` tolerances apart (K up to about 12 at 1%) is
        # a plateau at ln K evidence; beyond, the loss must also have sat at ln K from its
        # first logged point (uniform from the start)
        gaps = bool(kk) and _told_apart(kk, ctx.param("loss_only_spacing") * tight)
        from_start = (bool(kk) and kk <= ctx.param("max_loss_only_k") and len(tv) > 0
                      and abs(float(tv[0]) / math.log(kk) - 1) <= loss_tol)
        # a loss that started at ln K of a small K, whose neighbours' ln K are far apart, and
        # sat within the chance-level reading's tolerance of it the whole run is read at that
        # tolerance (a binary classifier: 0.707 first, validation 0.664-0.691, no accuracy)
        near = loss_tol if (gaps and from_start) else tight
        # and the validation loss settled there: one that came down by more than the chance
        # tolerance and still falls over its second half (a Mann-Kendall trend beyond
        # chance_acc_trend_z) is a model learning, whatever number it happens to pass (an LLM
        # fine-tune's eval loss 1.781 -> 1.597 in 30 falling steps, ln 5 = 1.609)
        _, vv = ctx.finite(VAL)
        falling = bool(kk) and len(vv) > 0 and _falls_firmly(  # only with a K to test
            vv[len(vv) // 2:], float(vv[0]), float(vv[-1]),
            ctx.param("chance_acc_trend_z"), loss_tol)
        if (kk and not falling and abs(val / math.log(kk) - 1) <= near
                and (abs(over) <= near or 0 <= over <= loss_tol) and (gaps or from_start)
                and (len(acc) == 0 or float(np.median(acc)) * kk - 1 <= ctx.param("loss_only_acc_tol"))):
            k_loss = kk
    train_only, k_train_acc = False, None
    if k_cfg is None and k_acc is None and val is None and len(acc) == 0 and not loss_parts(ctx):
        # no validation, no accuracy, no config: a train loss names K only when every logged point
        # sits within the tight tolerance of ln K, for a K whose neighbours are told apart (a
        # binary MLP logging 0.6936 at each of 20 epochs, ln 2 = 0.6931); a regression loss is
        # that still at one of so few values only by chance
        _, tv = ctx.finite(TRAIN)
        tight = ctx.param("chance_loss_only_tol")
        kk = _nearest_k(float(np.median(tv))) if len(tv) >= ctx.param("start_points") else None
        if (kk and kk <= ctx.param("max_loss_only_k")
                and _told_apart(kk, ctx.param("loss_only_spacing") * tight)
                and bool((np.abs(tv / math.log(kk) - 1) <= tight).all())):
            k_loss, train_only = kk, True
        # or, with a train accuracy logged, the two together over the second half of the run:
        # the accuracy's median at 1/K and the loss's at ln K of the same K (a Keras LSTM over
        # three signs that learned, blew up and sat at 1.09 with accuracy 0.357 for its last
        # 140 epochs): a loss and an accuracy at chance for one K are what uniform predictions
        # over K classes score. A model still learning passes through both, so the loss must
        # not be falling over that half (a Mann-Kendall trend beyond `chance_acc_trend_z` and a
        # fall beyond the chance tolerance) to below ln K: one settling onto ln K from above after
        # a blow-up (a 7-class gesture LSTM: 2.18 -> 1.98 with accuracy at 1/7, ln 7 = 1.95)
        # learns nothing. The accuracy's own trend is no witness, as a frozen model that
        # switches the one class it answers steps from one share to another
        _, ta = ctx.finite("train/acc")
        n_min = int(ctx.param("start_points"))
        if not k_loss and len(ta) >= n_min and len(tv) >= n_min:
            a_tail, t_half = float(np.median(ta[len(ta) // 2:])), tv[len(tv) // 2:]
            falling = _falls_firmly(t_half, float(t_half[0]), float(t_half[-1]),
                                    ctx.param("chance_acc_trend_z"), loss_tol)
            k_fit = (chance_k(a_tail, float(np.median(t_half)), tol, loss_tol)[1]
                     if a_tail > 0 else None)
            if k_fit and not (falling and float(t_half[-1]) < math.log(k_fit) * (1 - loss_tol)):
                k_train_acc = k_fit
    k = k_cfg or k_loss or k_acc or k_train_acc
    # the config stands where a class prior over its K, with the accuracy as the largest
    # share, has the loss as its entropy with room to spare (a 6-class model answering the
    # majority class: 0.338 and 1.577 nats, which 6 unequal classes give, and ln 5 only by
    # chance); at the least such entropy every other class is empty, and the curves win
    # (accuracy 1/4 and ln 4 under a config of 10: six classes never occur)
    span = (prior_entropy_range(float(np.median(acc)), k_cfg)
            if k_cfg and len(acc) and loss is not None else None)
    cfg_prior = bool(span) and span[0] * (1 + loss_tol) < loss <= span[1] * (1 + loss_tol)
    if k_acc and k_cfg and k_acc != k_cfg and fits(k_acc) and not fits(k_cfg) and not cfg_prior:
        k = k_acc
        note = (f"; the config says {k_cfg} classes, but validation accuracy "
                f"{float(np.median(acc)):.3g} and loss {loss:.4g} are those of uniform "
                f"predictions over {k_acc} classes (ln {k_acc} = {math.log(k_acc):.4g})")
    source = (f" (K = {k} read off the validation accuracy, {float(np.median(acc)):.3g} ~ 1/{k}: "
              "no number of classes was recorded)") if k_acc and not k_cfg else ""
    if majority and k == k_acc and not k_cfg:
        source = (f" (K = {k} read off the loss, {loss:.4g} ~ ln {k}, with the validation accuracy "
                  f"{float(np.median(acc)):.3g} at or above 1/{k}, the share of the one class a "
                  "frozen model answers: no number of classes was recorded)")
    if k_train_acc:
        source = (f" (K = {k} read off the train curves: over the second half of the run the "
                  f"accuracy sits at 1/{k} and the loss at ln {k}; no validation or number of "
                  "classes was recorded)")
    if train_only:
        source = (f" (K = {k} read off the loss: every logged train loss sits at ln {k}; no "
                  "validation, accuracy or number of classes was recorded)")
    elif k_loss:
        source = (f" (K = {k} read off the loss: train and validation both sit at ln {k}; no number "
                  "of classes or accuracy was recorded)") if len(acc) == 0 else (
            f" (K = {k} read off the loss: train and validation both sit at ln {k}, and the "
            f"validation accuracy {float(np.median(acc)):.3g} is near 1/{k} = {1 / k:.3g}; no number "
            "of classes was recorded)")
    out = {"k": k, "k_config": k_cfg, "k_acc": k_acc, "note": note, "source": source,
           "offset": bool(k) and _loss_offset(ctx, math.log(k) * (1 + loss_tol))}
    ctx._cache[key] = out
    return out


def run_scale(ctx: RunContext, *, smoothed: bool = False) -> float | None:
    """The loss scale of the run: its first finite train loss, or ln K when that is larger.
    With ``smoothed``, the first value of the smoothed train loss: a per-batch log whose first
    batches blew up (30 for ten batches of 10,000, then 2.3) starts at its level, not at them.

    A classifier starts near ln K (uniform predictions); a log whose first point comes after
    the model already learned would otherwise make every later wiggle look huge. A loss no
    cross-entropy over the K classes can reach beside the logged accuracy is not one (a focal
    loss, a mean over many more elements, a scaled loss): ln K says nothing of its scale, and
    its first value is used. Each example a classifier gets wrong costs it at least ln 2 (its
    right class has at most half the probability), so a cross-entropy is at least (1 - a) ln 2
    at accuracy a; a validation loss whose median is under `ce_bound_share` of that bound at
    the median validation accuracy is some other loss.
    """
    _, v = ctx.smoothed(TRAIN) if smoothed else ctx.finite(TRAIN)
    if not len(v):
        return None
    k = classes(ctx)["k"]
    lnk = math.log(k) if k else 0.0
    _, vl = ctx.finite(VAL)
    _, va = ctx.finite("val/acc")
    if lnk and len(vl) and len(va):
        bound = (1 - float(np.median(va))) * math.log(2)
        if float(np.median(vl)) < ctx.param("ce_bound_share") * bound:
            lnk = 0.0
    return max(abs(float(v[0])), lnk) or None


def _over(a: float, b: float) -> float:
    """a / b, infinite when b is 0 (a loss logged as exactly 0 first: a tiny loss rounded by
    the logger): every "Nx its first value" of a sentence, and never a crash."""
    return a / b if b else math.inf


@feature("nonfinite", "nonfinite_train", "first_nonfinite_step", "nonfinite_metric",
         "peak_ratio_before_nonfinite", "nonfinite_after_growth", "nonfinite_note",
         "nonfinite_sparse", "nonfinite_unseen", "nonfinite_to_end", "nonfinite_to_end_step",
         "nonfinite_val_start", "nonfinite_val_start_last_step", "nonfinite_recovered",
         "nonfinite_back_note",
         params=("growth_ratio", "max_init_ratio", *K_PARAMS))
def nonfinite_values(ctx: RunContext) -> dict[str, Value]:
    """Count NaN/±inf in the metrics the rules judge (loss, accuracy: all points, never
    sampled) and where they start; a NaN in some other logged quantity (a projected error,
    a grad norm under a loss scaler) says nothing about training.

    The loss "grew first" when it climbed above ``growth_ratio`` times where it started, or
    when the growth was hidden inside the first logging window: its first logged value was
    already ``max_init_ratio`` times ln K, or the log is sparse (logged every few steps, or once
    per epoch as Keras logs) and turned non-finite at or right after its first point, or right
    after its highest point so far, having risen from its first (climbing when it broke). So it
    did when the learning rate had been raised more than ``growth_ratio`` times its first
    (positive) logged value by the step the loss turned non-finite (a warmup to too high a
    rate, a schedule bug): between two logged points the loss can go from normal to NaN.
    """
    total, first_step, first_metric = 0, None, None
    # non-finite values that are all a validation curve's first evaluations, finite after
    start_only, start_last = True, None
    # per curve with NaN/inf: its name, how many, of how many points, and whether it ends finite
    hit: list[tuple[str, int, int, bool]] = []
    for name in ctx.run.metric_names:
        if name not in JUDGED_METRICS and ("loss" not in name.lower() or name.startswith("hparam/")):
            continue  # a TensorBoard hparams summary (best_val_loss = inf) is not a curve
        s, v = ctx.arrays(name)
        ok = np.isfinite(v)
        n = len(v) - int(np.count_nonzero(ok))
        if n:
            total += n
            hit.append((name, n, len(v), bool(ok[-1])))
            st = int(s[np.argmin(ok)])
            if first_step is None or st < first_step:
                first_step, first_metric = st, name
            lead = int(np.argmax(ok)) if ok.any() else len(v)  # points before the first finite one
            if name.startswith("val") and lead == n and lead < len(v):
                last = int(s[lead - 1])
                start_last = last if start_last is None else max(start_last, last)
            else:
                start_only = False
    s, v = ctx.arrays(TRAIN)
    ok = np.isfinite(v)
    n_train = len(v) - int(np.count_nonzero(ok))
    val_start = bool(total) and start_only and n_train == 0
    before = v[: int(np.argmin(ok))] if n_train else v  # finite: up to the first that is not
    # the logged points after the last finite one: a run that never came back from NaN/inf
    to_end = len(v) - 1 - int(np.flatnonzero(ok)[-1]) if ok.any() else len(v)
    dead_step = int(s[len(v) - to_end]) if to_end else None
    del ok
    peak_before = safe_ratio(float(before.max()), float(before[0])) if len(before) else None
    k = classes(ctx)["k"]
    init_high = bool(len(before) and k and before[0] > ctx.param("max_init_ratio") * math.log(k))
    # each point a window of many optimizer steps: logged every few steps, or once per epoch;
    # the loss broke at its first point, or while climbing (its last finite point the highest
    # of all, above the first): a numeric fault strikes a falling loss as readily as a rising one
    climbing = len(before) > 1 and before[-1] >= before.max() and before[-1] > before[0]
    hidden = n_train > 0 and (len(before) <= 1 or climbing) and (
        median_gap_above_one(s) or ctx.run.steps_are_epochs(TRAIN))
    grew = (peak_before or 0) > ctx.param("growth_ratio") or init_high or hidden or (
        n_train > 0 and _lr_rose(ctx, int(s[len(before)]), ctx.param("growth_ratio")))
    # what nobody saw between the last finite train loss and the first that is not
    gap = int(s[len(before)] - s[len(before) - 1]) if n_train and len(before) else 0
    per_epoch = bool(gap) and ctx.run.steps_are_epochs(TRAIN)
    unseen = (f"{gap} epochs" if gap > 1 else "a whole epoch") if per_epoch else f"{gap} steps"
    # every curve that had NaN/inf ends finite, with most of its points finite: the run went on
    # (an update with them skipped by a loss scaler, or only a logged mean overflowed)
    back = bool(hit) and all(end and n < m - n for _, n, m, end in hit)
    return {
        "nonfinite": total,
        "nonfinite_train": n_train,
        "first_nonfinite_step": first_step,
        "nonfinite_metric": first_metric,
        "peak_ratio_before_nonfinite": peak_before,
        # 1 when the train loss grew before turning non-finite: divergence, not a numeric bug
        "nonfinite_after_growth": float(n_train > 0 and grew),
        # 1 when the train loss turned NaN/inf between two logged points more than a step apart
        "nonfinite_sparse": float(per_epoch or gap > 1),
        "nonfinite_unseen": unseen if per_epoch or gap > 1 else "",
        # logged train points from the last finite one to the end, all NaN/inf, and the first
        "nonfinite_to_end": to_end,
        "nonfinite_to_end_step": dead_step,
        # a phrase for messages: empty when every value is finite
        "nonfinite_note": (f"; {total} non-finite value(s) (NaN/inf), first in {first_metric} "
                           f"at step {first_step}") if total else "",
        # 1 when every NaN/inf is a validation curve's first evaluations (finite from then on)
        # and the train loss has none: an evaluation of a model that had not yet produced
        # anything finite to score, not a fault of training
        "nonfinite_val_start": float(val_start),
        "nonfinite_val_start_last_step": start_last if val_start else None,
        "nonfinite_recovered": float(back),
        "nonfinite_back_note": ("; each curve with them was finite again after them and at its "
                                "end (" + "; ".join(f"{name}: {n} of {m} points NaN/inf"
                                                    for name, n, m, _ in hit) + ")") if back else "",
    }


@feature("val_nonfinite_evals", "val_nonfinite_first_step", "val_nonfinite_last_step",
         "val_back_step", "val_back_value", "val_nonfinite_metric", "val_nonfinite_when")
def val_nonfinite_burst(ctx: RunContext) -> dict[str, Value]:
    """A validation loss (or a logged part of it, ``val/cls_loss``) that was finite, turned
    NaN/inf at some evaluations and was finite again afterwards: the evaluations from its first
    non-finite value to its last, how many of them were non-finite, and where it came back
    (the first finite evaluation after). Of several such curves, the one with the most
    non-finite evaluations. ``val_nonfinite_evals`` is 0 when no curve did this: one that
    never came back is a dead run, and one non-finite from its first evaluation never
    started."""
    best: dict[str, Value] = {"val_nonfinite_evals": 0}
    most = 0
    for name in (VAL, *(val for val, _ in loss_parts(ctx))):
        if not ctx.run.has(name):
            continue
        s, v = ctx.arrays(name)
        bad = np.flatnonzero(~np.isfinite(v))
        # finite before and after the stretch, and more of it than any curve so far
        if len(bad) <= most or bad[0] == 0 or bad[-1] == len(v) - 1:
            continue
        most, back = len(bad), int(bad[-1]) + 1
        best = {"val_nonfinite_evals": most, "val_nonfinite_first_step": int(s[bad[0]]),
                "val_nonfinite_last_step": int(s[bad[-1]]), "val_back_step": int(s[back]),
                "val_back_value": float(v[back]), "val_nonfinite_metric": name,
                "val_nonfinite_when": (f"{most} evaluation(s) from step {int(s[bad[0]])} to "
                                       f"{int(s[bad[-1]])}" if most > 1 else
                                       f"its evaluation at step {int(s[bad[0]])}")}
    return best


def _lr_rose(ctx: RunContext, step: int, ratio: float) -> bool:
    """Whether the logged learning rate at ``step`` (its last value logged at or before it) is
    more than ``ratio`` times its first positive logged value."""
    ls, lv = ctx.finite(LR)
    pos = np.flatnonzero(lv > 0)
    if len(pos) == 0:
        return False
    j = int(np.searchsorted(ls, step, side="right")) - 1
    return j > pos[0] and bool(lv[j] > ratio * lv[pos[0]])


def _window_note(ctx: RunContext) -> str:
    """For a log whose points each stand for many optimizer steps: where the growth went."""
    if ctx.run.steps_are_epochs(TRAIN):
        return " (each logged point is the mean over an epoch: the loss grew inside one)"
    return ""


@feature("peak_ratio", "peak_step", "final_ratio", "rise_ratio", "rise_end_ratio", "blowup_first_step", "blowup_last_step",
         "blowup_value", "blowup_from", "smooth_peak_ratio", "init_over_chance",
         "start_over_chance",
         "end_over_chance", "end_over_first", "peak_over_chance", "val_min_over_chance",
         "val_end_over_chance", "after_peak_z", "end_over_min", "peak_over_neighbours",
         "peak_after_over_before", "blowup_share", "peak_index", "burst_end_index",
         "burst_over_neighbours", "burst_story", "blowup_note", "blowup_story",
         params=("start_points", "blowup_factor", "min_end_over_min", "sustained_ratio", *K_PARAMS))
def explosion(ctx: RunContext) -> dict[str, Value]:
    """Largest finite train loss over the run's scale, where it happened, where it ended.

    Ratios are taken against :func:`run_scale` (the first loss, or ln K when larger);
    ``end_over_first`` against the first logged value itself.

    For classification the run's scale is ln K (the loss of uniform predictions), so a
    blow-up inside the first logging window (a first logged loss far above ln K) shows,
    whatever the logging interval. ``*_over_chance`` are 0 when K is unknown.
    The blow-up episode spans the raw points above ``blowup_factor`` times the start.
    """
    s, v = ctx.arrays(TRAIN)
    fs, fv = ctx.finite(TRAIN)
    if len(fv) == 0:
        return {"blowup_story": "no logged train loss is finite" + _window_note(ctx), "blowup_note": "",
                "blowup_first_step": int(s[0]) if len(s) else None,
                "blowup_last_step": int(s[-1]) if len(s) else None}
    first = float(fv[0])
    k = classes(ctx)["k"]
    # a loss with a penalty term added (classified perfectly, yet above ln K) is not on the
    # cross-entropy's scale: where it sits says nothing about chance level or a blow-up
    lnk = math.log(k) if k and not classes(ctx)["offset"] else None
    ref = run_scale(ctx)
    i = int(np.argmax(fv))
    # the rise is judged from where the run started (the median of its first few points
    # before the peak), not from one batch: a noisy per-batch loss whose first value
    # happened to be low would otherwise "grow" by its noise alone
    head = fv[:min(int(ctx.param("start_points")), i)]
    # but not from points already blown up (above `sustained_ratio` times the run's scale): a
    # loss that went from 2e4 at its first epoch to 1e12 at its second started at 2e4
    high = ctx.param("sustained_ratio") * ref if ref else None
    if high is not None and len(head) and bool((head > high).any()):
        head = head[:int(np.argmax(head > high))]
    rise_ref = (max(ref or 0.0, median(head)) or ref) if len(head) else ref
    _, sm = ctx.smoothed(TRAIN)
    end, end_said, end_name = float(sm[-1]), "smoothed, it ends at", "the smoothed end"
    n_start = n_end = int(ctx.param("start_points"))
    if not smooths(len(fv)) and len(fv) > n_end:
        # too short to smooth: the last point is one batch, and a noisy flat run "ends" 25%
        # above its start by chance; read the end as the start is read, from a few points
        end, end_said = float(median(fv[-n_end:])), f"the median of its last {n_end} points is"
        end_name = f"the median of its last {n_end} points"
    elif not smooths(len(fv)):
        end_said, end_name = "too few points to smooth: it ends at", "its last value"
    _, vv = ctx.finite(VAL)
    out: dict[str, Value] = {
        "peak_ratio": safe_ratio(float(fv[i]), ref),
        "rise_ratio": safe_ratio(float(fv[i]), rise_ref),
        "peak_step": int(fs[i]),
        "blowup_value": float(fv[i]),
        "blowup_from": first,
        "final_ratio": safe_ratio(end, ref),
        "rise_end_ratio": safe_ratio(end, rise_ref),
        "end_over_first": safe_ratio(end, first),
        # the peak of the smoothed curve: a sustained rise lifts it, a one-batch spike does not
        "smooth_peak_ratio": safe_ratio(float(sm.max()), ref),
        # one logged point far above both its neighbours rose and fell between two logs
        "peak_over_neighbours": (safe_ratio(float(fv[i]), float(fv[i - 1:i + 2:2].max()))
                                 if 0 < i < len(fv) - 1 else 1.0),
        # the logged point after that peak over the one before it: near 1 when the loss was
        # back at its level by the next log (a spike), far above when it stayed up and came
        # down over many logs (a blow-up)
        "peak_after_over_before": (safe_ratio(float(fv[i + 1]), float(fv[i - 1]))
                                   if 0 < i < len(fv) - 1 else None),
        # how long the loss stayed blown up, as a share of the logged points (so the same at
        # every logging interval): a run thrown off for a while, not a burst of a point or two
        "blowup_share": float(np.count_nonzero(fv > high)) / len(fv) if high is not None else None,
        # where the peak sits among the finite points: a spike detector that reads a level off
        # the points before a spike cannot judge one among the first few
        "peak_index": i,
        "init_over_chance": first / lnk if lnk else 0.0,
        # the start read off the first tenth, not one batch: a binary classifier's per-batch
        # loss at chance scatters 0.5-1.1 around ln 2, so its first batch says little
        "start_over_chance": (float(median(fv[:max(n_start, len(fv) // 10)])) / lnk
                              if lnk else 0.0),
        "end_over_chance": end / lnk if lnk else 0.0,
        "peak_over_chance": float(fv[i]) / lnk if lnk else 0.0,
        "val_min_over_chance": float(vv.min()) / lnk if lnk and len(vv) else 0.0,
        "val_end_over_chance": float(vv[-1]) / lnk if lnk and len(vv) else 0.0,
        # the trend of the raw points after the peak: falling again (learning on), or flat
        # (a collapse: dead units sitting at one level)
        "after_peak_z": mann_kendall_z(fv[i + 1:], most=MIN_POINTS_EARLY),
    }
    # where it ends against the lowest level it had settled at (smoothed): a run that learned
    # and then jumped to several times that level for good blew up, even when it started higher
    j = int(np.argmin(sm))
    low = float(sm[j])
    if smooths(len(fv)) and low > 0:
        out["end_over_min"] = end / low
    # the burst around the peak: the consecutive points above `sustained_ratio` times the run's
    # scale (a one-point peak is a burst of one), judged against the points just outside it
    a = b = i
    if high is not None and fv[i] > high:
        below = np.flatnonzero(fv <= high)
        at = int(np.searchsorted(below, i))  # (not k: that is the number of classes here)
        a = int(below[at - 1]) + 1 if at > 0 else 0
        b = int(below[at]) - 1 if at < len(below) else len(fv) - 1
    inside = 0 < a and b < len(fv) - 1  # points on both sides of the burst
    out["burst_end_index"] = b
    out["burst_over_neighbours"] = (safe_ratio(float(fv[i]), max(float(fv[a - 1]), float(fv[b + 1])))
                                    if inside else 1.0)
    if inside and out["burst_over_neighbours"] is not None:
        points = ("" if a == b else
                  f" ({b - a + 1} points in a row above {ctx.param('sustained_ratio'):g}x the run's scale)")
        out["burst_story"] = (
            f"the train loss burst to {float(fv[i]):.4g} at step {int(fs[i])}, logged point {i + 1} "
            f"of {len(fv)}{points}, {out['burst_over_neighbours']:.3g}x the points beside the burst and "
            f"{_over(float(fv[i]), first):.3g}x its first value {first:.4g}; it was "
            f"back to {float(fv[b + 1]):.4g} at step {int(fs[b + 1])}, and {end_said} {end:.4g} "
            f"({_over(end, first):.3g}x its first value)")
    if first > 0:
        above = np.isfinite(v)
        np.logical_not(above, out=above)
        above |= v > ctx.param("blowup_factor") * first
        if above.any():
            out["blowup_first_step"] = int(s[int(np.argmax(above))])
            out["blowup_last_step"] = int(s[len(above) - 1 - int(np.argmax(above[::-1]))])
    if "blowup_first_step" not in out:
        out["blowup_first_step"] = int(fs[0])
        out["blowup_last_step"] = int(fs[i])
    if len(fv) == 1 and len(s) > 1:  # one finite point, the rest NaN/inf
        out["blowup_story"] = (f"logged {first:.4g} at step {int(fs[0])}, NaN/inf at every other "
                               f"point from step {int(s[~np.isfinite(v)][0])}{_window_note(ctx)}")
    else:
        peak = (" (its largest value)" if i == 0 else  # the blow-up came before the first point
                f", {float(fv[i]):.4g} at step {int(fs[i])} ({_over(float(fv[i]), first):.3g}x)")
        out["blowup_story"] = (
            f"logged {first:.4g} at step {int(fs[0])}{peak}, "
            f"last finite value {float(fv[-1]):.4g} at step {int(fs[-1])}; {end_said} "
            f"{end:.4g} ({_over(end, first):.3g}x "
            f"its first value)")
        over_min = out.get("end_over_min")
        if isinstance(over_min, float) and over_min > ctx.param("min_end_over_min") > _over(end, first):
            out["blowup_story"] += (f", {over_min:.3g}x the lowest level it had settled at "
                                    f"({low:.4g}, smoothed, at step {int(fs[j])})")
    if lnk:
        out["blowup_note"] = (f"; ln({k}) = {lnk:.3g} is the loss of uniform predictions (chance "
                              f"level){classes(ctx)['source']}: the first logged train loss is "
                              f"{first / lnk:.3g}x it, {end_name} {end / lnk:.3g}x")
    else:
        out["blowup_note"] = ""
    return out


@feature("still_tail_spread", "still_tail_over_before", "still_tail_story",
         params=("min_still_points",))
def still_tail(ctx: RunContext) -> dict[str, Value]:
    """How far the finite train loss moves over the last fifth of what followed its highest
    point (``still_tail_spread``: max minus min over the median; at least ``min_still_points``
    points: None when the run has fewer after its peak), and where it sits against the lowest
    level reached before the peak (``still_tail_over_before``; None for a peak at the first
    point).

    A model whose weights blew up and whose loss then sits to the fourth digit gives every
    input the same answer: a batch's loss no longer depends on the batch (uniform outputs put
    it at ln K on every batch, whatever K is). A model that still learns, or one that fits its
    inputs, moves more than that from one logged point to the next. But a full-batch run that
    converged sits still too: a dead model sits at its best constant answer, which is no lower
    than what it had learned before the blow-up (or at ln K), never far below it.
    """
    s, v = ctx.finite(TRAIN)
    out: dict[str, Value] = {}
    if not len(v):
        return out
    peak, n_min = int(np.argmax(v)), int(ctx.param("min_still_points"))
    # the last fifth of what came after the peak (a collapse late in a run is read after it)
    after = len(v) - peak - 1
    start = peak + 1 + min(after * 4 // 5, max(after - n_min, 0))
    tail, ts = v[start:], s[start:]
    mid = float(np.median(tail)) if len(tail) >= n_min else 0.0
    if not mid > 0:
        return out
    low = float(v[:peak].min()) if peak > 0 else 0.0
    if low > 0:  # where it sits against the lowest level it had reached before the peak
        out["still_tail_over_before"] = mid / low
    lo, hi = f"{float(tail.min()):.4g}", f"{float(tail.max()):.4g}"
    out.update(still_tail_spread=float(tail.max() - tail.min()) / mid,
               still_tail_story=(f"train loss {lo if lo == hi else lo + '-' + hi} over its last "
                                 f"{len(tail)} logged points (steps {int(ts[0])}-{int(ts[-1])})"))
    return out


@feature("settled_step", "settled_level_drop", "val_settled_step", "val_settled_points",
         "val_settled_first", "val_settled_improvement", "settled_story", params=("settle_factor",))
def settled(ctx: RunContext) -> dict[str, Value]:
    """What the run did after it first came down near where it ended.

    A blow-up in the first steps, logged as windowed means, can span several windows and the
    first evaluation (a mean of 5.8e5, then 1.2e5, 2.6e4, ... and a validation loss of 3,031
    before both settle at 1.8); read from its first point, such a run "improved" a thousandfold.
    Read from the first logged point within ``settle_factor`` times the smoothed end, it shows
    whether anything was learned after the blow-up: ``settled_level_drop`` is the level drop
    (first fifth against last fifth, by medians) of the train loss from there, and
    ``val_settled_improvement`` how much the validation loss fell below its first evaluation
    within ``settle_factor`` of its own smoothed end.
    """
    fs, fv = ctx.finite(TRAIN)
    vs, vv = ctx.finite(VAL)
    if len(fv) < MIN_POINTS_SHAPE or len(vv) == 0:
        return {}
    factor = ctx.param("settle_factor")
    end, v_end = float(ctx.smoothed(TRAIN)[1][-1]), float(ctx.smoothed(VAL)[1][-1])
    near, v_near = fv <= factor * end, vv <= factor * v_end
    if end <= 0 or v_end <= 0 or not near.any() or not v_near.any():
        return {}  # a loss that ends at or below zero has no level to settle near
    i, j = int(np.argmax(near)), int(np.argmax(v_near))
    rest, after = fv[i:], vv[j:]
    out: dict[str, Value] = {
        "settled_step": int(fs[i]),
        "settled_level_drop": level_drop(rest),
        "val_settled_step": int(vs[j]),
        "val_settled_points": len(after),
        "val_settled_first": float(after[0]),
        "val_settled_improvement": (float(after[0] - after.min()) / abs(float(after[0]))
                                    if after[0] else None),
    }
    drop, gain = out["settled_level_drop"], out["val_settled_improvement"]
    train_said = (f"the train loss logged {len(rest)} points" if drop is None else
                  f"the medians of the train loss's first and last fifths from there differ by "
                  f"{abs(drop):.1%}")
    val_said = (f"the validation loss was evaluated {len(after)} times from step {int(vs[j])}"
                if gain is None else
                f"the validation loss improved {gain:.1%} after its evaluation at step "
                f"{int(vs[j])} ({float(after[0]):.4g}, the first within {factor:g}x of its end) "
                f"over {len(after)} evaluations")
    out["settled_story"] = (f"from step {int(fs[i])} on (its first logged point within "
                            f"{factor:g}x of that end) {train_said}, and {val_said}")
    return out


@feature("oscillation")
def oscillation(ctx: RunContext) -> dict[str, Value]:
    """Total variation of the smoothed train loss over its range: 1 = monotone, large = swinging."""
    _, v = ctx.smoothed(TRAIN)
    if len(v) < MIN_POINTS_SHAPE:
        return {}
    rng = float(v.max() - v.min())
    if rng <= 0:
        return {"oscillation": 1.0}
    d = np.diff(v)
    return {"oscillation": float(np.abs(d, out=d).sum()) / rng}


def _nearest_cut(s: np.ndarray, share: float, n: int) -> int:
    """The index of the logged step nearest to ``share`` of the run's steps (at most the
    last but one): the first one past it would make the last fifth of a 10-epoch log its
    last tenth (epochs 9-10 of 1-10, not 8-10)."""
    cut = s[0] + share * (s[-1] - s[0])
    j = int(np.count_nonzero(s < cut))  # searchsorted with a float would copy s to floats
    if 0 < j < len(s) and cut - s[j - 1] < s[j] - cut:
        j -= 1
    return min(j, n - 2)


@feature("tail_share", "tail_drop_rel", "tail_metric", "tail_start_step", "tail_val_rise", "tail_how",
         "tail_values", "tail_trend_z", "tail_trend_tau", "tail_trend_points", "tail_end_gap", "tail_end_pace",
         params=("min_share", "min_tail_drop"))
def still_improving(ctx: RunContext) -> dict[str, Value]:
    """How much of the total improvement came in the last 20 % of the run.

    Uses the validation loss when it has enough points (it is what selection
    uses), else the train loss. A converged curve has a small share; a curve cut
    off by its budget has a large one. The last 20 % starts at the logged point nearest to
    80 % of the steps run (``tail_start_step``). ``tail_drop_rel`` is the fall over the last
    20 % relative to where that stretch started; the curve's end is its last smoothed value,
    or where the Theil-Sen line through the stretch's raw points stands at the last step when
    that is lower (:func:`theil_sen_end`: the smoother lags a fall at the end).
    ``tail_val_rise``: how far the last validation value is above the lowest (relative; 0
    without validation).
    ``tail_trend_z``: the Mann-Kendall z of the same metric's logged values over the last
    third of its points, so that a share read off a noisy curve must also be a trend;
    ``tail_trend_tau`` their Kendall tau (-1: lower at every point), which a short log can
    reach where no z can, and ``tail_trend_points`` how many points that third holds.
    ``tail_end_gap``: how far the curve ends above its lowest, over the whole improvement
    (0 when it ends at its lowest; a curve climbing back from a spike ends above it).
    ``tail_end_pace``: the fall per step over the last 10% of the steps (from the curve's value
    there, read off the line between the points around it) over the fall per step over the last
    20% (1: still falling as fast, near 0: flattened; a drop after a learning-rate decay at the
    start of the last fifth, then a plateau, is no run cut short).
    """
    name = VAL if len(ctx.finite(VAL)[1]) >= MIN_POINTS_SHAPE else TRAIN
    s, v = ctx.smoothed(name)
    if len(v) < MIN_POINTS_SHAPE:
        return {}
    j = _nearest_cut(s, 0.8, len(v))
    _, rv = ctx.finite(VAL)
    rs, raw = ctx.finite(name)
    smoothed = smooths(len(v))
    end, how = float(v[-1]), "smoothed value" if smoothed else "last logged value"
    fit = theil_sen_end(s[j:], raw[j:]) if smoothed else None
    if fit is not None and fit < end:
        end, how = fit, "Theil-Sen line through the last 20%, at the last step,"
    total = float(v[0] - min(float(v.min()), end))
    tail = float(v[j] - end)
    # the curve where the last tenth of the steps begins, read off the line between the logged
    # points around it (a log of a few evaluations has none in between)
    s90 = float(s[0] + 0.9 * (s[-1] - s[0]))
    v90 = float(np.interp(s90, s, v))
    pace = ((v90 - end) / (float(s[-1]) - s90)) / (tail / float(s[-1] - s[j])) if (
        tail > 0 and s[-1] > s90) else None
    last_third = raw[len(raw) * 2 // 3:]
    k = min(int(np.searchsorted(rs, s[j])), len(raw) - 1)  # the logged point where the stretch starts
    trend_z, trend_tau = kendall_trend(last_third)
    return {
        "tail_share": tail / total if total > 0 else None,
        "tail_trend_z": trend_z,
        "tail_trend_tau": trend_tau,
        "tail_trend_points": len(last_third),
        "tail_end_gap": float(v[-1] - v.min()) / total if total > 0 else None,
        "tail_end_pace": pace,
        "tail_drop_rel": tail / abs(float(v[j])) if v[j] else None,
        "tail_metric": name,
        "tail_start_step": int(s[j]),
        "tail_val_rise": (rel_change(float(rv[-1]), float(rv.min())) or 0.0) if len(rv) else 0.0,
        "tail_how": how,
        # the stretch's ends as logged, so that the numbers can be found in the log
        "tail_values": (f"logged {float(raw[k]):.4g} at step {int(rs[k])} and {float(raw[-1]):.4g} "
                        f"at step {int(rs[-1])}"),
    }


@feature("num_classes", "lnk", "lnk_ratio_end", "lnk_ratio_val", "second_half_change",
         "second_half_trend_z", "chance_dev", "chance_dev_val", "chance_note", "k_note",
         "val_acc_chance_dev", "train_acc_chance_dev", params=K_PARAMS)
def uniform_predictions(ctx: RunContext) -> dict[str, Value]:
    """Train/validation loss against ln(K), the cross-entropy of uniform predictions over K classes.

    K is the config's unless the curves contradict it (see :func:`classes`).
    ``chance_dev``: |smoothed final train loss / ln K - 1|; ``chance_dev_val`` the same for
    validation (0 without validation). ``second_half_change``: how far the Theil-Sen line
    through the raw train loss's second half moves over it, relative to its median there
    (where two smoothed points would land decides nothing on a sparse, noisy log);
    ``second_half_trend_z`` the Mann-Kendall z of the same points (how sure that move is).
    A log of evaluations only gets the validation measures (``chance_dev`` stays None), and
    ``val_acc_chance_dev`` is |median validation accuracy x K - 1|: the accuracy's witness;
    ``train_acc_chance_dev`` the same for the train accuracy. With both at 1/K the accuracies
    witness chance level even when the validation loss is on another scale (summed over
    batches instead of averaged), where ln K cannot be read off it.
    """
    cl = classes(ctx)
    k = cl["k"]
    _, tv = ctx.smoothed(TRAIN)
    # where K came from, when the curves (not a config) named it: the user cannot check a
    # chance level whose K they were not told
    out: dict[str, Value] = {"chance_note": cl["note"], "k_note": cl["note"] + cl["source"]}
    if len(tv) >= MIN_POINTS_HALVES:
        rs, rv = ctx.finite(TRAIN)
        h = len(rv) // 2
        slope, mid = _ts_slope(rs[h:], rv[h:]), median(rv[h:])
        out["second_half_change"] = (abs(slope * float(rs[-1] - rs[h])) / abs(mid)
                                     if slope is not None and mid else None)
        out["second_half_trend_z"] = mann_kendall_z(rv[h:])
    _, vv = ctx.smoothed(VAL)
    if not k and (loss_parts(ctx) or any(_REGRESSION.search(m) for m in ctx.run.metric_names)):
        out["num_classes"] = 0  # no chance level to judge: K would not apply to this loss
    if not k or not (len(tv) or len(vv)):
        return out
    lnk = math.log(k)
    _, acc = ctx.finite("val/acc")
    _, tacc = ctx.finite("train/acc")
    out.update(
        num_classes=k,
        lnk=lnk,
        lnk_ratio_val=float(vv[-1]) / lnk if len(vv) else None,
        chance_dev_val=abs(float(vv[-1]) / lnk - 1) if len(vv) else 0.0,
        val_acc_chance_dev=abs(float(np.median(acc)) * k - 1) if len(acc) else None,
        train_acc_chance_dev=abs(float(np.median(tacc)) * k - 1) if len(tacc) else None,
    )
    if not len(tv):  # a log of evaluations only: judged on its validation loss
        return out
    out.update(lnk_ratio_end=float(tv[-1]) / lnk, chance_dev=abs(float(tv[-1]) / lnk - 1))
    out["chance_note"] = (f", at ln({k}) = {lnk:.3g}, the loss of uniform predictions"
                          if out["chance_dev"] < ctx.param("chance_loss_tol") else "") + cl["note"]
    return out


def recorded_classes(run: Run) -> int | None:
    """The number of classes the run records (its setting, or its config's ``num_classes``,
    ``n_classes`` or ``num_labels``); None when it records none."""
    return run.num_classes or int_param(run, "num_classes", "n_classes", "num_labels")


def int_param(run: Run, *names: str) -> int | None:
    for n in names:
        v = run.param(n)
        try:
            if v is not None:
                return int(v)
        except (TypeError, ValueError):
            pass
    return None
