"""A line under a record that repeats the record's values under another name.

A GNN script prints ``Epoch: 3, Loss: 1.51`` and under it ``Train. Total Loss: 1.51, AUC: 50.7%``;
a contrastive-learning script prints ``Training: avg_loss=0.39`` just before the next epoch's
``Epoch 2/10 | train_loss=0.39 | val_loss=0.38``, so the line falls under the epoch before. The
reader compared the names as printed (``loss`` against ``total_loss``), so the repeated train
loss came back as a second train-loss curve, and in the second case one shifted an epoch.
Names are compared as the run will read them, and only what is new on the line is kept.
"""

from __future__ import annotations

import numpy as np

import diagnose


def _read(path) -> diagnose.Run:
    run = diagnose.load(str(path))
    return run[0] if isinstance(run, list) else run


def _epochs(loss: list[float], extra: list[float]) -> str:
    return "".join(f"Epoch: {i}, Loss: {v:.3f}\nTrain. Total Loss: {v:.3f}, AUC: {a:.2f}%\n"
                   for i, (v, a) in enumerate(zip(loss, extra)))


def test_a_repeated_loss_is_no_second_curve_and_the_rest_of_the_line_is_kept(tmp_path) -> None:
    loss = [1.6 - 0.05 * i for i in range(8)]
    auc = [50.0 + 2 * i for i in range(8)]
    log = tmp_path / "train.log"
    log.write_text(_epochs(loss, auc))
    run = _read(log)
    losses = [n for n in run.metric_names if "loss" in n]
    assert losses == ["train/loss"]
    assert np.allclose(run.arrays("train/loss")[1], loss)
    aucs = [n for n in run.metric_names if "auc" in n]
    assert len(aucs) == 1
    assert np.allclose(run.arrays(aucs[0])[1], auc)


def test_a_loss_printed_before_the_next_epoch_is_not_read_as_the_epoch_before(tmp_path) -> None:
    loss = [4.25, 0.39, 0.08, 0.05, 0.04, 0.035, 0.03]
    lines = [f"  Training: avg_loss={v:.4f} over 1563 batches\n"
             f"Epoch {i + 1}/10 | train_loss={v:.6f} | val_loss={0.4 + 0.01 * i:.6f}\n"
             for i, v in enumerate(loss)]
    log = tmp_path / "training.log"
    log.write_text("".join(lines))
    run = _read(log)
    assert sorted(n for n in run.metric_names if "loss" in n) == ["train/loss", "val/loss"]
    assert np.allclose(run.arrays("train/loss")[1], loss)


def test_the_labelling_plot_draws_cells_named_with_a_space() -> None:
    """The benchmark's plotter (its own parsers) read ``name: value`` pairs only, so a log
    printing ``step 10 | train/loss 4.5997 | val/loss 4.6208`` drew nothing and could not be
    labelled from a plot; every ``name value`` cell of a ``|``-split line is drawn now."""
    import sys

    from _real_logs import ROOT, bench_run

    sys.path.insert(0, str(ROOT / "bench"))
    import real_runs

    path = bench_run("w100f-vzhou-div-wd15-spikes")
    log = next(path.rglob("train.log"))
    cells = [line.split("|") for line in log.read_text().splitlines() if " | train/loss " in line]
    printed = [float(c[1].split()[1]) for c in cells]
    name, series = real_runs.parse_run(path)
    assert name.endswith("train.log")
    assert [y for _, y in series["train/loss"]] == printed
    assert len(series["val/acc"]) == len(printed)


def test_the_labelling_plot_spreads_evaluations_wrapped_in_one_list() -> None:
    """A loss JSON keeps 100,000 per-step train losses beside ``[[...100 evaluations...]]``;
    the plotter drew the evaluations as one epoch's batches, all at x < 1, where no labeller
    could read them. They are spread over the train list's steps now."""
    import json
    import sys

    from _real_logs import ROOT, bench_run

    sys.path.insert(0, str(ROOT / "bench"))
    import real_runs

    path = bench_run("w103g-hunterj-sub113-1l-slow")
    data = json.loads(next(path.rglob("*_losses.json")).read_text())
    _, series = real_runs.parse_run(path)
    val, train = series["val_losses"], series["train_losses"]
    assert [y for _, y in val] == data["val_losses"][0]
    assert val[-1][0] == train[-1][0]
    assert val[0][0] > len(train) / len(val) / 2
