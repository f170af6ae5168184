"""A printed log that a resumed run appended to, behind a ``logging`` prefix.

A VGG16 fine-tune (a public MILK10k classifier's ``training.log``) logs each epoch as
``2026-05-08 22:49:56 | INFO | Epoch [021/30] TrainLoss=0.9320 ...`` and its settings as
``... | INFO |   LR           : 0.0001``. It ran to epoch 25, was stopped, and resumed from its
best checkpoint (epoch 20), printing epochs 21-30 again into the same file. The reader took the
repeated epochs for "several records of one epoch", numbered 35 records in file order (the
discarded epochs 21-25 inside the curve), and read no settings behind the prefix.
"""

from __future__ import annotations

import numpy as np

import diagnose

FIRST = 25  # the first attempt's last epoch
RESUMED_FROM = 20  # the checkpoint the second attempt loaded
LAST = 30


def _line(epoch: int, train: float, val: float) -> str:
    return (f"2026-05-08 22:49:56 | INFO | Epoch [{epoch:03d}/{LAST}] TrainLoss={train:.4f} "
            f"TrainAcc={100 * (1 - train / 3):.2f}% | ValLoss={val:.4f} "
            f"ValAcc={100 * (1 - val / 3):.2f}% | LR=1.00e-04 | Time=480.3s")


def _log(tmp_path):
    rng = np.random.default_rng(5)
    head = ["2026-05-08 22:39:24 | INFO | " + x for x in (
        "[Seed] All random seeds set to 42", "=" * 40, "  Mode         : full",
        "  Epochs       : 30", "  LR           : 0.0001", "  Batch size   : 32",
        "  Seed         : 42", "[Training] Starting - 30 epochs max")]
    first = {e: (1.9 * 0.97 ** e, 1.3 - 0.012 * min(e, RESUMED_FROM) + 0.004 * rng.random())
             for e in range(1, FIRST + 1)}
    second = {e: (0.8 * 0.95 ** (e - RESUMED_FROM), 1.1 + 0.02 * (e - RESUMED_FROM))
              for e in range(RESUMED_FROM + 1, LAST + 1)}
    lines = head + [_line(e, *first[e]) for e in first]
    lines += ["2026-05-09 11:39:17 | INFO | [Checkpoint] Loaded <- best_model.pth (epoch=20)"]
    lines += [_line(e, *second[e]) for e in second]
    path = tmp_path / "training.log"
    path.write_text("\n".join(lines) + "\n")
    return path, first, second


def test_the_resumed_epochs_replace_the_discarded_ones(tmp_path) -> None:
    path, first, second = _log(tmp_path)
    run = diagnose.load(str(path))
    steps, val = run.arrays("val/loss")
    assert steps.tolist() == list(range(1, LAST + 1))
    kept = {**{e: v for e, (_, v) in first.items() if e <= RESUMED_FROM},
            **{e: v for e, (_, v) in second.items()}}
    assert np.allclose(val, [round(kept[e], 4) for e in range(1, LAST + 1)])
    late = [f for f in diagnose.check(str(path)).findings if f.pattern == "late_overfitting"]
    assert late and late[0].steps[0] == RESUMED_FROM


def test_settings_behind_a_logging_prefix_are_read(tmp_path) -> None:
    path, _, _ = _log(tmp_path)
    params = diagnose.load(str(path)).params
    assert params["lr"] == 0.0001 and params["batch_size"] == 32 and params["seed"] == 42
