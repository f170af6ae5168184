"""cuda-convnet's console output, found unread in the public batch of wave 43 (w57a): a log of
minibatch lines ``1.12... logprob:  0.524114, 0.125000 (1.398 sec)`` and ``Test output``
banners had no line the text reader took for a record, so ``check`` found no run at all. Read,
its 223 one-batch tests showed why DG101 judged a long noisy validation loss by its luckiest
evaluation.

And a JSON list of per-step records dumped under a name of the script's own
(``training_log.json``: ``[{"step": 0, "train_loss": 4.75, "val_loss": 4.76, ...}, ...]``, w63d)
was not claimed by any reader: only a file named ``*history*`` or an object of lists was.

And a captioning log (w63a) counting its epochs from 0 and its steps from 0 to the printed total
inclusive (``Epoch [0/50], Step [8/8]``) had its steps collide (98 "repeated steps", the last
value of each kept), and its ``Avg Eval Loss: 7.08`` line was not read as the validation loss.

Values are checked against the raw file with a parser written here, not through the readers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

import diagnose
from diagnose.readers import keras_json
from test_wave48_readers import _check, _only_run

REAL = Path(__file__).resolve().parents[1] / "bench" / "real-runs"
CONVNET = next((REAL / "w57a-pipe-clamp-zeroinit").rglob("nohup.out"))


def _convnet(text: str) -> dict[str, list[tuple[int, float]]]:
    """(step, value) per name: minibatch k (in file order) at step k; each test at the step
    of the minibatch before it."""
    out: dict[str, list[tuple[int, float]]] = {}
    step, testing = 0, False
    for line in text.splitlines(keepends=True):
        if not line.endswith("\n"):
            break  # a torn last line
        if m := re.match(r"\d+\.\d+\.\.\. logprob:\s+([\d.]+), ([\d.]+) \(", line):
            step += 1
            out.setdefault("loss", []).append((step, float(m.group(1))))
            out.setdefault("error", []).append((step, float(m.group(2))))
            testing = False
        elif "Test output" in line:
            testing = True
        elif testing and (m := re.match(r"logprob:\s+([\d.]+), ([\d.]+)", line)):
            out.setdefault("val_loss", []).append((step, float(m.group(1))))
            out.setdefault("val_error", []).append((step, float(m.group(2))))
            testing = False
    return out


def test_a_cuda_convnet_log_is_read_with_its_tests_as_validation() -> None:
    raw = _convnet(CONVNET.read_text(encoding="utf-8"))
    assert len(raw["loss"]) > 1000 and len(raw["val_loss"]) > 200  # the log has what is tested
    run = _only_run(CONVNET)
    _check(run, "train/loss", raw["loss"])
    _check(run, "error", raw["error"])
    _check(run, "val/loss", raw["val_loss"])
    _check(run, "val_error", raw["val_error"])


def test_the_classes_are_the_size_of_the_softmax_layer() -> None:
    text = CONVNET.read_text(encoding="utf-8")
    sizes = re.findall(r"^Initialized softmax layer '\w+', producing (\d+) outputs$", text, re.M)
    assert len(sizes) == 1
    run = diagnose.load(CONVNET)
    assert run.params["num_classes"] == int(sizes[0])


def test_cuda_convnet2_lines_with_progress_and_top5_error(tmp_path: Path) -> None:
    """cuda-convnet2 prints the progress and a third value, the top-5 error."""
    lines = [f"1.{b} ({b / 10:.2f}%)... logprob:  {7.0 - b / 10:.6f}, {1 - b / 100:.6f}, "
             f"{0.99 - b / 100:.6f} (8.4 sec)" for b in range(6)]
    p = tmp_path / "convnet2.log"
    p.write_text("\n".join(lines) + "\n")
    run = diagnose.load(p)
    assert run.arrays("train/loss")[0].tolist() == [1, 2, 3, 4, 5, 6]
    assert np.allclose(run.arrays("train/loss")[1], [7.0 - b / 10 for b in range(6)])
    assert np.allclose(run.arrays("top5_error")[1], [0.99 - b / 100 for b in range(6)])


def test_noisy_tests_of_a_model_that_never_learned_are_a_flat_loss() -> None:
    """223 one-batch tests at 0.51 from first to last: the luckiest (0.37) is noise, and the
    run's train loss never moved (DG101)."""
    raw = _convnet(CONVNET.read_text(encoding="utf-8"))
    tests = np.array([v for _, v in raw["val_loss"]])
    first = tests[0]
    assert (first - tests.min()) / first > 0.1  # the lowest alone reads as progress
    assert abs(first - np.median(tests[1:])) / first < 0.05  # the level never moved
    result = diagnose.check(CONVNET)
    assert "DG101" in {f.rule for f in result.findings}


