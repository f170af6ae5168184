"""Console logs of scripts that also log to wandb, and batch lines under an epoch's header.

wandb prints a run summary when a run ends (``wandb: Run summary:``, then ``wandb:
train/loss 0.30694``): each metric's last value under the name the script logged it with. Read
as records, those single points took the names the vocabulary prefers (``train/loss``,
``val/loss``) from the curves the loop printed every epoch, and a public nanoGPT run's 13
evaluations read as one. Its goodbye lines also ended the block an ``Epoch 79/79`` header
opened, so the last epoch's batches lost their epoch. A public video classifier's loop prints
``Epoch 0/79``, then `` - Batch Number 100 -> Loss: 1.187 Accuracy: 0.363`` lines whose counter
starts again each epoch, then the epoch's ``train Loss`` and ``val Loss``: `check` stopped at
"no step, iteration or epoch counter that counts up". The logs are public ones under
bench/real-runs, labelled from their plots before diagnose ran on them; the values here come
from the files by regular expression.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

import diagnose

RUNS = Path(__file__).resolve().parents[1] / "bench" / "real-runs"
NANOGPT = RUNS / "w50a-tnnform-shakespeare" / "train_output.log"
TRINITY = RUNS / "w70a-trinity-sgd-trans" / "logs" / "sgd_trans.log"
LINFORMER = RUNS / "w64a-tfg-linformer1" / "logs" / "linformer_1.log"


def _summary(path: Path) -> dict[str, float]:
    text = path.read_text(encoding="utf-8")
    block = text.split("wandb: Run summary:\n", 1)[1].split("wandb: \n", 1)[0]
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"wandb:\s+(\S+) (\S+)\n", block)}


def test_the_summary_does_not_take_the_evaluations_names() -> None:
    text = NANOGPT.read_text(encoding="utf-8")
    evals = [float(m.group(1)) for m in re.finditer(r"val loss (\d+\.\d+)", text)]
    assert len(evals) > 10 and abs(_summary(NANOGPT)["val/loss"] - evals[-1]) < 1e-4
    _, values = diagnose.load(str(NANOGPT)).arrays("val/loss")
    assert np.allclose(values, evals)


def test_the_epoch_curves_stay_the_curves_and_the_summary_adds_what_they_lack() -> None:
    text = TRINITY.read_text(encoding="utf-8")
    epochs = re.findall(r"Epoch (\d+)/\d+ - Loss: (\S+), Val Acc: (\S+)%", text)
    run = diagnose.load(str(TRINITY))
    steps, loss = run.arrays("train/loss")
    assert len(epochs) == 200 and np.array_equal(steps, [int(e) for e, _, _ in epochs])
    assert np.allclose(loss, [float(v.rstrip(",")) for _, v, _ in epochs])
    _, acc = run.arrays("val/acc")
    assert np.allclose(acc, [float(a) for _, _, a in epochs])
    # the train accuracy is printed only in the summary: kept, at the last epoch
    steps, acc = run.arrays("train/acc")
    assert list(steps) == [200] and acc[-1] == _summary(TRINITY)["train/acc"]


def test_batch_lines_under_an_epoch_header_are_read() -> None:
    text = LINFORMER.read_text(encoding="utf-8")
    batches = re.findall(r"Batch Number (\d+) -> Loss: (\S+) Accuracy", text)
    per_epoch = max(int(b) for b, _ in batches)
    epochs = re.findall(r"^train Loss: (\S+) Acc", text, flags=re.MULTILINE)
    evals = re.findall(r"^val Loss: (\S+) Acc", text, flags=re.MULTILINE)
    run = diagnose.load(str(LINFORMER))
    steps, loss = run.arrays("train/loss")
    assert np.allclose(loss, [float(v) for _, v in batches])
    assert len(np.unique(steps)) == len(steps) and np.all(np.diff(steps) > 0)
    # the last epoch's batches come after wandb's goodbye and keep their epoch
    assert steps[-1] == len(epochs) * per_epoch
    _, values = run.arrays("val/loss")
    assert np.allclose(values, [float(v) for v in evals])
    _, values = run.arrays("train_loss")
    assert np.allclose(values, [float(v) for v in epochs])
