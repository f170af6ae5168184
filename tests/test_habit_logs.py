"""Logs people have: YOLO results.csv, Keras History JSON, loss names, empty and nested logs."""

from __future__ import annotations

import ast
import csv
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import diagnose
from diagnose.cli import main
from diagnose.run import canonical_name

FORMATS = Path(__file__).parent.parent / "fixtures" / "formats"
YOLO = FORMATS / "yolo" / "train"
KERAS = FORMATS / "keras_history"
WANDB = FORMATS / "wandb_names"


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _columns(path: Path) -> dict[str, list[float]]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {k.strip(): [float(r[k]) for r in rows] for k in rows[0]}


def test_yolo_results_csv_written_by_ultralytics():
    runs = diagnose.load_all(YOLO.parent)
    assert len(runs) == 1
    run = runs[0]
    assert run.format == "yolo" and run.id == "yolo/train"
    cols = _columns(YOLO / "results.csv")
    epochs = np.array(cols["epoch"], dtype=np.int64)
    for split in ("train", "val"):
        want = sum(np.array(cols[f"{split}/{c}_loss"]) for c in ("box", "cls", "dfl"))
        steps, values = run.arrays(f"{split}/loss")
        assert np.array_equal(steps, epochs)
        assert np.allclose(values, want, rtol=1e-12)
        assert np.array_equal(run.arrays(f"{split}/box_loss")[1], cols[f"{split}/box_loss"])
    assert np.array_equal(run.arrays("val/mAP50-95")[1], cols["metrics/mAP50-95(B)"])
    assert np.array_equal(run.arrays("val/mAP50")[1], cols["metrics/mAP50(B)"])
    assert np.array_equal(run.arrays("lr")[1], cols["lr/pg0"])
    args = (YOLO / "args.yaml").read_text(encoding="utf-8")
    assert f"lr0: {run.params['lr']}" in args and f"batch: {run.params['batch_size']}" in args
    assert run.results["train_time"] == cols["time"][-1]


def test_yolo_is_checked_and_the_map_is_a_higher_is_better_score():
    from diagnose.run import infer_mode

    assert infer_mode("val/mAP50-95") == "max"
    r = invoke("check", str(YOLO.parent), "--verbose")
    assert r.exit_code in (0, 1)
    assert "yolo/train" in r.output and "(yolo," in r.output
    assert "no loss or accuracy" not in r.output and "results.csv/train" not in r.output


def test_keras_history_json_written_by_keras():
    runs = {r.id: r for r in diagnose.load_all(KERAS)}
    assert set(runs) == {"keras_history", "cnn"}
    for run, name in ((runs["keras_history"], "history.json"), (runs["cnn"], "cnn_history.json")):
        data = json.loads((KERAS / name).read_text(encoding="utf-8"))
        assert run.format == "keras"
        for raw, canon in (("loss", "train/loss"), ("val_loss", "val/loss"),
                           ("accuracy", "train/acc"), ("val_accuracy", "val/acc")):
            steps, values = run.arrays(canon)
            assert np.array_equal(steps, np.arange(len(data[raw])))
            assert np.array_equal(values, data[raw])


def test_a_damaged_history_json_is_an_error_not_silence(tmp_path):
    (tmp_path / "history.json").write_text('{"loss": [0.5, 0.4', encoding="utf-8")
    r = invoke("check", str(tmp_path))
    assert r.exit_code == 2 and "history.json" in r.output and "not valid JSON" in r.output


def test_keras_history_saved_as_python_text_is_read():
    """``f.write(str(history.history))``, by Keras itself (fixtures/make_habit_fixtures.py)."""
    path = FORMATS / "keras_history_txt" / "training_history.txt"
    data = ast.literal_eval(path.read_text(encoding="utf-8"))
    (run,) = diagnose.load_all(path.parent)
    assert run.format == "keras" and run.id == "training"
    for raw, canon in (("loss", "train/loss"), ("val_loss", "val/loss"),
                       ("accuracy", "train/acc"), ("val_accuracy", "val/acc")):
        steps, values = run.arrays(canon)
        assert np.array_equal(steps, np.arange(len(data[raw])))
        assert np.array_equal(values, data[raw])
    r = invoke("check", str(path))
    assert r.exit_code in (0, 1) and "(keras," in invoke("check", str(path), "--verbose").output


def test_python_text_history_with_numpy_scalars_and_nan(tmp_path):
    # NumPy 2 prints np.float64(0.9); Python prints nan and inf bare
    (tmp_path / "hist.txt").write_text(
        "{'loss': [np.float64(0.9), nan, 0.5], \"val_loss\": [1.0, inf, 0.6]}\n", encoding="utf-8")
    (run,) = diagnose.load_all(tmp_path / "hist.txt")
    assert run.format == "keras"
    assert run.arrays("train/loss")[1][0] == 0.9 and math.isnan(run.arrays("train/loss")[1][1])
    assert run.arrays("val/loss")[1][1] == math.inf and run.arrays("val/loss")[1][2] == 0.6


