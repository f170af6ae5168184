"""History files in the shapes public scripts write them, beside the files a walk must pass
over: a list of per-epoch records in ``train_history.json``, per-epoch lists in a JSON file
named for the script (``train_gmf_32.json``), and a loop's print line saved as ``history.csv``
(``Epoch, 1/20, train loss, 1.1140, ...``). Each was found unread in a public batch (w54)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import diagnose
from diagnose.readers._textlog_tools import comma_pairs

FORMATS = Path(__file__).resolve().parents[1] / "fixtures" / "formats"


def test_config_and_label_maps_beside_a_history_are_not_runs(tmp_path):
    """JSON files that open with a list and even name a loss are settings, not curves: the
    walk finds the one history and reports nothing else."""
    (tmp_path / "config.json").write_text(json.dumps({"loss_weights": [1.0, 0.5], "lr": 0.01,
                                                      "name": "unet"}))
    (tmp_path / "losses.json").write_text(json.dumps({"losses": ["ce", "dice"]}))
    (tmp_path / "shape.json").write_text(json.dumps({"layers": [64, 128], "dropout": 0.1}))
    (tmp_path / "weights.json").write_text(json.dumps({"class_loss": [0.7]}))  # one point: no curve
    src = FORMATS / "named_lists_json" / "train_mlp_32.json"
    (tmp_path / src.name).write_bytes(src.read_bytes())
    found = diagnose.discover([tmp_path])
    assert [Path(r.path).name for r in found.runs] == ["train_mlp_32.json"]
    assert not found.errors
    assert found.runs[0].id == "train_mlp_32"


def test_records_whose_epoch_repeats_are_read_in_order(tmp_path):
    """Two evaluations logged per epoch: the epoch does not count up, so the records' order is
    the axis (nothing dropped), and the epoch is no metric."""
    recs = [{"epoch": e // 2, "loss": 1.0 / (e + 1), "note": "x"} for e in range(6)]
    p = tmp_path / "history.json"
    p.write_text(json.dumps(recs))
    run = diagnose.load(p)
    steps, values = run.arrays("train/loss")
    assert list(steps) == list(range(6))
    assert list(values) == [r["loss"] for r in recs]
    assert "epoch" not in run.metric_names


@pytest.mark.parametrize("line", [
    "epoch,loss,val_loss,accuracy",          # a header
    "1,0.52,0.61,0.80",                      # a data row
    "Epoch, 1/20, train loss",               # odd count
    "run, a, seed, b",                       # values that are no numbers
])
def test_tables_are_not_read_as_pair_lines(line):
    assert comma_pairs(line) is None


def test_pair_line_keeps_every_value():
    assert comma_pairs("Epoch, 3/20, train loss, 0.8276, test acc, 62.11%, eta, 17.17s") == \
        "Epoch: 3/20 | train loss: 0.8276 | test acc: 62.11% | eta: 17.17s"


def test_a_table_whose_header_starts_with_epoch_stays_a_table(tmp_path):
    p = tmp_path / "history.csv"
    p.write_text("epoch,loss,val_loss\n0,0.9,1.0\n1,0.7,0.8\n2,0.5,0.7\n")
    run = diagnose.load(p)
    assert run.format != "textlog" and run.has("val/loss")
