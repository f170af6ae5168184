"""llm.c (``train_gpt2.cu`` and the many GPT-2 reproductions built on it) logs to ``main.log``
in a shape of its own: ``s:{step} trl:{loss} lr:{lr} norm:{grad norm}`` each step, ``s:{step}
tel:{loss}`` at each validation and ``s:{step} eval:{accuracy}`` for HellaSwag. No line names
its loss in words, so such a log was "not read" at all.

The logs here are written in llm.c's own formats (``%.4f`` losses, ``%.6f`` rates) (the older logger wrote ``trl``
alone); the expected curves are the numbers written, never what a reader returned.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import diagnose

STEPS = 600
VAL_EVERY = 50


def _write(path: Path, *, with_lr: bool, val_rises: bool) -> tuple[list, list]:
    """Write a main.log; return the (step, loss) pairs written for the train and val loss."""
    train, val, lines = [], [], []
    for s in range(STEPS + 1):
        if s % VAL_EVERY == 0:
            v = round(3.2 + 7.8 * math.exp(-s / 120) + (0.006 * max(s - 300, 0) if val_rises else 0),
                      4)
            val.append((s, v))
            lines.append(f"s:{s} tel:{v:.4f}")
            lines.append(f"s:{s} eval:{0.25 + s / 20000:.4f}")
        t = round(3.0 + 8.0 * math.exp(-s / 100) + 0.05 * math.sin(s), 4)
        train.append((s, t))
        lines.append(f"s:{s} trl:{t:.4f} lr:{6e-4 * min(1, s / 50):.6f} norm:{1.0:.2f}"
                     if with_lr else f"s:{s} trl:{t:.4f}")
    path.write_text("\n".join(lines) + "\n")
    return train, val


@pytest.mark.parametrize("with_lr", [True, False])
def test_llmc_main_log_reads_train_and_validation_loss(tmp_path: Path, with_lr: bool) -> None:
    log = tmp_path / "log124M" / "main.log"
    log.parent.mkdir()
    train, val = _write(log, with_lr=with_lr, val_rises=False)
    run = diagnose.load(log)
    steps, values = run.arrays("train/loss")
    assert steps.tolist() == [s for s, _ in train]
    np.testing.assert_allclose(values, [v for _, v in train])
    steps, values = run.arrays("val/loss")
    assert steps.tolist() == [s for s, _ in val]
    np.testing.assert_allclose(values, [v for _, v in val])
    # HellaSwag's accuracy is no validation accuracy (a 4-way benchmark near chance early on)
    assert not any(m.startswith("val/acc") for m in run.metric_names)
    if with_lr:
        assert "lr" in run.metric_names


def test_llmc_rising_validation_loss_is_found(tmp_path: Path) -> None:
    log = tmp_path / "main.log"
    _write(log, with_lr=True, val_rises=True)
    report = diagnose.check(log)
    assert any(f.pattern in ("late_overfitting", "generalization_gap") for f in report.findings)

