"""Independent label checks: plain arithmetic on the values a run logged, never diagnose's features."""

from __future__ import annotations

import math

import numpy as np

from .core import Trace


# =======================================================================================
# independent label checks (on the values each run logged, not diagnose's features)
# =======================================================================================
def _arr(points: list[tuple[int, float]]) -> tuple[np.ndarray, np.ndarray]:
    if not points:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    s, v = zip(*points)
    return np.asarray(s), np.asarray(v, dtype=np.float64)


def _ends(v: np.ndarray, frac: float = 0.1) -> tuple[float, float]:
    """Mean of the first and last ``frac`` of the finite values."""
    v = v[np.isfinite(v)]
    m = max(1, int(len(v) * frac))
    return float(v[:m].mean()), float(v[-m:].mean())


def label_check(pattern: str, t: Trace) -> tuple[bool, str]:
    """Does the logged curve show what the label says? A plain reading of the numbers."""
    _, tr = _arr(t.train)
    _, va = _arr(t.val)
    fin = tr[np.isfinite(tr)]
    if len(fin) == 0:  # every logged point non-finite: a blow-up and nothing else
        return pattern == "explosion", f"no finite train loss ({len(tr)} pts)"
    a, b = _ends(tr)
    drop = (a - b) / abs(a) if a else (0.0 if b == a else -math.inf)  # a loss logged as exactly 0
    desc = f"train {a:.4g} -> {b:.4g} ({drop:+.0%} drop, {len(tr)} pts)"
    if len(va):
        vf = va[np.isfinite(va)]
        if len(vf):
            i = int(np.argmin(vf))
            desc += f"; val {vf[0]:.4g} -> best {vf[i]:.4g} (eval {i + 1}/{len(vf)}) -> end {vf[-1]:.4g}"
    nonfinite = int((~np.isfinite(tr)).sum()) + int((~np.isfinite(va)).sum())
    if nonfinite:
        desc += f"; {nonfinite} non-finite"
    if pattern == "healthy":
        ok = drop > 0.3 and nonfinite == 0 and fin.max() < 3 * fin[0]
        if t.acc:  # issue 14: a 15-point accuracy gap on the final model is a generalization gap
            _, acc_t, acc_v = t.acc[-1]
            desc += f"; final accuracy train {acc_t:.3g} vs validation {acc_v:.3g}"
            ok = ok and acc_t - acc_v < 0.15
        # a log whose train and validation values pass the gap or late-overfitting check below
        # is not cleanly healthy, whatever the recipe meant: it is left out rather than scored
        # either way (the spike check's one 3x jump is looser than a spike: batch noise)
        has_val = bool(np.isfinite(va).any()) if len(va) else False
        shown = [p for p in ("generalization_gap", "late_overfitting") if has_val and label_check(p, t)[0]]
        if shown:
            desc += f"; shows {', '.join(shown)} by the same arithmetic"
            ok = False
    elif pattern == "flat_loss":
        # a least-squares line over the whole run: its total change is small against the level
        # (short noisy runs: two end points alone are noise)
        x = np.arange(len(fin), dtype=np.float64)
        slope = float(np.polyfit(x, fin, 1)[0]) if len(fin) > 2 else 0.0
        change = slope * max(1, len(fin) - 1) / abs(float(fin.mean()))
        desc += f"; fitted change over the run {change:+.1%} of the mean"
        ok = abs(drop) < 0.05 or (abs(change) < 0.1 and abs(drop) < 0.25)
    elif pattern == "explosion":
        # a classifier starts near ln(K): a first logged loss far above it means the
        # blow-up happened before the first log (loggers that write every N steps)
        early = t.k is not None and fin[0] > 3 * math.log(t.k)
        if early:
            desc += f"; first logged loss {fin[0] / math.log(t.k):.3g}x ln(K)"
        ok = nonfinite > 0 or fin.max() > 3 * fin[0] or early
    elif pattern == "generalization_gap":
        vf = va[np.isfinite(va)]
        i = int(np.argmin(vf))
        ts, tv = _arr(t.train)
        vs, _ = _arr(t.val)
        # train loss near the best eval: mean of the 10 logged points before it
        j = int(np.searchsorted(ts, vs[np.isfinite(va)][i]))
        t_at = float(np.mean(tv[max(0, j - 10): j + 1]))
        desc += f"; at best val, train {t_at:.4g} ({vf[i] / max(t_at, 1e-12):.1f}x)"
        ok = vf[i] > 1.5 * t_at and (vf[i] - t_at) > 0.15 * a
        # or on the final model: the last validation against the last 10 logged train points
        t_end = float(np.mean(tv[np.isfinite(tv)][-10:]))
        desc += f"; at the end, val {vf[-1]:.4g} vs train {t_end:.4g} ({vf[-1] / max(t_end, 1e-12):.1f}x)"
        ok = ok or (vf[-1] > 1.5 * t_end and (vf[-1] - t_end) > 0.15 * a)
    elif pattern == "late_overfitting":
        vf = va[np.isfinite(va)]
        i = int(np.argmin(vf))
        # a U: the best is not among the last evals, and the last quarter stays clearly above it
        tail = float(vf[-max(2, len(vf) // 4):].mean())
        desc += f"; last-quarter mean {tail / vf[i]:.2f}x best"
        ok = i < len(vf) - 2 and vf[-1] > 1.1 * vf[i] and tail > 1.1 * vf[i]
    elif pattern == "uniform_predictions":
        lnk = math.log(t.k or 2)
        desc += f"; ln(K)={lnk:.4g}"
        ok = abs(b / lnk - 1) < 0.05
        if t.k == 2 and t.acc:
            # two classes in unequal shares: predicting the prior scores the majority share as
            # accuracy and the prior's entropy as loss (below ln 2)
            m = float(np.median([x[2] for x in t.acc[len(t.acc) // 2:]]))
            h = -(m * math.log(m) + (1 - m) * math.log(1 - m)) if 0.5 < m < 1 else lnk
            desc += f"; val accuracy {m:.3g}, its binary entropy {h:.4g}"
            ok = ok or abs(b / h - 1) < 0.05
    elif pattern == "loss_spikes":
        # points more than 3x the median of the 20 before them, after which a 5-point
        # running mean comes back under 1.5x that level within 100 points
        n_sp, i = 0, 20
        while i < len(fin) - 5:
            prev = float(np.median(fin[i - 20:i]))
            back = np.convolve(fin[i + 1:i + 101], np.ones(5) / 5, "valid")
            if fin[i] > 3 * prev and len(back) and back.min() < 1.5 * prev:
                n_sp += 1
                i += 20  # one event
            i += 1
        desc += f"; {n_sp} jump(s) > 3x the previous 20's median that came back"
        desc += f"; max {fin.max() / fin[0]:.1f}x the first value"
        # or a loss that bounces for the whole second half without settling: its 90th
        # percentile over 3x its 10th while the median stays above half the first value
        h = fin[len(fin) // 2:]
        p10, p50, p90 = (float(np.percentile(h, q)) for q in (10, 50, 90))
        bounce = p90 > 3 * max(p10, 1e-12) and p50 > 0.5 * fin[0]
        desc += f"; 2nd half p90/p10 {p90 / max(p10, 1e-12):.1f}, median {p50 / fin[0]:.2f}x first"
        ok = n_sp >= 1 or bounce
    elif pattern == "slow_convergence":
        m = len(fin) // 2
        first, second = fin[0:max(1, m // 5)].mean() - fin[m - m // 10: m + m // 10 + 1].mean(), \
            fin[m - m // 10: m + m // 10 + 1].mean() - fin[-max(1, m // 5):].mean()
        desc += f"; 1st-half fall / 2nd-half fall = {first / second if second > 0 else math.inf:.2f}"
        ok = 0.05 <= drop < 0.35 and second > 0 and first / second < 3
    else:
        ok = True
    return bool(ok), desc


