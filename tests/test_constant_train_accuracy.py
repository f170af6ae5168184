"""A log with no validation accuracy whose train accuracy is one number epoch after epoch:
the model answers every input the same way (DG222). A public Keras log of a model ending in
a one-unit softmax (always 1.0) read only as "flat loss, raise the learning rate"."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

import diagnose
from diagnose.cli import main

#: a public Keras CSVLogger log (bench/real-runs/w35c-adhd-softmax1, tuning
#: split, labelled uniform_predictions and flat_loss from its plot and the model code)
LOG = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w35c-adhd-softmax1"


def test_a_frozen_train_accuracy_is_constant_predictions():
    run = diagnose.load(LOG)
    assert "val/acc" not in run.metric_names
    _, acc = run.arrays("train/acc")
    assert len(acc) >= 100 and len(set(acc.tolist())) == 1 and 0 < acc[-1] < 0.95
    found = [f for f in diagnose.check(LOG).findings if f.rule == "DG222"]
    assert found and f"{acc[-1]:.4g}" in found[0].message and f"{len(acc)} logged" in found[0].message


def test_a_pattern_a_finding_reports_is_not_also_listed_as_not_checked():
    res = CliRunner().invoke(main, ["check", str(LOG), "--format", "json"])
    run, = json.loads(res.output)["runs"]
    assert "uniform_predictions" not in run["unchecked"]
    assert run["unchecked"]["generalization_gap"] == ["val/loss"]  # still none to read


def test_a_train_accuracy_that_moves_is_clean(tmp_path: Path):
    # the same log with an accuracy that changes every epoch, as a model that learns gives
    rows = LOG.joinpath("predict_age.log").read_text().splitlines()
    head = rows[0].split(",")
    col = head.index("acc")
    rng = np.random.default_rng(0)
    out = [rows[0]]
    for i, line in enumerate(rows[1:]):
        cells = line.split(",")
        cells[col] = f"{min(0.99, 0.6 + 0.3 * i / len(rows) + rng.normal(0, 0.01)):.4f}"
        out.append(",".join(cells))
    path = tmp_path / "predict_age.log"
    path.write_text("\n".join(out) + "\n")
    assert not [f for f in diagnose.check(path).findings if f.rule == "DG222"]