def test_a_damaged_python_text_history_is_an_error_naming_the_line(tmp_path):
    (tmp_path / "history.txt").write_text("{'loss': [0.9, 0.5],\n 'val_loss': [1.0, 0.8\n}",
                                          encoding="utf-8")
    r = invoke("check", str(tmp_path))
    assert r.exit_code == 2 and "history.txt" in r.output and "line 3" in r.output


def test_a_log_of_one_dict_per_line_stays_a_text_log(tmp_path):
    lines = "".join(f"{{'loss': {1 / (i + 1):.4f}, 'epoch': {i}}}\n" for i in range(8))
    (tmp_path / "train.log").write_text(lines, encoding="utf-8")
    from diagnose.readers import keras_json
    assert not keras_json.detect(tmp_path / "train.log")


@pytest.mark.parametrize("name", ["train_loss_local", "loss_epoch", "training_loss", "epoch_loss"])
def test_train_loss_spellings(name):
    assert canonical_name(name) == "train/loss"


@pytest.mark.parametrize("name", ["valid_loss", "validation_loss", "eval/loss"])
def test_validation_loss_spellings(name):
    assert canonical_name(name) == "val/loss"


def test_wandb_run_with_train_loss_local_and_test_loss():
    run = diagnose.load_all(WANDB)[0]
    assert run.name_map == {"train_loss_local": "train/loss", "test_loss": "val/loss"}
    steps, _ = run.arrays("val/loss")
    assert list(steps) == list(range(9, 120, 10))
    assert len(run.arrays("train/loss")[0]) == 120
    assert any("'test_loss' read as 'val/loss'" in w for w in run.warnings)
    assert run.params["lr"] == 0.1


def test_losses_under_unmapped_names_get_a_note_naming_them(tmp_path):
    data = json.loads((KERAS / "history.json").read_text(encoding="utf-8"))
    renamed = {"loss": data["loss"], "heldout_objective_loss": data["val_loss"]}
    (tmp_path / "history.json").write_text(json.dumps(renamed), encoding="utf-8")
    r = invoke("check", str(tmp_path))
    assert "'heldout_objective_loss'" in r.output and "[tool.diagnose.metrics]" in r.output
    assert '"heldout_objective_loss" = "val/loss"' in r.output


def test_an_empty_log_is_one_message_naming_it(tmp_path):
    log = tmp_path / "run1" / "training.log"
    log.parent.mkdir()
    log.write_bytes(b"")
    r = CliRunner().invoke(main, ["check", str(tmp_path)])
    assert r.exit_code == 2
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1 and str(log) in r.stderr and "empty" in r.stderr


def test_skip_unreadable_with_nothing_readable_exits_2(tmp_path):
    (tmp_path / "history.json").write_text("{", encoding="utf-8")
    r = invoke("check", str(tmp_path), "--skip-unreadable")
    assert r.exit_code == 2 and "every input was unreadable" in r.output


def test_an_event_file_does_not_hide_runs_in_subfolders(tmp_path):
    good2 = tmp_path / "good2"
    shutil.copytree(FORMATS / "tensorboard" / "simple", good2)
    (good2 / "expected.json").unlink(missing_ok=True)
    (good2 / "r1").mkdir()
    shutil.copy(FORMATS / "csv_wide" / "history.csv", good2 / "r1" / "history.csv")
    runs = {r.format: r for r in diagnose.load_all(good2)}
    assert set(runs) == {"tensorboard", "csv"}
    assert runs["csv"].path == str(good2 / "r1" / "history.csv")
    r = invoke("check", str(good2), "--output-format", "json")
    assert {x["format"] for x in json.loads(r.output)["runs"]} == {"tensorboard", "csv"}


def test_verbose_lists_files_discovery_left_unread(tmp_path):
    shutil.copytree(FORMATS.parent / "explosion", tmp_path / "r1")
    (tmp_path / "notes.txt").write_text("lr sweep, see wiki\n", encoding="utf-8")
    (tmp_path / "labels.csv").write_text("image,label\na.png,3\n", encoding="utf-8")
    (tmp_path / "model.pt").write_bytes(b"\x80\x02")
    quiet = CliRunner().invoke(main, ["check", str(tmp_path), "-q"])
    assert "skipped" not in quiet.stderr
    r = CliRunner().invoke(main, ["check", str(tmp_path), "-q", "--verbose"])
    listed = {line.rsplit(": ", 1)[1] for line in r.stderr.splitlines() if "skipped" in line}
    assert listed == {str(tmp_path / "notes.txt"), str(tmp_path / "labels.csv")}


