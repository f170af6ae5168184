"""After the best evaluation: how far a validation loss rose while its train loss kept falling.

One measurement (:func:`rise_after_best`) serves the validation loss (``val_*``) and each
logged part of it (``part_*``): detectors and multi-task models log their loss as a sum of
terms (box, class, distribution), and one term can overfit while the others stay flat, so the
sum hardly moves.
"""

from __future__ import annotations

import numpy as np

from ._registry import Value, feature
from ._run import K_PARAMS, TRAIN, VAL, RunContext, loss_parts, run_scale
from ._series import kendall_trend, mann_kendall_z, rel_change, value_at

__all__ = ["rise_after_best", "rise_phrase"]


def rise_after_best(ctx: RunContext, val: str, train: str, scale: float | None) -> dict[str, Value]:
    """The lowest logged value of ``val`` and its step, and how far the curve rose afterwards.

    ``best``/``best_step`` are logged values (what the user finds in the log and what
    ``sweep`` selects); the rise is judged on the smoothed curve (``rise``, relative to the
    smoothed minimum), by its Mann-Kendall trend after the best (``trend_after_best``), and
    against ``scale`` (``rise_of_scale``, so a doubling of a loss of 1e-6 is not mistaken for
    overfitting). ``evals_after_best``, ``trend_after_best``, ``tau_after_best`` and
    ``climbs_after_best`` read the logged values from where the smoothed curve turned (the
    lowest logged point itself on a log too short to smooth), and ``train_drop_after_best`` is
    how much the smoothed ``train`` curve fell from that step to the last evaluation.
    """
    _, v = ctx.smoothed(val)
    rs, rv = ctx.finite(val)
    if len(v) == 0:
        return {"points": 0}
    i = int(np.argmin(rv))
    # j: where the curve turned, the smoothed minimum. A long, noisy validation loss has its
    # lowest evaluation wherever one lucky evaluation fell (72% into a run whose decile
    # medians turned up at 40%); the order and trend of what came after, and the train
    # loss's fall meanwhile, are read from the turn. Unsmoothed (short) logs: the same point.
    j = int(np.argmin(v))
    first_step, last_step = ctx.run.step_range or (0, 0)
    span = max(1, int(last_step - first_step))
    trend_z, trend_tau = kendall_trend(rv[j:])
    out: dict[str, Value] = {
        "points": len(v),
        "first": float(rv[0]),
        "best": float(rv[i]),
        "best_step": int(rs[i]),
        "best_pos": (int(rs[i]) - int(first_step)) / span,
        "end": float(v[-1]),
        "last": float(rv[-1]),
        "rise": rel_change(float(v[-1]), float(v[j])),
        "last_step": int(rs[-1]),
        "evals_after_best": len(rv) - 1 - j,
        "trend_after_best": trend_z,
        "tau_after_best": trend_tau,
        # every evaluation after the best higher than the one before it: a climb, not noise,
        # however few evaluations there are (three epochs of a fine-tune)
        "climbs_after_best": int(len(rv) - 1 - j > 0 and bool((np.diff(rv[j:]) > 0).all())),
        "shift_after_best": _level_shift(rv, j),
    }
    out["rise_story"] = rise_phrase(float(rv[-1]), float(rv[i]), out["rise"])
    drop = float(v[0] - v[j])
    out["rise_of_drop"] = (float(v[-1] - v[j]) / drop) if drop > 0 else None
    out["improvement"] = float(rv[0] - rv[i]) / abs(float(rv[0])) if rv[0] else None
    scale = scale or abs(float(rv[0]))
    out["rise_of_scale"] = float(v[-1] - v[j]) / scale if scale else None
    ts, tv = ctx.smoothed(train)
    rts, rtv = ctx.finite(train)
    if len(tv):
        t_best, t_end = value_at(ts, tv, np.array([rs[j], rs[-1]]))
        how = "smoothed"
        if j == 0:
            # a turn at the first evaluation (often the untrained model's, at step 0): a smoothed
            # curve has only later points to lean on there, and a fall inside the first logging
            # interval (2.63 -> 0.004 in one interval of a grokking run) vanishes from it; the
            # logged train loss at that step is the level the model had
            logged = float(value_at(rts, rtv, rs[:1])[0])
            if logged > t_best:
                t_best, how = logged, "logged"
        out["train_drop_after_best"] = (t_best - t_end) / abs(t_best) if t_best else None
        # what the train loss did meanwhile, in words: a validation loss can give back its fall
        # while the train loss stalls (DG104's `gave_back`), and "kept falling" would be untrue
        out["train_after_best_note"] = (
            " while train loss kept falling" if t_end < t_best else
            f" while train loss stalled ({how} {t_best:.4g} at that step, {t_end:.4g} at the end)")
    elif train not in ctx.run.metric_names:
        out["train_after_best_note"] = " (no train loss is logged: judged on validation alone)"
    # the raw train loss's own trend from the turn on: a long run whose train loss has little
    # left to give still overfits when it keeps falling in a firm trend while validation climbs
    after = rtv[(rts >= rs[j]) & (rts <= rs[-1])]
    out["train_trend_after_best"] = mann_kendall_z(after)
    return out


