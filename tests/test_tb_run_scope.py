"""TensorBoard tags written under the run's own name, in split folders (TF's
``tf.name_scope(run_name)`` with one writer per split): ``<run>/train/`` holding
``<run>/train_loss``, ``<run>/val/`` holding ``<run>/test_loss``. Two public CIFAR-10 runs
(bench/real-runs/w44d-cifar10-sgd-lowlr-*) had no curve read and said nothing."""

from __future__ import annotations

from pathlib import Path

import diagnose


def _write(run: Path, tags: dict[str, dict[str, list[float]]]) -> Path:
    from torch.utils.tensorboard import SummaryWriter

    for split, series in tags.items():
        w = SummaryWriter(str(run / split))
        for tag, values in series.items():
            for step, v in enumerate(values):
                w.add_scalar(tag, v, step)
        w.close()
    return run


def test_tags_under_the_run_name_in_split_folders_are_its_curves(tmp_path: Path) -> None:
    run_dir = tmp_path / "LR-low, opt_SGD, arch_low"
    flat = [2.3026 - 0.0001 * s for s in range(40)]
    _write(run_dir, {
        "train": {f"{run_dir.name}/train_loss": flat, f"{run_dir.name}/train_accuracy": [0.1] * 40},
        "val": {f"{run_dir.name}/test_loss": flat, f"{run_dir.name}/test_accuracy": [0.1] * 40},
    })
    run = diagnose.load(tmp_path)
    assert set(run.metric_names) == {"train/loss", "train/acc", "val/loss", "val/acc"}
    assert any("read without it" in w for w in run.warnings)
    assert "flat_loss" in {f.pattern for f in diagnose.check(tmp_path).findings}


def test_a_split_folder_whose_tags_would_merge_keeps_them_apart(tmp_path: Path) -> None:
    # one writer in train/ logging both losses: read as the folder's split, they would merge
    _write(tmp_path / "r", {"train": {"train_loss": [1.0, 0.9, 0.8], "val_loss": [1.1, 1.0, 0.95]}})
    run = diagnose.load(tmp_path / "r")
    assert len(run.metric_names) == 2
    firsts = sorted(round(float(run.arrays(n)[1][0]), 4) for n in run.metric_names)
    assert firsts == [1.0, 1.1]


def test_a_run_named_like_its_metric_keeps_the_metric_split_by_split(tmp_path: Path) -> None:
    # a run folder called ``loss`` whose tags are ``loss/train`` and ``loss/val``: the name in
    # front is the metric, not the run's scope
    _write(tmp_path / "loss", {".": {"loss/train": [1.0, 0.8, 0.6], "loss/val": [1.1, 0.9, 0.8]}})
    run = diagnose.load(tmp_path / "loss")
    assert {"train/loss", "val/loss"} <= set(run.metric_names)