GROK = REAL / "w63d-grok-wd0" / "training_log_wd0.json"


def test_a_json_list_of_step_records_under_its_own_name_is_a_history() -> None:
    records = json.loads(GROK.read_text(encoding="utf-8"))
    assert len(records) > 100 and "step" in records[0]
    run = diagnose.load(GROK)
    for key, name in (("train_loss", "train/loss"), ("val_loss", "val/loss"),
                      ("val_acc", "val/acc")):
        steps, values = run.arrays(name)
        assert steps.tolist() == [r["step"] for r in records]
        assert np.allclose(values, [r[key] for r in records])


def test_a_table_of_final_results_is_not_a_history(tmp_path: Path) -> None:
    """One record per setting with no counter that counts up: a sweep's results, not a run."""
    sweep = [{"lr": lr, "epoch": 10, "val_loss": 1.0 / (1 + lr)} for lr in (0.1, 0.3, 1.0)]
    (tmp_path / "results.json").write_text(json.dumps(sweep))
    logged = [{"epoch": e, "val_loss": 1.0 / e} for e in (1, 2, 3)]
    (tmp_path / "log.json").write_text(json.dumps(logged))
    assert not keras_json.detect(tmp_path / "results.json")
    assert keras_json.detect(tmp_path / "log.json")


def test_late_overfitting_from_the_first_evaluation_gets_advice_that_fits() -> None:
    """Validation best at its first evaluation (step 0): "keep the checkpoint from step 0, or
    train for about 0 steps" was no advice."""
    records = json.loads(GROK.read_text(encoding="utf-8"))
    val = [r["val_loss"] for r in records]
    assert val.index(min(val)) == 0 and records[0]["step"] == 0
    found = [f for f in diagnose.check(GROK).findings if f.rule == "DG104"]
    assert len(found) == 1
    advice = found[0].next_experiment
    assert "about 0 steps" not in advice and "from step 0" not in advice
    assert "first evaluation" in found[0].cause


VRNN = REAL / "w63a-vrnn-caption-1024" / "logs" / "train1024eval256.txt"


def test_epochs_and_steps_from_zero_and_an_averaged_eval_loss() -> None:
    batches, evals = [], []
    for line in VRNN.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"Epoch \[(\d+)/\d+\], Step \[(\d+)/(\d+)\], Loss: ([\d.]+)", line):
            batches.append((int(m.group(1)), int(m.group(2)), int(m.group(3)), float(m.group(4))))
        elif m := re.match(r"Avg Eval Loss: ([\d.]+)", line):
            evals.append((batches[-1], float(m.group(1))))
    assert batches[0][:2] == (0, 0) and max(b[1] for b in batches) == batches[0][2]  # 0..total
    per_epoch = batches[0][2] + 1
    run = diagnose.load(VRNN)
    steps, values = run.arrays("train/loss")
    assert steps.tolist() == [e * per_epoch + k for e, k, _, _ in batches]  # no collisions
    assert np.allclose(values, [b[3] for b in batches])
    steps, values = run.arrays("val/loss")
    assert steps.tolist() == [b[0] * per_epoch + b[1] for b, _ in evals]
    assert np.allclose(values, [v for _, v in evals])
    assert not any("repeated step" in w for w in run.warnings)
