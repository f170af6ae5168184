"""The free-text log reader (``diagnose.readers.textlog``).

Fixtures are the real stdout of real training runs (``fixtures/make_text_fixtures.py``):
every value read back is compared with the run's own record in ``expected.json`` (Keras's
``History.history``, the Trainer's ``log_history``, the numbers a loop formatted), formatted
the way the tool printed it. Logs other people committed to GitHub
(``tests/data/textlogs``, see its SOURCES.md) are checked against their raw text with
regular expressions written here, not through the reader.
"""

from __future__ import annotations

import ast
import json
import math
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import diagnose
from diagnose import ReadError
from diagnose.cli import main
from diagnose.readers import textlog

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "fixtures" / "formats" / "textlog"
REAL = ROOT / "tests" / "data" / "textlogs"

#: the names each tool printed -> the names the rules read (written out here, on purpose)
KERAS = {"loss": "train/loss", "accuracy": "train/acc", "val_loss": "val/loss",
         "val_accuracy": "val/acc"}
LOOPS = {"loss": "train/loss", "acc": "train/acc", "val_loss": "val/loss", "val_acc": "val/acc",
         "Train Loss": "train/loss", "Val Loss": "val/loss", "Val Acc": "val/acc",
         "train_loss": "train/loss"}


def _expected(case: str) -> dict[str, Any]:
    return json.loads((CASES / case / "expected.json").read_text())


def _same(a: Any, b: Any) -> bool:
    """Equal arrays, NaN equal to NaN."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


def _keras_printed(v: float) -> float:
    """What Keras's progress bar printed for ``v``."""
    return float(f"{v:.4f}" if abs(v) > 1e-3 else f"{v:.4e}")


def _as_printed(run: diagnose.Run, case: str, names: dict[str, str], fmt: str) -> None:
    """Every series the loop of ``case`` printed is read as printed, at the step printed."""
    for name, rec in _expected(case)["runs"][0]["metrics"].items():
        steps, values = run.arrays(names[name])
        assert steps.tolist() == rec["steps"], name
        assert _same(values, [float(format(v, fmt)) for v in rec["values"]]), name


def _load(case: str) -> list[diagnose.Run]:
    path = CASES / case / "train.log"
    assert textlog.detect(path)
    return diagnose.load_all(path)


# -- the fixtures, value for value --------------------------------------------------------------


@pytest.mark.parametrize("case", ["keras3_verbose1", "keras3_verbose2", "keras3_tty"])
def test_keras_fit_stdout_one_point_per_epoch(case: str) -> None:
    (run,) = _load(case)
    metrics = _expected(case)["runs"][0]["metrics"]
    assert set(metrics) == set(KERAS)
    for name, rec in metrics.items():
        steps, values = run.arrays(KERAS[name])
        assert steps.tolist() == rec["steps"]
        assert _same(values, [_keras_printed(v) for v in rec["values"]]), name
        assert run.steps_are_epochs(KERAS[name])
    assert run.format == "keras" and not run.in_progress


def test_verbose1_reads_the_final_record_not_the_first_redraw() -> None:
    """verbose=1 redraws each epoch's line (``\\r``, backspaces): the first draw's values
    (one batch in) are not the epoch's."""
    raw = (CASES / "keras3_verbose1" / "train.log").read_bytes()
    assert b"\x08" in raw and b"\r" in raw  # the real bytes of a redrawn bar
    (run,) = _load("keras3_verbose1")
    first_draw = re.search(rb" 1/\d+\x1b\[0m [^\r\n]*? - loss: ([\d.]+)", raw)
    assert first_draw is not None
    assert float(first_draw.group(1)) not in run.arrays("train/loss")[1].tolist()


def test_on_a_terminal_the_epoch_is_the_last_drawing_of_the_full_bar() -> None:
    """On a terminal (a slow model: the bar drawn at every batch) Keras draws the bar at its
    total twice per epoch: at the last batch with the train values, then with the validation
    values once the epoch ends. The first full drawing is not the epoch's record (a public
    Keras log read so kept no validation curve at all)."""
    raw = (CASES / "keras3_tty" / "train.log").read_bytes()
    plain = re.sub(rb"\x1b\[[0-9;]*m", b"", raw)
    full = re.findall(rb"15/15 [^\r\n]*", plain)
    assert any(b"val_loss" not in f for f in full) and any(b"val_loss" in f for f in full)
    (run,) = _load("keras3_tty")
    assert run.arrays("val/loss")[0].tolist() == list(range(8))


def test_hf_trainer_steps_from_the_progress_bar() -> None:
    (run,) = _load("hf_trainer")
    history = _expected("hf_trainer")["runs"][0]["log_history"]
    train = [e for e in history if "loss" in e and "train_runtime" not in e]
    evals = [e for e in history if "eval_loss" in e]
    assert len(train) >= 5 and len(evals) == 3
    for key, name, entries in (("loss", "train/loss", train), ("grad_norm", "grad_norm", train),
                               ("learning_rate", "lr", train), ("eval_loss", "val/loss", evals),
                               ("eval_accuracy", "val/acc", evals)):
        steps, values = run.arrays(name)
        assert steps.tolist() == [e["step"] for e in entries], name
        assert _same(values, [float(f"{e[key]:.4g}") for e in entries]), name
    assert "train_runtime" not in " ".join(run.metric_names)  # the summary is no curve
    assert not [w for w in run.warnings if "derived" in w]


def test_hf_without_bars_derives_steps_from_the_epoch_and_says_so(tmp_path: Path) -> None:
    """The same dict lines without the tqdm text: steps from the epoch, with a note."""
    raw = (CASES / "hf_trainer" / "train.log").read_text(encoding="utf-8")
    dicts = [m.group(0) for m in re.finditer(r"\{'[^\n]*\}", raw)]
    path = tmp_path / "nohup.out"
    path.write_text("\n".join(dicts) + "\n")
    (run,) = diagnose.load_all(path)
    history = _expected("hf_trainer")["runs"][0]["log_history"]
    losses = [float(f"{e['loss']:.4g}") for e in history if "loss" in e]
    assert _same(run.arrays("train/loss")[1], losses)
    steps = run.arrays("train/loss")[0]
    assert (np.diff(steps) > 0).all()
    assert any("epoch" in w and "not optimizer steps" in w for w in run.warnings)
    # evaluations sit between the train records around them, as in the log
    val_steps = run.arrays("val/loss")[0]
    assert len(val_steps) == 3 and steps[0] < val_steps[0] < steps[-1]


