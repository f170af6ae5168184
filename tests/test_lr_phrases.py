"""Advice reads as English whether or not the log records the learning rate.

Before, a run without an lr printed "Rerun with lr=a third of the current value (a third
of the current value)" and "high lr=?"; the lr now goes in brackets only when known.
"""

from __future__ import annotations

import re
from pathlib import Path

import diagnose

FIX = Path(__file__).resolve().parents[1] / "fixtures"
BROKEN = re.compile(r"lr=(a third|\?|unchanged|it\b|the current|3x the|10x the)|\|")


def _texts(path: Path, rules: set[str]) -> list[tuple[str, str]]:
    rep = diagnose.check(path)
    return [(f.rule, f"{f.cause} {f.next_experiment}") for f in rep.findings if f.rule in rules]


def test_no_lr_recorded_reads_plainly() -> None:
    # Keras CSVLogger logs (real training) record no learning rate
    nan_epoch = _texts(FIX / "slow" / "keras-nan-epoch", {"DG102"})
    # the collapse sits at ln 3 after its blow-up: with K read off the loss it did not recover
    # (DG102); read without K it came back to where it started (DG106). Either way, no lr
    collapse = _texts(FIX / "intervals" / "collapse-keras", {"DG102", "DG106"})
    assert nan_epoch and collapse
    texts = nan_epoch + collapse
    for rule, text in texts:
        assert not BROKEN.search(text), (rule, text)
        assert "a third of the learning rate" in text


def test_recorded_lr_is_quoted_with_its_third() -> None:
    rep = diagnose.check(FIX / "explosion")
    f = next(f for f in rep.findings if f.rule == "DG102")
    lr = diagnose.check(FIX / "explosion").runs[0].param("lr")
    third = float(f.next_experiment.split("(lr=")[1].split(" instead of ")[0])
    assert abs(third - float(lr) / 3) <= 0.1 * float(lr) / 3
    assert f"instead of {float(lr):g})" in f.next_experiment
    spikes = [f for f in diagnose.check(FIX / "spikes-recover").findings if f.rule == "DG202"]
    assert spikes and all(not BROKEN.search(f"{f.cause} {f.next_experiment}") for f in spikes)