def test_run_ids_keep_enough_path_to_be_recognisable(tmp_path, monkeypatch):
    for d in ("lr=0.1/seed=1", "lr=0.1/seed=2", "lr=0.01/seed=1"):
        (tmp_path / "sweep" / d).mkdir(parents=True)
        shutil.copy(FORMATS / "csv_wide" / "history.csv", tmp_path / "sweep" / d)
    monkeypatch.chdir(tmp_path)
    r = invoke("check", "sweep/lr=0.1", "sweep/lr=0.01/seed=1", "--output-format", "json")
    ids = {x["path"]: x["id"] for x in json.loads(r.output)["runs"]}
    assert ids["sweep/lr=0.01/seed=1/history.csv"] == "lr=0.01/seed=1"
    assert ids["sweep/lr=0.1/seed=2/history.csv"] == "seed=2"
    assert len(set(ids.values())) == 3


#: a public hand-written history (bench/real-runs, tuning half): per-epoch lists beside an
#: ``epochs`` list, a ``config`` dict and final test numbers
LIPREADING = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w53c-lipreading"


def test_a_history_with_its_epochs_config_and_final_numbers():
    data = json.loads((LIPREADING / "training_history.json").read_text(encoding="utf-8"))
    (run,) = diagnose.load_all(LIPREADING)
    steps, values = run.arrays("val/loss")
    assert np.array_equal(steps, data["epochs"]) and np.array_equal(values, data["val_loss"])
    assert run.params["lr"] == data["config"]["learning_rate"]
    assert run.params["batch_size"] == data["config"]["batch_size"]
    assert run.results["test_loss"] == data["test_loss"]
    assert "epochs" not in run.metric_names and "config" not in run.metric_names


def test_a_history_nested_under_history_with_its_params(tmp_path):
    (tmp_path / "history.json").write_text(json.dumps({
        "history": {"loss": [0.9, 0.6, 0.5], "val_loss": [1.0, 0.8, 0.7]},
        "params": {"epochs": 3, "optimizer": {"learning_rate": 0.01}}}), encoding="utf-8")
    (run,) = diagnose.load_all(tmp_path)
    assert np.array_equal(run.arrays("val/loss")[1], [1.0, 0.8, 0.7])
    assert run.params == {"epochs": 3, "lr": 0.01}


def test_a_list_of_per_epoch_dicts_is_read_as_one_metric_per_key():
    # a public history (bench/real-runs/w56d-protein-mol-retrieval, tuning split): the loop
    # appends its evaluator's dict each epoch under "val_metrics"
    path = (Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w56d-protein-mol-retrieval"
            / "outputs" / "history.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    (run,) = diagnose.load_all(path)
    steps, values = run.arrays("val_P2M_Acc@1")
    assert np.array_equal(steps, data["epochs"])
    assert values.tolist() == [r["P2M_Acc@1"] for r in data["val_metrics"]]
    assert run.arrays("train/loss")[1].tolist() == data["train_loss"]


def test_per_epoch_dicts_take_their_split_from_the_list_name(tmp_path):
    (tmp_path / "history.json").write_text(json.dumps({
        "train_loss": [0.9, 0.6, 0.5, 0.45],
        "val_metrics": [{"loss": 1.0, "acc": 0.5, "note": "x"}, {"loss": 0.8, "acc": 0.6, "note": "y"},
                        None, {"loss": 0.7, "acc": 0.7, "note": "z"}],
        "val_loss": [1.1, 0.9, 0.8, 0.75]}), encoding="utf-8")
    (run,) = diagnose.load_all(tmp_path)
    assert run.arrays("val/acc")[1].tolist() == [0.5, 0.6, 0.7]  # None: that epoch not evaluated
    # "val_loss" is the file's own list: the dicts' loss keeps the list's name in front
    assert run.arrays("val/loss")[1].tolist() == [1.1, 0.9, 0.8, 0.75]
    assert run.arrays("val_metrics/loss")[1].tolist() == [1.0, 0.8, 0.7]


def test_a_record_without_the_validation_keys_is_no_nan(tmp_path):
    # a loop that evaluates every other epoch appends records without the val keys: those epochs
    # have no validation point, not a NaN one (which would be an error on a healthy run)
    records = [{"epoch": e, "train_loss": 1 / (e + 1), **({"val_loss": 1.2 / (e + 1)} if e % 2 == 0 else {})}
               for e in range(8)]
    (tmp_path / "history.json").write_text(json.dumps(records), encoding="utf-8")
    (run,) = diagnose.load_all(tmp_path)
    steps, values = run.arrays("val/loss")
    assert steps.tolist() == [0, 2, 4, 6] and values.tolist() == [r["val_loss"] for r in records if "val_loss" in r]
    assert "DG201" not in {f.rule for f in diagnose.check([run]).findings}