@pytest.mark.parametrize("case, fmt", [("torch_tutorial", ".4f"), ("torch_tutorial_per_epoch", ".4f"),
                                       ("logging_timestamps", None),
                                       ("epoch_bracket", ".4f"), ("iter_diverges", ".4f")])
def test_hand_written_loops(case: str, fmt: str | None) -> None:
    (run,) = _load(case)
    for name, rec in _expected(case)["runs"][0]["metrics"].items():
        f = fmt or (".1f" if name == "Val Acc" else ".4f")
        steps, values = run.arrays(LOOPS[name])
        assert steps.tolist() == rec["steps"], name
        assert _same(values, [float(format(v, f)) for v in rec["values"]]), name


def test_word_language_model_counts_batches_not_ms_per_batch() -> None:
    """PyTorch's word language model example prints ``| epoch   1 |    10/   87 batches | lr
    20.00 | ms/batch 95.09 | loss  3.03 |``: the step is the batch count before its word
    within the epoch, never the ``45`` of ``ms/batch 45.12`` (which put every record of an
    epoch at one step, so only its last value was kept), and the epoch's validation line sits
    at the epoch's last train record."""
    (run,) = _load("word_language_model")
    names = {"loss": "train/loss", "val_loss": "val/loss"}
    for name, rec in _expected("word_language_model")["runs"][0]["metrics"].items():
        steps, values = run.arrays(names[name])
        assert steps.tolist() == rec["steps"], name
        assert _same(values, [float(format(v, "5.2f")) for v in rec["values"]]), name

def test_finetune_tutorial_lines_take_the_epoch_of_the_line_above() -> None:
    """``Epoch 3/24``, dashes, then ``train Loss: .. Acc: ..`` and ``val Loss: .. Acc: ..``
    with no counter of their own (PyTorch's fine-tuning tutorial): every value is read at the
    epoch that heads it, the accuracy of each line with its phase."""
    (run,) = _load("torch_finetune")
    names = {"train Loss": "train/loss", "train Acc": "train/acc", "val Loss": "val/loss",
             "val Acc": "val/acc"}
    _as_printed(run, "torch_finetune", names, ".4f")
    assert "best_val_acc" not in run.metric_names or len(run.series("best_val_acc")) == 1


@pytest.mark.parametrize("case, names", [
    ("argparse_namespace", {"loss": "train/loss", "val_loss": "val/loss", "val_acc": "val/acc"}),
    ("logging_settings", {"Train Loss": "train/loss", "Val Loss": "val/loss"})])
def test_printed_settings_are_params(case: str, names: dict[str, str]) -> None:
    """What a script printed before its first record (argparse's ``Namespace``, settings logged
    one per line) becomes the run's params, value for value, so advice quotes the run's own
    learning rate and the chance level its class count; non-literal values (a
    ``torch.device``) and lines that are not knobs (``model: mlp-16``) are left out."""
    (run,) = _load(case)
    rec = _expected(case)["runs"][0]
    _as_printed(run, case, names, ".4f")
    assert run.params == rec["params"]
    assert diagnose.features.compute(["num_classes"], diagnose.features.RunContext(run))["num_classes"] == \
        rec["params"]["num_classes"]
    assert any("params read from the settings" in w for w in run.warnings)


@pytest.mark.parametrize("head", ["config: " + "{" * 50_000, "{'lr': " + "[" * 50_000 + "]" * 50_000 + "}",
                                  'config: {"lr": ' + "[" * 20_000 + "]" * 20_000 + "}",
                                  "Namespace(" + "(" * 50_000 + ")", "args: {'lr': __import__('os')}",
                                  "Namespace(lr=open('/etc/passwd').read())"],
                         ids=["deep-braces", "deep-py-list", "deep-json", "deep-namespace", "call-in-dict",
                              "call-in-namespace"])
def test_printed_settings_never_evaluate_or_crash(tmp_path: Path, head: str) -> None:
    """A damaged or hostile settings line (nesting past any stack, a call where a value should
    be) gives no params and the records still read: nothing printed is evaluated."""
    body = "".join(f"epoch {e} | loss {1 / e:.4f}\n" for e in range(1, 6))
    path = tmp_path / "train.log"
    path.write_text(head + "\n" + body)
    (run,) = diagnose.load_all(path)
    assert run.arrays("train/loss")[0].tolist() == [1, 2, 3, 4, 5]
    assert "lr" not in run.params


def test_split_and_epoch_lead_the_line() -> None:
    """``Train 3, loss: ..`` / ``Test 3, loss: ..`` (DGCNN's loop): each line's split names its
    unprefixed values, so the test loss is the held-out loss, not a second train loss."""
    (run,) = _load("phase_counter")
    names = {"train loss": "train/loss", "train acc": "train/acc", "test loss": "val/loss",
             "test acc": "val/acc"}
    _as_printed(run, "phase_counter", names, ".6f")


def test_bare_split_words_carry_the_losses() -> None:
    """``Epoch   3/12 | Train 0.4120 | Val 0.4410 | Dice 0.812``: a loop that prints each split's
    loss under the split's bare name was read as a Dice curve only, with no loss at all; the
    ``Train: 240 | Val: 80`` line of sizes before it adds no point."""
    (run,) = _load("bare_split")
    _as_printed(run, "bare_split", {"Train": "train/loss", "Val": "val/loss"}, ".4f")


def test_public_bare_split_log_is_read() -> None:
    """A public language-model log (bench/real-runs/w50a-seopseop-transformer, tuning half) prints
    ``[Step  500/159210] Train 9.6801 | Val~20% 9.6793``: it was "no training runs found"; its
    train loss is read at every printed step."""
    path = ROOT / "bench" / "real-runs" / "w50a-seopseop-transformer" / "runs" / "train.log"
    want = [(int(m.group(1)), float(m.group(2))) for m in
            re.finditer(r"\[Step +(\d+)/\d+\] Train ([\d.]+) ", path.read_text())]
    (run,) = diagnose.load_all(path)
    steps, values = run.arrays("train/loss")
    assert list(zip(steps.tolist(), values.tolist())) == want and len(want) > 10


