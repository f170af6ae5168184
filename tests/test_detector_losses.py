"""A detector that logs only the parts of its loss (Ultralytics / YOLOv5 to TensorBoard:
``train/box_loss``, ``train/cls_loss``, ``train/dfl_loss`` beside ``metrics/mAP50(B)``) is judged
on their sum, as its ``results.csv`` is (``readers/yolo.py``). A public Ultralytics run written to a
plain event file (bench/real-runs/w22c-snapfolia-tb) had "no loss diagnose recognises"."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _tb_truth import event_scalars as _logged

import diagnose

RUN = (Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w22c-snapfolia-tb" / "model"
       / "leaf-classification-notebook-v5")


def test_a_public_ultralytics_event_file_is_judged_on_the_summed_loss() -> None:
    logged = _logged(RUN)
    run = diagnose.load(RUN)
    for split in ("train", "val"):
        parts = [t for t in logged if t.startswith(f"{split}/") and t.endswith("_loss")]
        assert len(parts) == 3
        steps = sorted(set.intersection(*(set(logged[p]) for p in parts)))
        want = [sum(logged[p][s] for p in sorted(parts)) for s in steps]
        got_steps, got = run.arrays(f"{split}/loss")
        assert got_steps.tolist() == steps
        assert got.tolist() == pytest.approx(want, rel=1e-12)
        for p in parts:  # each part stays under its own name
            assert run.arrays(p)[1].tolist() == pytest.approx(list(logged[p].values()), rel=1e-7)
    assert any("read as the sum of 'train/box_loss', 'train/cls_loss', 'train/dfl_loss'" in w
               for w in run.warnings)
    report = diagnose.check(RUN)
    assert not any("no loss or accuracy" in w for r in report.runs for w in r.warnings)
    assert not [f for f in report.findings if f.severity in ("warning", "error")]  # labelled healthy


def _train(logdir: Path, lr: float, epochs: int = 25, growth: float = 1.0) -> None:
    """A two-headed model (a box regression and a class head) trained with SGD, logged per epoch
    the way YOLOv5's TensorBoard logger does: the parts of the loss and a metric, no total.
    ``growth`` multiplies the learning rate after every epoch (a schedule gone wrong)."""
    import torch
    from torch.utils.tensorboard import SummaryWriter

    g = torch.Generator().manual_seed(0)
    x = torch.randn(512, 8, generator=g)
    box = x[:, :4] * 3.0 + 1.0
    cls = (x[:, 4] > 0).long()
    net = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 6))
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    w = SummaryWriter(str(logdir))
    for epoch in range(epochs):
        for group in opt.param_groups:
            group["lr"] = lr * growth ** epoch
        for i in range(0, 384, 32):
            out = net(x[i:i + 32])
            loss_box = torch.nn.functional.mse_loss(out[:, :4], box[i:i + 32])
            loss_cls = torch.nn.functional.cross_entropy(out[:, 4:], cls[i:i + 32])
            opt.zero_grad()
            (loss_box + loss_cls).backward()
            opt.step()
        with torch.no_grad():
            tr, va = net(x[:384]), net(x[384:])
            logs = {
                "train/box_loss": torch.nn.functional.mse_loss(tr[:, :4], box[:384]),
                "train/cls_loss": torch.nn.functional.cross_entropy(tr[:, 4:], cls[:384]),
                "val/box_loss": torch.nn.functional.mse_loss(va[:, :4], box[384:]),
                "val/cls_loss": torch.nn.functional.cross_entropy(va[:, 4:], cls[384:]),
                "metrics/accuracy_top1": (va[:, 4:].argmax(1) == cls[384:]).float().mean(),
            }
        for k, v in logs.items():
            w.add_scalar(k, float(v), epoch)
    w.close()


def test_a_diverging_detector_logged_in_parts_is_an_explosion(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    _train(tmp_path / "ok", lr=0.02)
    _train(tmp_path / "lr_grows", lr=0.02, growth=1.3)
    total = {}
    for r in ("ok", "lr_grows"):
        d = _logged(tmp_path / r)
        total[r] = np.add(list(d["train/box_loss"].values()), list(d["train/cls_loss"].values()))
    # by plain arithmetic: the healthy total falls to a fifth; the other learns, then climbs
    # more than 5x above its lowest value and ends non-finite
    assert total["ok"][-1] < 0.2 * total["ok"][0]
    low = int(np.nanargmin(total["lr_grows"]))
    assert np.nanmax(total["lr_grows"][low:]) > 5 * total["lr_grows"][low]
    assert not np.isfinite(total["lr_grows"][-1])
    patterns = {r: {f.pattern for f in diagnose.check(tmp_path / r).findings
                    if f.severity in ("warning", "error")} for r in ("ok", "lr_grows")}
    assert "explosion" in patterns["lr_grows"]
    assert not patterns["ok"]


def test_an_event_file_names_a_detectors_metrics_as_its_results_csv_does(tmp_path: Path) -> None:
    """The same run read from its event file and from a ``results.csv`` holding the same values
    (the columns Ultralytics writes) has the same metric names: ``metrics/mAP50(B)`` is the
    validation ``val/mAP50`` in both, so ``sweep --by`` and ``--metric`` mean one thing."""
    logged = _logged(RUN)
    epochs = sorted(set.intersection(*(set(v) for v in logged.values())))
    cols = sorted(logged)
    lines = [",".join(["epoch", *cols])]
    lines += [",".join([str(e), *(repr(logged[c][e]) for c in cols)]) for e in epochs]
    csv_dir = tmp_path / "train"
    csv_dir.mkdir()
    (csv_dir / "results.csv").write_text("\n".join(lines) + "\n")
    from_tb, from_csv = diagnose.load(RUN), diagnose.load(csv_dir)
    names_tb, names_csv = set(from_tb.metrics.metric.unique()), set(from_csv.metrics.metric.unique())
    assert any(t.startswith("metrics/") for t in logged)
    assert not any(n.startswith("metrics/") for n in names_tb)
    assert names_tb == names_csv
    for name in ("val/mAP50-95", "val/precision"):
        raw = next(t for t in logged if from_tb.name_map.get(t) == name)
        assert from_tb.arrays(name)[1].tolist() == pytest.approx(list(logged[raw].values()), rel=1e-7)
