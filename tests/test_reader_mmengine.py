"""MMEngine's ``vis_data/scalars.json`` (OpenMMLab: MMDetection 3, MMPretrain, MMPose, ...).

Its evaluation records are numbered by epoch while its training records are numbered by
iteration: read as one step axis, each evaluation looked like a new run starting at step 1 (a
six-epoch log fell apart into six runs). The fixture is a real ``Runner.train()``
(``fixtures/formats/mmengine_runner``, checked value for value in ``test_readers_text.py``);
here two real public logs (``tests/data/mmengine/SOURCES.md``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import diagnose

DATA = Path(__file__).resolve().parent / "data" / "mmengine"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "formats" / "mmengine_runner"


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_an_mmpretrain_log_is_one_run_with_its_evaluations_at_their_epochs_end():
    recs = _records(DATA / "mmpretrain-run" / "vis_data" / "scalars.json")
    train = [r for r in recs if "iter" in r]
    evals = [r for r in recs if "iter" not in r]
    # the log itself: one training record per epoch, at the epoch's last iteration, and an
    # evaluation after each, numbered by its epoch
    end_of = {r["epoch"]: r["iter"] for r in train}
    assert len(evals) == len(end_of) and all(e["step"] in end_of for e in evals)

    (run,) = diagnose.load_all(DATA / "mmpretrain-run")
    assert run.format == "mmengine" and run.id == "mmpretrain-run"
    steps, values = run.arrays("val/acc")
    assert steps.tolist() == [end_of[e["step"]] for e in evals]
    assert values.tolist() == [e["accuracy/top1"] for e in evals]  # in percent, as logged,
    assert any("val/acc logged in percent" in w for w in run.warnings)  # and read as such
    steps, values = run.arrays("train/loss")
    assert steps.tolist() == [r["iter"] for r in train]
    assert values.tolist() == [r["loss"] for r in train]
    assert "time" not in run.metric_names and "data_time" not in run.metric_names
    assert run.params["lr"] == 0.02 and run.params["batch_size"] == 32


def test_an_mmpose_log_evaluated_every_ten_epochs_is_one_run():
    folder = DATA / "mmpose-run"
    recs = _records(folder / "20230605_200941" / "vis_data" / "scalars.json")
    train = [r for r in recs if "iter" in r]
    evals = [r for r in recs if "iter" not in r]
    # the log itself: evaluations numbered by epoch, far below the iterations around them
    assert len(evals) > 1 and max(e["step"] for e in evals) <= max(r["epoch"] for r in train)

    runs = diagnose.load_all(folder)
    assert [r.id for r in runs] == ["20230605_200941"]
    (run,) = runs
    steps, values = run.arrays("val/PCK")
    assert values.tolist() == [e["PCK"] for e in evals]
    for e, step in zip(evals, steps.tolist()):
        last = max(r["iter"] for r in train if r["epoch"] == e["step"])
        after = [r["iter"] for r in train if r["epoch"] == e["step"] + 1]
        assert last <= step < (min(after) if after else last + 1)
    assert run.params["lr"] == 0.004 and run.params["optimizer"] == "AdamW"


def test_the_second_copy_of_the_scalars_is_not_a_second_run():
    vis = next((FIXTURE / "work_dir").glob("*/vis_data"))
    copies = sorted(p.name for p in vis.glob("*.json"))
    assert len(copies) == 2 and "scalars.json" in copies  # LoggerHook's and LocalVisBackend's
    assert (vis / copies[0]).read_bytes() == (vis / copies[1]).read_bytes()
    assert len(diagnose.load_all(FIXTURE)) == 1


def test_a_config_is_parsed_never_run(tmp_path):
    vis = tmp_path / "20240101_000000" / "vis_data"
    vis.mkdir(parents=True)
    (vis / "scalars.json").write_bytes(
        (FIXTURE / "work_dir").glob("*/vis_data/scalars.json").__next__().read_bytes())
    marker = tmp_path / "ran"
    (vis / "config.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('x')\n"
        "optim_wrapper = dict(optimizer=dict(type='AdamW', lr=3e-4))\n"
        "train_dataloader = dict(batch_size=16)\n")
    (run,) = diagnose.load_all(tmp_path)
    assert not marker.exists()
    assert run.params == {"lr": 3e-4, "optimizer": "AdamW", "batch_size": 16}


def test_a_torn_last_line_is_said_and_the_rest_is_read(tmp_path):
    vis = tmp_path / "run" / "vis_data"
    vis.mkdir(parents=True)
    src = next((FIXTURE / "work_dir").glob("*/vis_data/scalars.json")).read_text()
    (vis / "scalars.json").write_text(src + '{"lr": 0.05, "loss": 0.4')
    (run,) = diagnose.load_all(tmp_path)
    assert run.in_progress
    assert any("torn last line" in w and "scalars.json" in w for w in run.warnings)
    steps, _ = run.arrays("train/loss")
    assert len(steps) == len([ln for ln in src.splitlines() if '"iter"' in ln])
    assert np.all(np.diff(steps) > 0)


def test_a_scalars_json_outside_vis_data_is_some_other_tools_log(tmp_path):
    log = tmp_path / "scalars.json"
    log.write_text("".join(f'{{"step": {s}, "loss": {1 / (s + 1)}}}\n' for s in range(6)))
    (run,) = diagnose.load_all(tmp_path)
    assert run.format != "mmengine"
    assert run.arrays("train/loss")[0].tolist() == list(range(6))
    assert "val/loss" not in run.metric_names
