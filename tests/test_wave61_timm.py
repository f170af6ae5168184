"""timm's ``train.py`` writes one folder per experiment, ``output/train/<date>-<model>-<size>/``,
with ``summary.csv`` (``epoch,train_loss,eval_loss,eval_top1,eval_top5,lr``) and ``args.yaml``
(every argument, ``num_classes`` among them). Every run's file has the same name, so its id must
come from the folder; and the class count in ``args.yaml`` is what the chance level ln K of the
uniform-predictions reading needs when the run logs an accuracy that cannot name K itself.

The files are written as timm writes them (``csv.DictWriter`` rows, a YAML dump of the
arguments); the expectations are the numbers written, never what a reader returned.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import diagnose

CLASSES = 100


def _experiment(root: Path, name: str, *, stuck: bool) -> Path:
    """One timm experiment folder; a stuck run predicts uniformly over CLASSES classes."""
    d = root / "output" / "train" / name
    d.mkdir(parents=True)
    chance = math.log(CLASSES)
    with open(d / "summary.csv", "w", newline="") as f:
        w = csv.DictWriter(f, ["epoch", "train_loss", "eval_loss", "eval_top1", "eval_top5", "lr"])
        w.writeheader()
        for e in range(40):
            if stuck:
                row = [chance + 0.01 * math.sin(e), chance + 0.003 * math.cos(e), 1.0, 5.0]
            else:
                row = [0.3 + 4.3 * math.exp(-e / 8), 0.9 + 3.7 * math.exp(-e / 9),
                       75 - 74 * math.exp(-e / 7), 93 - 88 * math.exp(-e / 5)]
            w.writerow(dict(zip(w.fieldnames, [e, *row, 0.05 * (1 + math.cos(math.pi * e / 40))])))
    (d / "args.yaml").write_text(
        "batch_size: 128\nepochs: 40\nlr: 0.05\nmodel: resnet50\n"
        f"num_classes: {CLASSES}\nopt: sgd\nseed: 42\nweight_decay: 0.0001\n")
    return d


def test_each_experiment_is_named_by_its_folder_and_knows_its_classes(tmp_path: Path) -> None:
    _experiment(tmp_path, "20240105-101500-resnet50-224", stuck=False)
    _experiment(tmp_path, "20240106-090000-resnet50-224", stuck=True)
    runs = {r.id: r for r in diagnose.load_all(tmp_path / "output")}
    assert sorted(runs) == ["20240105-101500-resnet50-224", "20240106-090000-resnet50-224"]
    for run in runs.values():
        assert run.params["num_classes"] == CLASSES
        assert run.params["lr"] == 0.05


def test_a_run_stuck_at_chance_is_told_against_the_class_count_from_args_yaml(tmp_path: Path) -> None:
    d = _experiment(tmp_path, "20240106-090000-resnet50-224", stuck=True)
    messages = " ".join(f.message for f in diagnose.check(d).findings)
    assert f"ln({CLASSES})" in messages  # the loss is told against uniform predictions over K