@pytest.mark.parametrize("line", [
    "epoch {e} | loss 0.{e}1 | train 0.8{e} | val 0.7{e}",  # a loss is named: bare words are not it
    "epoch {e} | train 8{e}.1% | val 7{e}.5%",  # percentages: accuracies
    "epoch {e} | train {e}00 | val {e}0",  # whole numbers: counts
])
def test_bare_split_words_are_no_loss_when_the_line_says_otherwise(line: str) -> None:
    text = "".join(line.format(e=e) + "\n" for e in range(1, 6))
    names = {n for r in textlog.parse(text).records for n, _ in r.values}
    assert not {"train_loss", "val_loss"} & names


def test_bare_split_words_keep_a_loss_that_turned_nan() -> None:
    """``Train nan | Val nan`` after finite epochs is a diverged loss, not a count: it stays a
    point of each split's loss, so the NaN is judged."""
    text = "".join(f"Epoch {e}/9 | Train {t} | Val {v}\n" for e, (t, v) in
                   enumerate([("0.91", "0.82"), ("0.73", "0.75"), ("nan", "nan"), ("nan", "nan")], 1))
    values = {n: [v for r in textlog.parse(text).records for m, v in r.values if m == n]
              for n in ("train_loss", "val_loss")}
    for got in values.values():
        assert got[:2] == sorted(got[:2], reverse=True) and len(got) == 4
        assert all(math.isnan(v) for v in got[2:])


def test_a_markdown_report_with_tensors_printed_whole_is_read() -> None:
    """A loop that writes its log as markdown (``#### Epoch 3/11`` over ``train loss: ..,
    acc: tensor(0.8800, dtype=torch.float64)<br>``): ``.md`` files were never opened, and a
    tensor printed whole made the line prose; every value is read at its epoch, the accuracy
    as torch printed it."""
    path = CASES / "markdown_tensor" / "train.md"
    assert textlog.detect(path)
    (run,) = diagnose.load_all(CASES / "markdown_tensor")
    for name, rec in _expected("markdown_tensor")["runs"][0]["metrics"].items():
        split, metric = name.split()
        steps, values = run.arrays(f"{split}/{metric}")
        assert steps.tolist() == rec["steps"], name
        assert _same(values, [float(format(v, ".6f" if metric == "loss" else ".4f"))
                              for v in rec["values"]]), name


def test_public_markdown_log_is_read() -> None:
    """A public ResNet-50 log written as markdown (bench/real-runs/w55a-hh-resnet50-sgd, tuning
    half), its accuracies printed as ``tensor(0.6858, device='cuda:0', dtype=torch.float64)``:
    it was "no training runs found"; both losses and accuracies are read at every epoch."""
    path = ROOT / "bench" / "real-runs" / "w55a-hh-resnet50-sgd" / "classifier" / "exps" / "logs"
    text = (path / "resnet50_sgd.md").read_text()
    (run,) = diagnose.load_all(path)
    for split in ("train", "val"):
        want = [(float(a), float(b)) for a, b in re.findall(
            rf"^{split} loss: ([\d.]+), acc: tensor\(([\d.]+), device", text, re.M)]
        got = list(zip(run.arrays(f"{split}/loss")[1].tolist(), run.arrays(f"{split}/acc")[1].tolist()))
        assert got == want and len(want) > 40


def test_a_readme_with_a_few_lines_of_example_output_is_no_run(tmp_path: Path) -> None:
    """A README showing what training prints is no run: a markdown file is claimed only with
    many records (the same lines in a ``.log`` are one)."""
    lines = "".join(f"Epoch   {e}/50 | Train Loss: 0.{9 - e}23 | Val Loss: 0.{9 - e}91\n"
                    for e in range(1, 5))
    text = f"# Segmenter\n\nTrain with `python train.py`. Expected output:\n\n```\n{lines}...\n```\n"
    (tmp_path / "README.md").write_text(text)
    assert not textlog.detect(tmp_path / "README.md")
    (tmp_path / "README.md").rename(tmp_path / "train.log")
    assert textlog.detect(tmp_path / "train.log")


def test_a_row_index_before_the_epoch_is_no_summary() -> None:
    """``index:   3,epoch:  3 train_loss:..``: the index printed before the counter is not a
    metric's value, so the line is a record (a summary such as ``best val_loss 0.41 at epoch
    7`` still is not)."""
    (run,) = _load("index_epoch")
    _as_printed(run, "index_epoch", {"train_loss": "train/loss", "val_loss": "val/loss",
                                     "train_acc": "train/acc", "val_acc": "val/acc"}, "f")
    assert not any("index" in n for n in run.metric_names)


def test_a_summary_with_the_metric_before_the_epoch_adds_no_point(tmp_path: Path) -> None:
    """``Best model: val_loss 0.0123 at epoch 3`` after the records: a metric's value before the
    counter is a summary, not a record, so validation keeps the points the loop printed (read
    as a record, it replaced epoch 3's value), and no ``best_val_loss`` curve appears."""
    (run,) = _load("index_epoch")
    path = tmp_path / "train.log"
    path.write_text((CASES / "index_epoch" / "train.log").read_text()
                    + "Best model: val_loss 0.0123 at epoch 3\nbest val_loss 0.0123 at epoch 3\n")
    (with_summary,) = diagnose.load_all(path)
    assert _same(with_summary.arrays("val/loss"), run.arrays("val/loss"))
    assert with_summary.metric_names == run.metric_names


def test_a_timing_line_under_the_epoch_keeps_its_block_open() -> None:
    """``Epoch 3/8`` then ``Epoch time: 0.41s`` then the phase lines: the timing is part of
    the block, the values take the epoch above; the summary after training adds no point."""
    (run,) = _load("epoch_timing_block")
    _as_printed(run, "epoch_timing_block", {"Train Loss": "train/loss", "Train Acc": "train/acc",
                                            "Val Loss": "val/loss", "Val Acc": "val/acc"}, ".4f")


def test_a_table_under_a_header_of_column_names_is_read() -> None:
    """``Epoch    Train Loss   Train Acc    Test Loss ...``, a rule of dashes, then fixed-width
    rows with the seconds and their unit: each column is read at the epoch its row prints
    (the held-out "test" columns as validation), and the settings printed in words above it
    (``Learning rate: 0.1``, ``Number of classes: 2``) are the run's params."""
    (run,) = _load("epoch_table")
    _as_printed(run, "epoch_table", {"Train Loss": "train/loss", "Train Acc": "train/acc",
                                     "Test Loss": "val/loss", "Test Acc": "val/acc"}, ".4f")
    assert run.params == _expected("epoch_table")["runs"][0]["params"]
    assert not any("time" in n for n in run.metric_names)


