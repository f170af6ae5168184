"""A run that blew up and then gave every input the same answer: the explosion finding says so.

On a diverged run no finding but the blow-up's is reported on its own (issue 14, case 11), so
a model the blow-up left dead (its loss frozen to the fourth digit: a batch's loss no longer
depends on the batch) was reported as an explosion only, and a reader never learned that the
weights were dead rather than still bouncing. The explosion rules now tell it in their own
finding (``[[also]]``: pattern uniform_predictions, no cause or next experiment of its own).

The runs are real training here (full-batch Adam on a small MLP, torch) and a public Hugging
Face log from the tuning half of bench/real-runs. Expectations are checked on the logged
numbers by arithmetic, never by diagnose's own features.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

import diagnose
from diagnose import RuleError
from diagnose.report.json_ import render
from diagnose.rules import load_rules

ROOT = Path(__file__).resolve().parents[1]


def _mlp(path: Path, lr: float, steps: int = 300) -> tuple[np.ndarray, float]:
    """A 10-64-64-3 ReLU MLP on three overlapping balanced blobs, full batch, Adam at ``lr``;
    the loss of every step to a Keras-style CSV log (one row per step). Returns the losses and
    the final model's accuracy on the training inputs (above 1/3: it tells them apart)."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    n, d, k = 600, 10, 3
    centers = torch.randn(k, d) * 0.5
    y = torch.arange(n) % k
    x = centers[y] + torch.randn(n, d)
    net = torch.nn.Sequential(torch.nn.Linear(d, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64),
                              torch.nn.ReLU(), torch.nn.Linear(64, k))
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["epoch", "loss"])
        w.writerows([i, f"{v:.8g}"] for i, v in enumerate(losses))
    with torch.no_grad():
        acc = float((net(x).argmax(1) == y).float().mean())
    return np.array(losses), acc


def _explosions(path: Path) -> list[diagnose.Finding]:
    report = diagnose.check([str(path)])
    return [f for f in report.findings if f.pattern == "explosion"]


def test_a_blow_up_over_a_few_steps_is_reported_and_a_converged_end_is_not_called_dead(
        tmp_path: Path) -> None:
    """Full-batch Adam at lr=2: 1.12, 991, 20581, 2131, ... back under its start within sixty
    steps, then still to the 7th digit. The peak is 9.7x and 21x its neighbours, so it read as a lone
    spike and nothing was reported; but the neighbours are themselves ~1000x the start. The
    still end sits below where the run started and the model tells the classes apart: a
    full-batch run that converged, not a dead model, so nothing more is told."""
    path = tmp_path / "training.log"
    losses, acc = _mlp(path, lr=2.0)
    peak = int(np.argmax(losses))
    assert losses[peak] > 5 * max(losses[peak - 1], losses[peak + 1])  # tall over its neighbours
    assert min(losses[peak - 1], losses[peak + 1]) > 100 * losses[0]  # which are blown up too
    tail = losses[len(losses) * 4 // 5:]
    assert (tail.max() - tail.min()) / np.median(tail) < 1e-5 and np.median(tail) < losses[0]
    assert acc > 1 / 3 + 0.05
    found = _explosions(path)
    assert [f.rule for f in found] == ["DG106"]
    assert found[0].also == [] and "same answer" not in found[0].message


def test_a_run_that_keeps_learning_after_its_blow_up_tells_nothing_more(tmp_path: Path) -> None:
    path = tmp_path / "training.log"
    losses, _ = _mlp(path, lr=1.0)
    assert losses.max() > 1000 * losses[0]
    tail = losses[len(losses) * 4 // 5:]
    assert (tail.max() - tail.min()) / np.median(tail) > 0.05  # it still moves by 5% or more
    for f in _explosions(path):
        assert f.also == [] and "same answer" not in f.message


def _public(name: str) -> Path:
    return ROOT / "bench" / "real-runs" / name


def test_a_public_bilstm_left_at_ln_30_is_told_in_the_explosion_finding() -> None:
    """w78d-signlang-bilstm (tuning half, a Keras history as JSON): 2.83 -> 0.134, then 4928
    and 77, then 3.402-3.403 (ln 30) for the rest of the run, far above the 0.134 it had
    reached."""
    history = _public("w78d-signlang-bilstm") / "results" / "bilstm_history.json"
    loss = np.array(json.loads(history.read_text())["loss"])
    peak = int(np.argmax(loss))
    tail = loss[-5:]
    assert loss[peak] > 1000 * loss[0] and (tail.max() - tail.min()) / np.median(tail) < 1e-3
    assert np.median(tail) > loss[:peak].min()
    report = diagnose.check([str(_public("w78d-signlang-bilstm"))])
    found = [f for f in report.findings if f.pattern == "explosion"]
    assert found and found[0].also == ["uniform_predictions"]
    assert "same answer" in found[0].message
    # told once: no finding of its own (case 11), and no "not checked" for that pattern
    assert not [g for g in report.findings if g.pattern == "uniform_predictions"]
    assert "uniform_predictions" not in report.unchecked.get(report.runs[0].id, {})
    told = [f for f in json.loads(render(report))["findings"] if f["pattern"] == "explosion"]
    assert told[0]["also"] == ["uniform_predictions"]


def test_a_public_qlora_run_at_ln_of_its_vocabulary() -> None:
    """w9d-qlora-lr5 (tuning half): learning rate 5, the loss 1.64 -> 11.8, then 10.3735 at
    every logged step to the end: ln 32000, uniform over the LLaMA vocabulary."""
    folder = ROOT / "bench" / "real-runs" / "w9d-qlora-lr5"
    state = json.loads(next(folder.rglob("trainer_state.json")).read_text())
    logged = [e["loss"] for e in state["log_history"] if "loss" in e]
    assert max(logged) > 5 * logged[0] and len(set(logged[-5:])) == 1
    found = _explosions(folder)
    assert found and "uniform_predictions" in found[0].also


_ALSO_RULE = '''
code = "XA101"
name = "also-demo"
pattern = "demo"
severity = "warning"
requires = ["train/loss"]
when = "train_end > 1"
message = "train loss ended at {{train_end:.3g}}"
cause = "demo"
next = "demo"

[[also]]
{also}

[docs]
what = "demo"
why = "demo"
example = "demo"
'''


@pytest.mark.parametrize("also, complaint", [
    ('pattern = "demo"\nwhen = "train_end > 2"\nmessage = "x"', "other than the rule's own"),
    ('pattern = "flat_loss"\nmessage = "x"', "`pattern`, `when` and `message`"),
    ('pattern = "flat_loss"\nwhen = "train_end >"\nmessage = "x"', "not a valid condition"),
    ('pattern = "flat_loss"\nwhen = "nosuch > 1"\nmessage = "x"', "unknown name 'nosuch'"),
])
def test_a_broken_consequence_names_the_file_and_the_entry(tmp_path: Path, also: str,
                                                           complaint: str) -> None:
    path = tmp_path / "XA101-also-demo.toml"
    path.write_text(_ALSO_RULE.format(also=also), encoding="utf-8")
    with pytest.raises(RuleError) as e:
        load_rules(extend=[path])
    assert "XA101-also-demo.toml" in str(e.value) and "also[0]" in str(e.value)
    assert complaint in str(e.value)
