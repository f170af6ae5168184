"""JoeyNMT's training logs, found misread in the public batches of waves 47 and 48 (w61a, w62a):

- ``Epoch 1: total training loss 11850.41``, printed after ``Epoch 1, Step: 4200, ...``, was
  taken for step 1, so every log was split into two "appended runs" at the end of its first
  epoch;
- the validation lines (``Validation result (greedy) at epoch 1, step 500: bleu: 0.17, loss:
  81463.59, ppl: 36.74`` in 1.x, ``Evaluation result (greedy) loss: 4.40, ppl: 81.81, acc:
  0.07`` under the last batch line in 2.x) were not read, so no gap or stall could be judged;
- 1.x prints the validation loss summed over the dev set's tokens: read as it is, it would sit
  thousands of times above the per-token batch loss.

And a JSON history whose per-epoch records sit under a ``history`` key (w62d) read as metrics
named ``history_train_loss``, so no rule ran.

Values are checked against the raw files with parsers written here, not through the readers.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np

import diagnose

REAL = Path(__file__).resolve().parents[1] / "bench" / "real-runs"
JOEY1 = REAL / "w61a-nneva-joey-baseline" / "logs" / "baseline.log"
JOEY2 = REAL / "w62a-hexm3x-joey-bpe1000" / "models" / "model_name_BPE_1000" / "train.log"

_BATCH = re.compile(r"Epoch\s+(\d+), Step:\s+(\d+), Batch Loss:\s+([\d.]+)")
_VAL1 = re.compile(r"Validation result \(greedy\) at epoch\s+\d+, step\s+(\d+): bleu:\s+([\d.]+), "
                   r"loss:\s+([\d.]+), ppl:\s+([\d.]+)")
_VAL2 = re.compile(r"Evaluation result \(greedy\) loss:\s+([\d.]+), ppl:\s+([\d.]+), acc:\s+([\d.]+)")
_TOTAL = re.compile(r"Epoch\s+(\d+): total training loss ([\d.]+)")


def _joey(path: Path) -> dict[str, list[tuple[int, float]]]:
    """(step, value) per name: batch losses at their step; validation values and epoch totals
    at the step of the last batch line before them."""
    out: dict[str, list[tuple[int, float]]] = {}
    step = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if m := _BATCH.search(line):
            step = int(m.group(2))
            out.setdefault("batch", []).append((step, float(m.group(3))))
        elif m := _VAL1.search(line):
            assert int(m.group(1)) == step
            out.setdefault("bleu", []).append((step, float(m.group(2))))
            out.setdefault("summed", []).append((step, float(m.group(3))))
            out.setdefault("ppl", []).append((step, float(m.group(4))))
        elif m := _VAL2.search(line):
            out.setdefault("loss", []).append((step, float(m.group(1))))
            out.setdefault("ppl", []).append((step, float(m.group(2))))
            out.setdefault("acc", []).append((step, float(m.group(3))))
        elif m := _TOTAL.search(line):
            out.setdefault("total", []).append((step, float(m.group(2))))
    return out


def _check(run, name: str, expected: list[tuple[int, float]]) -> None:
    steps, values = run.arrays(name)
    assert steps.tolist() == [s for s, _ in expected], name
    assert np.allclose(values, [v for _, v in expected]), name


def _only_run(path):
    """The one run read from ``path`` (the test fails, naming what was read, if not one)."""
    runs = diagnose.load_all(path)
    assert len(runs) == 1, [r.id for r in runs]
    return runs[0]


def test_joey1_log_is_one_run_with_its_validation_per_token() -> None:
    raw = _joey(JOEY1)
    assert len(raw["total"]) > 1 and len(raw["summed"]) > 10  # the log has what is tested
    run = _only_run(JOEY1)
    _check(run, "train/loss", raw["batch"])
    _check(run, "total_training_loss", raw["total"])
    _check(run, "val_bleu", raw["bleu"])
    _check(run, "val_summed_loss", raw["summed"])
    _check(run, "val/loss", [(s, math.log(p)) for s, p in raw["ppl"]])
    assert any("a sum over the evaluation set" in w for w in run.warnings)


def test_joey2_evaluation_lines_follow_the_batch_line_before_them() -> None:
    raw = _joey(JOEY2)
    assert len(raw["loss"]) > 5
    run = _only_run(JOEY2)
    _check(run, "train/loss", raw["batch"])
    _check(run, "val/loss", raw["loss"])  # a mean already: the log of its perplexity
    _check(run, "val/acc", raw["acc"])
    assert "val_summed_loss" not in run.metric_names
    assert not any("a sum over the evaluation set" in w for w in run.warnings)


def test_an_epoch_summary_in_a_stepped_log_does_not_start_a_run(tmp_path: Path) -> None:
    lines = []
    for epoch in (1, 2, 3):
        for step in range(1, 6):
            g = (epoch - 1) * 5 + step
            lines.append(f"Epoch {epoch}, Step: {g * 100}, Batch Loss: {2.0 / g:.4f}")
        lines.append(f"Epoch {epoch}: total training loss {100.0 / epoch:.2f}")
    p = tmp_path / "train.log"
    p.write_text("\n".join(lines) + "\n")
    runs = diagnose.load_all(p)
    assert len(runs) == 1
    steps, values = runs[0].arrays("total_training_loss")
    assert steps.tolist() == [500, 1000, 1500]
    assert np.allclose(values, [100.0, 50.0, 33.33])


def test_the_batch_accuracy_is_the_train_accuracy() -> None:
    steps, values = diagnose.load(JOEY2).arrays("train/acc")
    raw = [float(m.group(1)) for m in re.finditer(r"Batch Acc: ([\d.]+)",
                                                  JOEY2.read_text(encoding="utf-8"))]
    assert len(steps) == len(raw) and np.allclose(values, raw)


def test_per_epoch_records_under_a_history_key_are_the_history() -> None:
    """``{"history": [{"train_loss": ..., "val_loss": ...}, ...]}`` (a public audio model's
    loop, w62d): the word ``history`` says only what the list is, so the keys keep their names
    and the losses are found (they were ``history_train_loss``, unread)."""
    path = (REAL / "w62d-audiosent-fullrun" / "artifacts" / "artifacts_fullrun_final" /
            "history.json")
    records = json.loads(path.read_text())["history"]
    run = diagnose.load(path)
    for key, name in (("train_loss", "train/loss"), ("val_loss", "val/loss")):
        _, values = run.arrays(name)
        assert np.allclose(values, [r[key] for r in records]), key


def test_a_split_history_key_names_the_split(tmp_path: Path) -> None:
    rows = [{"loss": 1.0 / (e + 1), "accuracy": 0.5 + 0.04 * e} for e in range(6)]
    p = tmp_path / "history.json"
    p.write_text(json.dumps({"train_history": rows, "val_history": rows[::-1]}))
    run = diagnose.load(p)
    assert np.allclose(run.arrays("val/loss")[1], [r["loss"] for r in rows[::-1]])
    assert np.allclose(run.arrays("train/acc")[1], [r["accuracy"] for r in rows])


def test_a_numbered_section_heading_does_not_make_epochs_summaries(tmp_path: Path) -> None:
    """A script that heads its sections ``STEP 4: Training`` and prints a test line under
    ``STEP 5: Test evaluation`` counts no steps of training: its epoch lines are the records
    (an epoch line is an epoch's summary only right after a line with a step counter)."""
    lines = ["STEP 4: Training (5 epochs)"]
    lines += [f"Epoch {e}/5 | Train Loss: {1.5 / e:.4f} | Val Loss: {1.6 / e:.4f}"
              for e in range(1, 6)]
    lines += ["STEP 5: Test evaluation", "Test Loss: 0.3300 | Test Acc: 91.0%"]
    p = tmp_path / "training.log"
    p.write_text("\n".join(lines) + "\n")
    runs = diagnose.load_all(p)
    assert len(runs) == 1
    steps, values = runs[0].arrays("train/loss")
    assert steps.tolist() == [1, 2, 3, 4, 5]
    assert np.allclose(values, [1.5 / e for e in range(1, 6)], atol=1e-4)