def test_a_public_table_log_is_read_with_its_class_count() -> None:
    """A public graph classifier's log (bench/real-runs/w52a-enzymes-gcn, tuning half) prints
    its curves only as such a table: it was "no training runs found". Every row is a point,
    and ``Number of classes: 6`` printed above it is K."""
    path = ROOT / "bench" / "real-runs" / "w52a-enzymes-gcn" / "training_output.log"
    rows = re.findall(r"^(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+[\d.]+\s+s$",
                      path.read_text(), re.M)
    (run,) = diagnose.load_all(path)
    assert run.arrays("train/loss")[0].tolist() == [int(r[0]) for r in rows] and len(rows) == 21
    for k, name in enumerate(("train/loss", "train/acc", "val/loss", "val/acc"), start=1):
        assert run.arrays(name)[1].tolist() == [float(r[k]) for r in rows], name
    ctx = diagnose.features.RunContext(run)
    assert diagnose.features.compute(["num_classes"], ctx)["num_classes"] == 6


def test_a_short_epoch_word_with_its_total_is_the_counter(tmp_path: Path) -> None:
    """``E  3/500 | Loss:0.41`` (a public tile-defect classifier, bench/real-runs/w52a-resgat-tile,
    tuning half, was "no training runs found") and ``Ep 3/50 loss 0.41``: the epoch, read only
    with its total (an ``eps: 1e-08`` setting is no counter)."""
    path = ROOT / "bench" / "real-runs" / "w52a-resgat-tile" / "training_output.log"
    want = [(int(e), float(v)) for e, v in
            re.findall(r"^\W*E\s*(\d+)/500 \| Loss:([\d.]+)", path.read_text(encoding="utf-8"), re.M)]
    (run,) = diagnose.load_all(path)
    steps, values = run.arrays("train/loss")
    assert list(zip(steps.tolist(), values.tolist())) == want and len(want) == 500
    mine = tmp_path / "train.log"
    mine.write_text("eps: 1e-08\n" + "".join(f"Ep {e}/50 loss {1 / e:.4f}\n" for e in range(1, 6)))
    (run,) = diagnose.load_all(mine)
    assert run.arrays("train/loss")[0].tolist() == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("text", [
    # a header whose rows are words: a results table in a README, not a training table
    "Epoch    Loss    Accuracy\n" + "".join(f"{e}    see the plot    below\n" for e in range(1, 6)),
    # the counter is not the first column: a table of models
    "Model    Loss    Accuracy\n" + "".join(f"{e}    {1 / e:.3f}    0.{e}\n" for e in range(1, 6)),
    # rows with fewer numbers than the header has columns
    "Epoch    Train Loss    Val Loss\n" + "".join(f"{e}    {1 / e:.3f}\n" for e in range(1, 6)),
])
def test_text_that_only_looks_like_a_table_is_not_a_log(tmp_path: Path, text: str) -> None:
    path = tmp_path / "notes.txt"
    path.write_text(text)
    assert not textlog.detect(path)
    with pytest.raises(ReadError):
        textlog.read(path)


@pytest.mark.parametrize("run_id, labels", [("w51a-flowers-cls-10ep", {"generalization_gap"}),
                                            ("w51a-sst2-transformer", {"late_overfitting",
                                                                       "generalization_gap"})])
def test_public_index_and_timing_logs_are_read(run_id: str, labels: set[str]) -> None:
    """Two public logs of these shapes (bench/real-runs, tuning half) were "no training runs
    found"; each line's values are read at its epoch, and the run gets its labelled patterns."""
    (path,) = [p for p in (ROOT / "bench" / "real-runs" / run_id).rglob("*") if p.is_file()]
    text = path.read_text()
    want = [float(v) for v in re.findall(r"(?:train_loss:|Train Loss: )([\d.]+)", text)]
    (run,) = diagnose.load_all(path)
    assert run.arrays("train/loss")[1].tolist() == want and len(want) == 10
    found = {f.pattern for f in diagnose.check(path).findings if f.severity in ("warning", "error")}
    assert found == labels


def test_public_dgcnn_log_is_read() -> None:
    """A public DGCNN ModelNet log (bench/real-runs/w50a-dgcnn-modelnet, tuning half) prints
    only its ``Train N, loss: ..`` lines: it was "no training runs found"; every line is a
    point, at the epoch it prints."""
    path = ROOT / "bench" / "real-runs" / "w50a-dgcnn-modelnet" / "checkpoints" / "train.log"
    want = [(int(m.group(1)), float(m.group(2))) for m in
            re.finditer(r"^Train (\d+), loss: ([\d.]+),", path.read_text(), re.M)]
    (run,) = diagnose.load_all(path)
    steps, values = run.arrays("train/loss")
    assert list(zip(steps.tolist(), values.tolist())) == want and len(want) > 10


def test_pretty_printed_config_dict_is_params() -> None:
    """A public crystal-graph regression log (bench/real-runs/w47c-cgcnn-aws, tuning half)
    pretty-prints its parsed arguments over many lines, one of them ``'device':
    device(type='cpu')`` (not a literal): the other entries are read, the device is not."""
    path = ROOT / "bench" / "real-runs" / "w47c-cgcnn-aws" / "test_result_CGCNN" / "R2_0.9384" / \
        "readme_output_aws.txt"
    text = path.read_text()
    start = text.index("Parsed arguments:\n") + len("Parsed arguments:\n")
    block = text[start:text.index("}", start) + 1]
    entries = {}
    for line in block.strip("{}").splitlines():
        key, _, value = line.strip().rstrip(",").partition(": ")
        try:
            entries[ast.literal_eval(key)] = ast.literal_eval(value)
        except ValueError:
            assert "device(" in value
    (run,) = diagnose.load_all(path)
    assert {k: run.params.get(k) for k in entries} == entries
    assert "device" not in run.params and run.param("learning_rate") == entries["learning_rate"]


def test_tutorial_step_is_global_across_epochs() -> None:
    (run,) = _load("torch_tutorial")
    raw = (CASES / "torch_tutorial" / "train.log").read_text()
    want = [(int(e) - 1) * int(n) + int(i) for e, i, n in
            re.findall(r"Epoch \[(\d+)/\d+\], Step \[(\d+)/(\d+)\]", raw)]
    assert run.arrays("train/loss")[0].tolist() == want
    assert want[-1] > int(re.findall(r"Step \[\d+/(\d+)\]", raw)[0])  # beyond one epoch


