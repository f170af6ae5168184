"""A config's number of classes stands when the curves are those of its own class prior."""

import csv
import math
from pathlib import Path

import diagnose
from diagnose.features._run import prior_entropy_range

RUN = Path(__file__).resolve().parents[1] / "bench" / "real-runs" / "w20b-npcemo-v5"
LOG = RUN / "lightning_logs" / "version_5"


def test_a_majority_class_model_keeps_the_configs_k_and_is_found_frozen():
    # a public 6-class emotion model (num_classes 6 in hparams.yaml) answering the majority
    # class: validation accuracy 0.3377 at all 3 epochs, train loss 1.576-1.577. That loss is
    # near ln 5, and the report used to say "the config says 6 classes, but ... 5 classes" and
    # "no number of classes was recorded"; 1.577 nats is what 6 unequal classes give
    k = next(int(line.split(":")[1]) for line in (LOG / "hparams.yaml").read_text().splitlines()
             if line.startswith("num_classes:"))
    with (LOG / "metrics.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    acc = [float(r["val_accuracy"]) for r in rows if r["val_accuracy"]]
    train = [float(r["train_loss"]) for r in rows if r["train_loss"]]
    assert k == 6 and len(set(acc)) <= 2 and max(acc) - min(acc) < 1e-4
    low, high = prior_entropy_range(acc[-1], k)
    assert low < train[-1] < high and abs(train[-1] / math.log(k) - 1) > 0.05
    report = diagnose.check([str(RUN)])
    text = " ".join(f.message for f in report.findings)
    assert "config says" not in text and "no number of classes was recorded" not in text
    found = [f for f in report.findings if f.rule == "DG208"]
    assert found and f"{acc[-1]:.4g}" in found[0].message


def test_prior_entropy_range_bounds():
    # the uniform prior is the most a largest share of 1/K allows, and the least as well
    low, high = prior_entropy_range(0.25, 4)
    assert math.isclose(low, math.log(4)) and math.isclose(high, math.log(4))
    # two classes: one entropy, -a ln a - (1 - a) ln(1 - a)
    low, high = prior_entropy_range(0.8, 2)
    assert math.isclose(low, high) and math.isclose(low, -(0.8 * math.log(0.8) + 0.2 * math.log(0.2)))
    assert prior_entropy_range(0.1, 4) is None  # a largest share under 1/K: no such prior


def test_a_ctc_models_vocabulary_is_no_chance_level():
    # a public NeMo speech model (w37d-rusasr-v57, tuning): hparams.yaml names a CTC model
    # (EncDecCTCModel) whose decoder has num_classes 34, its letters. Its CTC loss is summed
    # over each utterance: 193 at the first logged step, about 3 at the end, passing ln 34 =
    # 3.53 on its way down. Read as 34 classes it "ended at chance level" and was reported as
    # a divergence; it is a run whose validation loss stays at 40 while the train loss falls
    run = RUN.parent / "w37d-rusasr-v57"
    (hp,) = run.rglob("hparams.yaml")
    text = hp.read_text()
    assert "EncDecCTCModel" in text and "num_classes: 34" in text
    report = diagnose.check([str(run)])
    patterns = {f.pattern for f in report.findings if f.severity in ("error", "warning")}
    assert "explosion" not in patterns and "generalization_gap" in patterns
    assert not any("ln(34)" in f.message for f in report.findings)


def test_a_train_accuracy_climbing_from_below_half_rules_out_two_classes():
    # a public NumPy MLP on CIFAR-10 (bench/real-runs/w49a-numpy-mlp-cifar10-valspike; no
    # number of classes recorded) whose validation accuracy scatters around 0.44, about 1/2:
    # read as two classes, its loss of twice ln 2 "diverged" (DG102). Its train accuracy starts
    # at 0.27 and climbs every few epochs to 0.52: no two-class model sits that far below 1/2,
    # and a model at chance does not climb. The one validation spike (3.8x) is what it shows.
    import re

    path = (Path(__file__).resolve().parents[1] / "bench" / "real-runs"
            / "w49a-numpy-mlp-cifar10-valspike" / "logs" / "train_log.txt")
    text = path.read_text()
    train_acc = [float(v) for v in re.findall(r"Train Acc: ([0-9.]+)", text)]
    val = [(int(e), float(v)) for e, v in re.findall(r"Epoch (\d+) .*Valid Loss: ([0-9.]+)", text)]
    assert train_acc[0] < 0.3 and train_acc[-1] > 0.5
    peak = max(range(1, len(val) - 1), key=lambda i: val[i][1])
    assert val[peak][1] > 3 * val[peak - 1][1] and val[peak + 1][1] < val[peak][1] / 2  # back down
    report = diagnose.check([str(path)])
    found = {f.rule: f for f in report.findings if f.severity in ("warning", "error")}
    assert set(found) == {"DG207"}
    assert found["DG207"].steps[0] == val[peak][0]
    assert "~ 1/2" not in " ".join(f.message for f in report.findings)