def rise_phrase(last: float, best: float, smoothed: float | None) -> str:
    """"up X% from its best level" for a message that quotes the logged best and last values:
    X is their own ratio, so a reader can check it against the log. The rise the rule judged
    is that of the smoothed curve, which one noisy last evaluation can put far from it (a
    public run quoted 0.1954 -> 2.198 as "up 116%"): where the two round apart it follows.
    """
    logged = rel_change(last, best)
    if logged is None:
        return f"up {smoothed:.0%} from its best level on the smoothed curve" if smoothed is not None else ""
    text = f"up {logged:.0%} from its best level"
    if smoothed is not None and f"{smoothed:.0%}" != f"{logged:.0%}":
        text += f"; {smoothed:.0%} on the smoothed curve"
    return text


def _level_shift(rv: np.ndarray, j: int) -> float | None:
    """How far the level of the evaluations after the turn ``j`` sits above the level that led
    to it: the median of those after over the median of as many up to and including the turn
    (fewer when the turn came early), minus 1.

    A validation loss that jumps to a higher band after its best and stays there, erratic,
    has no order after its best (no trend, tau near 0) yet never came back: medians see the
    band, where a loss bouncing around one level has the same median on both sides (the
    lowest of its bounces is no turn). The window before the turn holds the tail of the
    fall, so it errs towards no shift.
    """
    after = rv[j + 1:]
    if len(after) == 0:
        return None
    before = rv[max(0, j + 1 - len(after)):j + 1]
    base = float(np.median(before))
    return float(np.median(after)) / base - 1 if base > 0 else None


_VAL_NAMES = ("points", "first", "best", "best_step", "best_pos", "end", "last", "rise", "rise_story", "rise_of_drop",
              "rise_of_scale", "improvement", "last_step", "evals_after_best", "trend_after_best",
              "tau_after_best", "climbs_after_best", "shift_after_best")


@feature(*(f"val_{n}" for n in _VAL_NAMES), "train_drop_after_best", "train_trend_after_best",
         "train_after_best_note",
         params=K_PARAMS)
def validation_curve(ctx: RunContext) -> dict[str, Value]:
    """The lowest logged validation loss and its step, and how far the curve rose afterwards
    (:func:`rise_after_best` on ``val/loss`` against ``train/loss``, the rise over the run's
    scale: its smoothed first train loss, or ln K when larger; not its first logged batch, which
    may have blown up for a few steps)."""
    m = rise_after_best(ctx, VAL, TRAIN, run_scale(ctx, smoothed=True))
    out: dict[str, Value] = {f"val_{n}": m.get(n) for n in _VAL_NAMES}
    out["train_drop_after_best"] = m.get("train_drop_after_best")
    out["train_trend_after_best"] = m.get("train_trend_after_best")
    out["train_after_best_note"] = m.get("train_after_best_note", "")
    return out


def part_scales(ctx: RunContext) -> list[tuple[str, str, float]]:
    """The logged parts of the validation loss (:func:`loss_parts`) that have finite values on
    both sides, each with its own scale: its first train or validation value, whichever is
    larger in size (parts of one loss differ by orders of magnitude)."""
    out = []
    for val, train in loss_parts(ctx):
        _, tv = ctx.finite(train)
        _, vv = ctx.finite(val)
        if len(tv) and len(vv):
            out.append((val, train, max(abs(float(tv[0])), abs(float(vv[0])))))
    return out


_PART_NAMES = ("best", "best_step", "last", "last_step", "rise", "rise_story", "rise_of_drop", "rise_of_scale",
               "evals_after_best", "trend_after_best", "train_drop_after_best")


@feature("part_metric", "part_note", *(f"part_{n}" for n in _PART_NAMES))
def loss_part_rise(ctx: RunContext) -> dict[str, Value]:
    """Of the logged parts of the validation loss (``val/box_loss``, ``val/cls_loss``, ... with
    a train counterpart), the one whose smoothed curve rose most after its best: its
    :func:`rise_after_best` measures as ``part_*`` (the rise over the part's own scale: its
    first train or validation value, whichever is larger), and ``part_note``, a phrase for
    messages (empty when no part rose)."""
    best: tuple[float, str, str, dict[str, Value]] | None = None
    for val, train, scale in part_scales(ctx):
        m = rise_after_best(ctx, val, train, scale)
        rise = m.get("rise")
        if isinstance(rise, float) and (best is None or rise > best[0]):
            best = (rise, val, train, m)
    out: dict[str, Value] = {"part_note": ""}
    if best is None:
        return out
    rise, val, train, m = best
    out.update({f"part_{n}": m.get(n) for n in _PART_NAMES})
    out["part_metric"] = val
    drop = m.get("train_drop_after_best")
    if rise > 0 and isinstance(drop, float):
        out["part_note"] = (f"; of its parts, {val} was lowest at step {m['best_step']} "
                            f"({float(m['best']):.4g}) and rose to {float(m['last']):.4g} at step "
                            f"{m['last_step']} ({m['rise_story']}) while {train} "
                            f"{'fell' if drop >= 0 else 'rose'} {abs(drop):.0%}")
    return out