def test_percent_accuracy_kept_as_logged_and_noted() -> None:
    (run,) = _load("logging_timestamps")
    vals = run.arrays("val/acc")[1]
    assert vals.max() > 1  # 91.3 stays 91.3
    assert any("percent" in w for w in run.warnings)


def test_timestamps_and_config_lines_are_never_values() -> None:
    (run,) = _load("logging_timestamps")
    assert set(run.metric_names) == {"train/loss", "val/loss", "val/acc"}
    assert run.arrays("train/loss")[0].tolist() == list(range(1, 9))


def test_validation_lines_take_the_step_of_their_epoch() -> None:
    (run,) = _load("epoch_bracket")
    assert run.arrays("val/loss")[0].tolist() == run.arrays("train/loss")[0].tolist()


def test_nan_is_kept_as_a_value() -> None:
    (run,) = _load("iter_diverges")
    raw = (CASES / "iter_diverges" / "train.log").read_text()
    assert np.isnan(run.arrays("train/loss")[1]).sum() == raw.count("loss nan") > 0


def test_appended_runs_are_split() -> None:
    runs = _load("appended")
    expected = _expected("appended")["runs"]
    assert [r.id for r in runs] == ["appended#1", "appended#2"]
    for run, exp in zip(runs, expected):
        for name, rec in exp["metrics"].items():
            steps, values = run.arrays(LOOPS[name])
            assert steps.tolist() == rec["steps"]
            assert _same(values, [float(f"{v:.3f}") for v in rec["values"]])
        assert any(f"run {runs.index(run) + 1} of 2" in w for w in run.warnings)


def test_cli_check_reads_and_judges_a_log() -> None:
    r = CliRunner().invoke(main, ["check", str(CASES / "iter_diverges" / "train.log")],
                           catch_exceptions=False)
    assert "iter_diverges" in r.output and "textlog" in r.output
    assert "no training log found" not in r.output
    assert "DG102" in r.output and r.exit_code == 1  # NaN after a climb: an explosion
    ok = CliRunner().invoke(main, ["check", str(CASES / "keras3_verbose2" / "train.log")],
                            catch_exceptions=False)
    assert "keras3_verbose2" in ok.output and "keras" in ok.output


# -- what is not a training log ---------------------------------------------------------------

README = """# my-project

Train a ResNet-50 for 90 epochs. Step 1: install. Step 2: run `python train.py`.
Epoch 3 is where the loss drops to 0.5 for most people, and accuracy reaches 81.2%.
At step 100 the loss was 2.3; at step 200 the loss was 1.9; at step 300 the loss was 1.5.
See the paper (2023-01-01) for details; results on 12/100 runs were similar.
"""

CONFIG = """model: resnet50
epochs: 90
batch_size: 256
lr: 0.1
loss: cross_entropy
train:
  step: 1
  log_every: 100
eval:
  step: 2
  acc_threshold: 0.8
optimizer:
  iter: 3
  weight_decay: 0.0001
"""


@pytest.mark.parametrize("name, text", [("README.txt", README), ("notes.log", README),
                                        ("config.txt", CONFIG), ("config.log", CONFIG)])
