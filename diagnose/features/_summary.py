"""The run's own settings as features, and the small per-run summary group rules compare."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..run import EPOCH_AXIS_FORMATS, Run
from ._registry import Value, feature
from ._run import LR, TRAIN, VAL, RunContext, still_improving
from ._series import last_finite


@feature("lr", "lr_x3", "lr_x10", "lr_div3", "lr_div10", "lr_said", "lr_div3_said", "batch_size",
         "seed", "optimizer", "weight_decay", "dropout", "epochs", "steps_x2", "budget", "budget_unit", "wd_up",
         "dropout_up")
def run_context(ctx: RunContext) -> dict[str, Value]:
    """The run's own settings, and nicely rounded neighbours for next-experiment advice."""
    run = ctx.run
    lr = _float(run.param("lr", run.param("learning_rate")))
    if lr is None:
        _, lv = ctx.finite(LR)
        lr = float(lv.max()) if len(lv) else None
    out: dict[str, Value] = {"lr": lr, "lr_said": "", "lr_div3_said": ""}
    if lr is not None and lr > 0:
        out.update(lr_x3=nice(lr * 3), lr_x10=nice(lr * 10), lr_div3=nice(lr / 3),
                   lr_div10=nice(lr / 10))
        # advice reads the same with and without a recorded lr: the value goes in brackets
        out.update(lr_said=f" (lr={lr:g})",
                   lr_div3_said=f" (lr={out['lr_div3']:g} instead of {lr:g})")
    for k in ("batch_size", "seed", "epochs"):
        out[k] = _float(run.param(k))
    for k in ("weight_decay", "dropout"):
        out[k] = _float(run.param(k))
    opt = run.param("optimizer")
    out["optimizer"] = str(opt) if opt is not None else None
    first, last = run.step_range or (None, None)
    if last is not None:
        # epochs counted from 0 (Keras: epoch 0 is the end of the first) ran last + 1 of them,
        # as did Lightning, whose rows carry the optimizer steps done before the one logged
        # (49, 99, ... for 50-step windows); elsewhere the last step is the budget (step 0 is
        # where a recorder logs the start, Hugging Face counts steps done)
        zero_based = run.format == "lightning" or (run.format in EPOCH_AXIS_FORMATS and first == 0)
        out["budget"] = max(last + 1 if zero_based else last, 1)
        out["steps_x2"] = 2 * out["budget"]
    out["budget_unit"] = "epochs" if run.epoch_axis else "steps"
    wd = out["weight_decay"]
    out["wd_up"] = nice(wd * 10) if wd else 1e-4
    dp = out["dropout"]
    out["dropout_up"] = min(0.5, round((dp or 0) + 0.2, 2))
    return out


def _float(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def nice(x: float) -> float:
    """Round to one significant figure (10/3 -> 3, 0.01*3 -> 0.03): values people type."""
    if not x or not math.isfinite(x):
        return x
    e = math.floor(math.log10(abs(x)))
    return float(f"{round(x / 10**e):d}e{e}")


# ---------------------------------------------------------------------------------------
# per-run summary for group rules
# ---------------------------------------------------------------------------------------
def run_summary(run: Run, metric: str = VAL, mode: str = "min",
                ctx: RunContext | None = None) -> dict[str, Any]:
    """The small numbers group rules need about one run (no raw curves).

    ``ctx``: the context the run's features were computed in, so its smoothed
    curves are reused rather than computed again.
    """
    s, v = run.arrays(metric)
    ok = np.isfinite(v)
    ends_nonfinite = bool(len(v) and not ok[-1])
    s, v = s[ok], v[ok]
    out: dict[str, Any] = {"metric": metric, "n_points": int(len(v)),
                           "last_step": (run.step_range or (None, None))[1],
                           "first": float(v[0]) if len(v) else None, "ends_nonfinite": ends_nonfinite}
    if len(v):
        i = int(np.argmin(v) if mode == "min" else np.argmax(v))
        out.update(best=float(v[i]), best_step=int(s[i]), final=float(v[-1]), final_step=int(s[-1]))
    else:
        out.update(best=None, best_step=None, final=None, final_step=None)
    out["final_train"] = last_finite(run.arrays(TRAIN)[1])
    out["train_time"] = _float(run.results.get("train_time", run.env.get("train_time")))
    out["peak_memory"] = _float(run.env.get("peak_memory", run.results.get("peak_memory")))
    c = ctx if ctx is not None and ctx.run is run else RunContext(run)
    si = still_improving(c)
    share = si.get("tail_share")
    out["still_improving"] = None if share is None else bool(
        share > c.param("min_share") and (si.get("tail_drop_rel") or 0) > c.param("min_tail_drop"))
    out["errors"] = []
    return out