def test_prose_and_configs_are_not_claimed(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    assert not textlog.detect(path)
    with pytest.raises(ReadError, match="no training log found"):
        diagnose.load_all(path)


def test_a_csv_with_a_header_stays_the_csv_readers(tmp_path: Path) -> None:
    path = tmp_path / "training.log"
    path.write_text("epoch,loss,val_loss\n0,0.9,1.0\n1,0.7,0.8\n2,0.5,0.7\n3,0.4,0.7\n")
    assert not textlog.detect(path)
    (run,) = diagnose.load_all(path)
    assert run.format in ("keras", "csv")


def test_a_word_soup_of_metric_words_is_not_claimed(tmp_path: Path) -> None:
    """Lines of metric words and numbers in random order: counters that go up and down
    alike are no training log, however many "records" the lines make."""
    rng = np.random.default_rng(0)
    words = ["loss", "acc", "epoch", "step", "the", "value", "12", "3", "0.5", "val", "train",
             "=", ":", "lr"]
    path = tmp_path / "output.log"
    path.write_text("\n".join(" ".join(rng.choice(words, 12)) for _ in range(3000)) + "\n")
    assert textlog.parse(path.read_text()).records  # it does look like records, line by line
    assert not textlog.detect(path)


def test_binary_junk_is_not_claimed(tmp_path: Path) -> None:
    path = tmp_path / "train.log"
    path.write_bytes(bytes(range(256)) * 40)
    assert not textlog.detect(path)


def test_bad_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    src = (CASES / "epoch_bracket" / "train.log").read_bytes()
    lines = src.split(b"\n")
    junk = [b"\x00\x13\xff\xfe binary \x01 junk", b"INFO:root:[Epoch 9] loss \x00\x7f"]
    damaged = b"\n".join(lines[:4] + junk + lines[4:-1]) + b"\nINFO:root:[Epoch 7] lo"
    path = tmp_path / "train.log"
    path.write_bytes(damaged)
    (run,) = diagnose.load_all(path)
    (clean,) = _load("epoch_bracket")
    for name in clean.metric_names:
        assert _same(run.arrays(name)[1], clean.arrays(name)[1]), name
    assert any(f"{len(junk)} unreadable line(s)" in w for w in run.warnings)
    assert any("no newline" in w and "torn" in w for w in run.warnings)
    assert run.in_progress


def test_a_claimed_file_with_no_records_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "train.log"
    path.write_bytes(b"\x00\x01\x02\nnothing here\n")
    with pytest.raises(ReadError) as e:
        textlog.read(path)
    assert str(path) in str(e.value) and "line 1" in str(e.value)


def test_a_nan_line_in_a_hand_written_loop(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    path.write_text("".join(f"Epoch {e}/5, Train Loss: {v}, Val Loss: {w}\n" for e, v, w in
                            [(1, "0.9", "1.0"), (2, "0.7", "0.9"), (3, "nan", "inf"),
                             (4, "nan", "nan")]))
    (run,) = diagnose.load_all(path)
    assert _same(run.arrays("train/loss")[1], [0.9, 0.7, math.nan, math.nan])
    assert _same(run.arrays("val/loss")[1], [1.0, 0.9, math.inf, math.nan])


def test_test_split_read_as_validation_when_alone(tmp_path: Path) -> None:
    path = tmp_path / "output.log"
    path.write_text("".join(f"epoch {e} | loss {0.9 - e / 10:.2f} | test acc {0.5 + e / 20:.2f}\n"
                            for e in range(1, 5)))
    (run,) = diagnose.load_all(path)
    assert run.arrays("val/acc")[1].tolist() == [0.55, 0.6, 0.65, 0.7]
    assert any("'test_acc' read as validation" in w for w in run.warnings)


# -- logs other people committed ----------------------------------------------------------------


def _real(name: str) -> list[diagnose.Run]:
    path = REAL / name
    assert textlog.detect(path)
    return diagnose.load_all(path)


KERAS2 = re.compile(r"Epoch (\d+)/\d+\n\d+/\d+ \[=+\] - [^\n]*?- loss: ([\d.]+) - acc: ([\d.]+)"
                    r" - val_loss: ([\d.]+) - val_acc: ([\d.]+)")


@pytest.mark.parametrize("name", ["catdog-keras2.log", "dnnrepair-keras2-checkpoints.txt"])
def test_real_keras2_logs(name: str) -> None:
    (run,) = _real(name)
    rows = KERAS2.findall((REAL / name).read_text())
    assert len(rows) >= 19
    for col, metric in enumerate(("train/loss", "train/acc", "val/loss", "val/acc"), start=1):
        steps, values = run.arrays(metric)
        assert steps.tolist() == [int(r[0]) - 1 for r in rows]
        assert values.tolist() == [float(r[col]) for r in rows]


def test_real_tutorial_style_log() -> None:
    (run,) = _real("cvnd-captioning-steps.txt")
    rows = re.findall(r"Epoch \[(\d+)/\d+\], Step \[(\d+)/(\d+)\], Loss: ([\d.]+), "
                      r"Perplexity: ([\d.]+)", (REAL / "cvnd-captioning-steps.txt").read_text())
    assert len(rows) > 4000
    steps, values = run.arrays("train/loss")
    assert steps.tolist() == [(int(e) - 1) * int(n) + int(i) for e, i, n, _, _ in rows]
    assert values.tolist() == [float(r[3]) for r in rows]
    assert run.arrays("perplexity")[1].tolist() == [float(r[4]) for r in rows]


def test_real_logging_log_with_many_lines_per_epoch() -> None:
    """``Epoch N - Batch loss: x`` many times an epoch and no step: every batch kept, the
    records numbered in file order as steps (the epoch beside them), said in a note."""
    (run,) = _real("t5-finetune-logging.log")
    text = (REAL / "t5-finetune-logging.log").read_text()
    batches = [(int(e), float(v)) for e, v in re.findall(r"- Epoch (\d+) - Batch loss: ([\d.]+)", text)]
    steps, values = run.arrays("train/loss")
    assert values.tolist() == [v for _, v in batches]
    assert (np.diff(steps) > 0).all()
    rows = run.metrics[run.metrics["metric"] == "train/loss"].sort_values("step")
    assert rows["epoch"].tolist() == [float(e) for e, _ in batches]
    avg = [float(v) for v in re.findall(r"Average Train Loss: ([\d.]+)", text)]
    s_avg, v_avg = run.arrays("average_train_loss")
    assert v_avg.tolist() == avg
    # each epoch's average comes after that epoch's batches, before the next epoch's
    ends = [int(steps[rows["epoch"].to_numpy() == e].max()) for e in sorted({e for e, _ in batches})]
    assert all(a > end for a, end in zip(s_avg, ends))
    assert any("numbered in file order" in w for w in run.warnings)


def test_real_hf_trainer_log_with_two_trainings() -> None:
    runs = _real("wikitext-hf-trainer.txt")
    text = (REAL / "wikitext-hf-trainer.txt").read_text()
    first, second = text.split("'train_runtime'", 1)
    assert [r.id for r in runs] == ["wikitext-hf-trainer#1", "wikitext-hf-trainer#2"]
    for run, part in zip(runs, (first, second)):
        # the Trainer's own lines start with the dict (the script's ``eval_results= {...}``
        # at the end is not one)
        losses = [float(v) for v in re.findall(r"^\{'loss': ([\d.e-]+)", part, re.M)]
        evals = [float(v) for v in re.findall(r"^\{'eval_loss': ([\d.e-]+)", part, re.M)]
        assert run.arrays("train/loss")[1].tolist() == losses
        assert run.arrays("val/loss")[1].tolist() == evals
    f1 = [float(v) for v in re.findall(r"^\{'eval_loss'.*'eval_f1': ([\d.e-]+)", second, re.M)]
    assert runs[1].arrays("val/f1")[1].tolist() == f1


@pytest.mark.parametrize("name", ["llama-finetune-no-metrics.log", "sst-one-epoch.log"])
def test_real_logs_without_a_curve_are_not_claimed(name: str, tmp_path: Path) -> None:
    assert not textlog.detect(REAL / name)
    shutil.copy(REAL / name, tmp_path / name)
    with pytest.raises(ReadError, match="no training log found"):
        diagnose.load_all(tmp_path / name)


def test_a_public_keras_run_logged_through_tqdm_and_logging_is_read() -> None:
    """A public Keras run (bench/real-runs/w47c-pokemon-cnn, 150 classes) logged through
    ``logging``: ``Epoch 1:`` on a line of its own, then ``loss=4.8177, accuracy=0.0190,`` and
    ``val_loss=4.3607, val_accuracy=0.0425`` without a counter, between tqdm bars that repeat
    them rounded. It was not read at all; each epoch's values are the lines under its header."""
    path = ROOT / "bench" / "real-runs" / "w47c-pokemon-cnn" / "train_log.txt"
    text = path.read_text()
    logged = [float(v) for v in re.findall(r"INFO - val_loss=([0-9.]+), val_accuracy", text)]
    trained = [float(v) for v in re.findall(r"INFO - loss=([0-9.]+), accuracy", text)]
    assert len(logged) == len(trained) == 10
    (run,) = diagnose.load_all(path)
    steps, values = run.arrays("val/loss")
    assert steps.tolist() == list(range(1, 11))
    assert values.tolist() == logged
    assert run.series("train/loss").tolist() == trained
    found = {f.pattern for f in diagnose.check(path).findings}
    # validation is lowest at an early epoch and ends above its first value, train keeps falling
    assert min(logged) < logged[0] < logged[-1] and trained[-1] < trained[0]
    assert {"late_overfitting", "generalization_gap"} <= found


def test_a_line_of_other_numbers_keeps_the_epoch_block_open(tmp_path: Path) -> None:
    """``Epoch 3/24`` then ``lr: 0.001`` (a number the rules do not read) then the phase lines:
    the lr line is one of the block's lines, not its end."""
    (run,) = _load("torch_finetune")
    lines = []
    for line in (CASES / "torch_finetune" / "train.log").read_text().splitlines():
        lines.append(line)
        if line.startswith("-" * 10):
            lines.append("lr: 0.001")
    path = tmp_path / "train.log"
    path.write_text("\n".join(lines) + "\n")
    (with_lr,) = diagnose.load_all(path)
    for name in ("train/loss", "train/acc", "val/loss", "val/acc"):
        assert _same(with_lr.arrays(name), run.arrays(name)), name


@pytest.mark.parametrize("case", ["keras3_verbose2", "hf_trainer", "torch_finetune"])
@pytest.mark.parametrize("bom, codec", [(b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"),
                                        (b"\xef\xbb\xbf", "utf-8"),
                                        (b"", "utf-16-le"), (b"", "utf-16-be")])
def test_a_log_saved_as_utf16_or_with_a_bom_reads_the_same(
        tmp_path: Path, case: str, bom: bytes, codec: str) -> None:
    """``python train.py > train.log`` in Windows PowerShell 5 writes UTF-16 (BOM, CRLF line
    ends); Notepad and PowerShell 7's ``utf8BOM`` write UTF-8 with a BOM; some Windows pipelines
    and ``iconv -t UTF-16LE`` write UTF-16 with no BOM at all. Same run, same values."""
    (run,) = _load(case)
    text = (CASES / case / "train.log").read_bytes().decode("utf-8")  # tqdm's \r kept
    path = tmp_path / "train.log"
    path.write_bytes(bom + text.replace("\n", "\r\n").encode(codec))
    assert textlog.detect(path)
    (other,) = diagnose.load_all(path)
    assert other.metric_names == run.metric_names
    for name in run.metric_names:
        assert _same(other.arrays(name), run.arrays(name)), name
    assert not other.in_progress and not any("unreadable" in w for w in other.warnings)


def test_a_bare_bracketed_counter_and_records_run_together() -> None:
    """``[007] train_loss: .. | dev_loss: .. | micro f1 on dev: ..`` with the newline printed
    only after ``>>> save models!``: every epoch is read, also those run together on one line."""
    (run,) = _load("bracket_counter")
    names = {"train_loss": "train/loss", "dev_loss": "val/loss"}
    for name, rec in _expected("bracket_counter")["runs"][0]["metrics"].items():
        steps, values = run.arrays(names[name])
        assert steps.tolist() == rec["steps"], name
        assert _same(values, [float(f"{v:.3f}") for v in rec["values"]]), name
    raw = (CASES / "bracket_counter" / "train.log").read_text()
    assert max(len(re.findall(r"\[\d{3}\]", line)) for line in raw.splitlines()) > 3
    assert "late_overfitting" in {f.pattern for f in diagnose.check(CASES / "bracket_counter"
                                                                     / "train.log").findings}


def test_a_public_utf16_log_with_a_bracketed_counter() -> None:
    """A public attention-BiLSTM run (bench/real-runs/w48a-att-bilstm-semeval, tuning half),
    saved by Windows PowerShell as UTF-16 with CRLF, printing ``[001] train_loss: 1.153 |
    dev_loss: 1.161 | ...`` with several epochs on one line: "no training runs found" before."""
    path = ROOT / "bench" / "real-runs" / "w48a-att-bilstm-semeval" / "log" / "train.log"
    text = path.read_bytes().decode("utf-16")  # Python's own decoder, BOM and all
    rows = re.findall(r"\[(\d{3})\] train_loss: ([0-9.]+) \| dev_loss: ([0-9.]+)", text)
    assert len(rows) == 50
    (run,) = diagnose.load_all(path)
    assert run.arrays("train/loss")[0].tolist() == [int(e) for e, _, _ in rows]
    assert run.arrays("train/loss")[1].tolist() == [float(t) for _, t, _ in rows]
    assert run.arrays("val/loss")[1].tolist() == [float(v) for _, _, v in rows]
    dev = [float(v) for _, _, v in rows]
    # by arithmetic: dev loss lowest at an early epoch and ends above its first value
    assert dev.index(min(dev)) < 10 and dev[-1] > dev[0]
    assert "late_overfitting" in {f.pattern for f in diagnose.check(path).findings}


def test_a_metric_on_a_named_split_is_that_splits_metric() -> None:
    """A public TF CIFAR-10 run (bench/real-runs/w48a-cifar10-tf-adv, tuning half) prints
    ``Global Step: 100, accuracy: 14.8%, loss = 2.30`` per batch and, every 100 steps, a line of
    its own ``Accuracy on Test-Set: 27.78% (2778 / 10000)``. The test accuracy was dropped (no
    split read off "on Test-Set"), so a 16-point gap went unchecked."""
    path = ROOT / "bench" / "real-runs" / "w48a-cifar10-tf-adv" / "train.out"
    text = path.read_text()
    held, step = [], None
    for line in text.splitlines():  # each test accuracy at the step printed last before it
        if m := re.match(r"Global Step:\s+(\d+),", line):
            step = int(m.group(1))
        elif m := re.match(r"Accuracy on Test-Set: ([0-9.]+)%", line):
            held.append((step, float(m.group(1))))
    assert len(held) == 100
    (run,) = diagnose.load_all(path)
    steps, values = run.arrays("val/acc")
    assert steps.tolist() == [s for s, _ in held]
    assert values.tolist() == [a for _, a in held]  # kept as logged, in percent
    train = [float(a) for a in re.findall(r"Global Step:\s+\d+, accuracy:\s+([0-9.]+)%", text)]
    # by arithmetic: the last 50 batches are more than 15 points above the last test accuracy
    assert np.mean(train[-50:]) - held[-1][1] > 15
    assert "generalization_gap" in {f.pattern for f in diagnose.check(path).findings}


@pytest.mark.parametrize("line, name", [
    ("Accuracy on Test-Set: {v}%", "test_accuracy"),
    ("loss on the validation set: {v}", "val_loss"),
    ("Loss on dev data = {v}", "val_loss"),
])
def test_on_split_phrases(line: str, name: str) -> None:
    text = "".join(f"Epoch {e}: train loss {0.9 - 0.1 * e:.2f}\n" + line.format(v=0.5 + e / 10)
                   + "\n" for e in range(1, 6))
    parsed = textlog.parse(text)
    held = [r for r in parsed.records if r.kind == "val"]
    assert [r.values for r in held] == [[(name, 0.5 + e / 10)] for e in range(1, 6)]


def test_a_progress_bar_line_with_no_counter_word_is_a_record() -> None:
    """A public C++ trainer's log (bench/real-runs/w49a-cgpt-104m-fineweb) prints
    ``Training [===   ] 8.5% 5000/58874 | 4.62 it/s | ETA: ... | loss=3.91 | validation_loss=3.91``:
    no word names the counter, the bar's count is the step. It was "no training runs found"."""
    path = ROOT / "bench" / "real-runs" / "w49a-cgpt-104m-fineweb" / "training_output.txt"
    text = path.read_text()
    rows = re.findall(r"\] [0-9.]+% (\d+)/\d+ \|.*\| loss=([0-9.]+) \| validation_loss=([0-9.]+)\n",
                      text)
    logged = {int(s): (float(t), float(v)) for s, t, v in rows}  # the last record of a step
    assert len(logged) >= 10
    (run,) = diagnose.load_all(path)
    for name, i in (("train/loss", 0), ("val/loss", 1)):
        steps, values = run.arrays(name)
        assert steps.tolist() == sorted(logged)
        assert values.tolist() == [logged[s][i] for s in sorted(logged)]
    assert textlog.detect(path)


def test_a_bar_of_its_own_is_no_header_in_a_log_read_without_bars() -> None:
    """A log whose records carry their counters keeps being read without bar counts: the
    public Keras run logged through tqdm (w47c-pokemon-cnn) still has one run of ten epochs."""
    path = ROOT / "bench" / "real-runs" / "w47c-pokemon-cnn" / "train_log.txt"
    (run,) = diagnose.load_all(path)
    assert run.arrays("val/loss")[0].tolist() == list(range(1, 11))


def _charrnn() -> Path:
    return ROOT / "bench" / "real-runs" / "w49a-charrnn-shakespeare" / "train_output.txt"


def test_repeated_fit_calls_that_go_on_training_one_model_are_one_run() -> None:
    """A public Keras char-RNN (w49a-charrnn-shakespeare) calls ``model.fit(epochs=5)`` 25 times
    on one model: ``Epoch 1/5`` comes back 24 times, but each fit takes the loss on from where
    the last ended (1.5606 -> 1.4461). It was read as 25 runs of five epochs, each "still
    falling when the run stopped"; it is one run of 125 epochs, labelled healthy."""
    text = _charrnn().read_text()
    logged = [float(v) for v in re.findall(r" - loss: ([0-9.]+)", text)]
    assert len(logged) == 125 and text.count("Epoch 1/5") == 25
    (run,) = diagnose.load_all(_charrnn())
    steps, values = run.arrays("train/loss")
    assert values.tolist() == logged
    assert steps.tolist() == list(range(125))
    assert any("starts again 24 times" in w for w in run.warnings)
    report = diagnose.check(_charrnn())
    assert not [f for f in report.findings if f.severity in ("warning", "error")]


def test_fit_calls_that_start_again_from_the_untrained_loss_stay_separate_runs(tmp_path: Path) -> None:
    """The same log with every fit starting from the first fit's untrained loss (its first five
    epochs printed three times: three runs appended) is still three runs."""
    text = _charrnn().read_text()
    first = text[:text.index("=" * 50, 10)]
    path = tmp_path / "train_output.txt"
    path.write_text(first * 3)
    runs = diagnose.load_all(path)
    assert len(runs) == 3
    assert all(len(r.series("train/loss")) == 5 for r in runs)


# -- a loop that prints no counter --------------------------------------------------------------

ORDINAL = {"Train Loss": "train/loss", "Val Loss": "val/loss", "Val Acc": "val/acc",
           "train mean loss": "train/loss", "train accuracy": "train/acc",
           "eval mean loss": "val/loss", "eval accuracy": "val/acc"}


@pytest.mark.parametrize("case, fmt", [("no_counter", ".4f"), ("one_value_per_line", "r")])
def test_a_loop_without_a_counter_is_numbered_in_file_order(case: str, fmt: str) -> None:
    """No epoch or step is printed: each record (the lines up to a name printed again) takes
    the next number, evaluations the number of the record they follow, and the user is told."""
    (run,) = _load(case)
    for name, rec in _expected(case)["runs"][0]["metrics"].items():
        steps, values = run.arrays(ORDINAL[name])
        assert steps.tolist() == rec["steps"], name
        want = rec["values"] if fmt == "r" else [float(format(v, fmt)) for v in rec["values"]]
        assert _same(values, want), name
    assert any("no epoch or step counter printed" in w for w in run.warnings)


def test_a_public_log_without_a_counter_is_read() -> None:
    """A NumPy CNN's log (``bench/real-runs/w51a-numpy-cnn-mnist``, legendhua/CNN_Numpy): 17
    train records an epoch and an evaluation after each; the first evaluation, before any
    training, joins the first record."""
    path = ROOT / "bench" / "real-runs" / "w51a-numpy-cnn-mnist" / "log" / "log_train.txt"
    text = path.read_text()
    (run,) = diagnose.load_all(path)
    printed = [float(v) for v in re.findall(r"^eval mean loss: (\S+)$", text, re.M)]
    assert run.arrays("val/loss")[1].tolist() == printed
    train = [float(v) for v in re.findall(r"^train mean loss: (\S+)$", text, re.M)]
    steps, values = run.arrays("train/loss")
    assert values.tolist() == train and steps.tolist() == list(range(1, len(train) + 1))


@pytest.mark.parametrize("text", [
    "loss: 0.5\nloss: 0.4\nloss: 0.3\nloss: 0.2\n",  # four records: too few
    "model a acc: 0.81\n" * 6,  # no loss: a summary, not a training loop
    "model b loss: 0.79 with more words in the line than a record has\n" * 6,  # prose
])
def test_counterless_text_is_claimed_only_as_a_loop(tmp_path: Path, text: str) -> None:
    path = tmp_path / "notes.txt"
    path.write_text(text)
    assert not textlog.detect(path)
