"""A run cut off halfway down a straight fall is slow, however far it has already fallen.

DG206 called a run slow only when its loss fell less than 40% (`max_drop`). Public runs labelled
slow from their plots (before diagnose ran on them) fell further and were still falling at full
pace when they stopped, and got "All checks passed":

- w25a-carplate, a Hugging Face fine-tune stopped by `max_steps` after 200 steps: its train loss
  5.09 -> 1.87 in ten logs, each lower than the one before, the last fifth still bringing 13% of
  the whole fall;
- w47b-gender-cnn, a Keras CNN at lr=1e-4 for 10 epochs: validation 0.58 -> 0.24, lowest at the
  last epoch, the last fifth bringing 13% of the fall.

A run of this kind is slow when its last 20% of steps still brought a tenth of its whole
improvement (`min_tail_share`) and its train loss fell by a firm trend (`min_far_trend_z`). Two
healthy public runs that fell as far but flattened stay clean: a Watson fine-tune whose
smoothed train loss's last fifth brought 9% of its fall, and a YOLO fine-tune whose validation
loss's last fifth brought 4%.

Raw values are read with json and pandas, not through diagnose's readers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner

from diagnose.cli import main

REAL = Path(__file__).resolve().parents[1] / "bench" / "real-runs"


def _hf_losses(path: Path) -> np.ndarray:
    state = json.loads(path.read_text())
    return np.array([e["loss"] for e in state["log_history"] if "loss" in e], float)


def _tail_share(v: np.ndarray) -> float:
    """The share of the first-to-last fall that the last fifth of the points brought."""
    at = v[round(0.8 * (len(v) - 1))]
    return float((at - v[-1]) / (v[0] - v[-1]))


def _findings(run: Path) -> tuple[dict[str, str], str]:
    result = CliRunner().invoke(main, ["check", str(run), "--format", "json", "--exit-zero"])
    assert result.exit_code == 0, result.output
    text = CliRunner().invoke(main, ["check", str(run), "--exit-zero"]).output
    return {f["rule"]: f["message"] for f in json.loads(result.output)["findings"]}, text


def test_a_fine_tune_stopped_halfway_down_is_slow() -> None:
    run = REAL / "w25a-carplate"
    loss = _hf_losses(run / "results" / "trainer_state.json")
    assert np.all(np.diff(loss) < 0)  # lower at every log
    assert 1 - loss[-1] / loss[0] > 0.4  # beyond the old `max_drop`
    assert _tail_share(loss) > 0.1
    found, text = _findings(run)
    assert "DG206" in found and "All checks passed" not in text
    assert "fell 58%" in found["DG206"] and "only" not in found["DG206"]


def test_a_cnn_whose_validation_still_falls_at_its_last_epoch_is_slow() -> None:
    run = REAL / "w47b-gender-cnn"
    hist = pd.read_csv(run / "reports" / "training_history.csv")
    val = hist["val_loss"].to_numpy(float)
    assert val[-1] == val.min() and 1 - val[-1] / val[0] > 0.4
    assert _tail_share(val) > 0.1
    found, _ = _findings(run)
    assert "DG206" in found and "lr=0.0003" in CliRunner().invoke(
        main, ["check", str(run), "--exit-zero"]).output


def test_healthy_runs_that_fell_as_far_but_flattened_stay_clean() -> None:
    watson = _hf_losses(REAL / "t10a-watson-ck2274" / "trainer_state.json")
    smooth = np.convolve(watson, np.ones(10) / 10, "valid")
    assert 1 - smooth[-1] / smooth[0] > 0.4 and _tail_share(smooth) < 0.1
    yolo = pd.read_csv(REAL / "w23a-nonviolence-t2" / "runs" / "detect" / "train2" / "results.csv")
    yolo.columns = [c.strip() for c in yolo.columns]
    val = (yolo["val/box_loss"] + yolo["val/cls_loss"] + yolo["val/dfl_loss"]).to_numpy(float)
    assert 1 - val[-1] / val[0] > 0.4 and _tail_share(val) < 0.1
    for run in ("t10a-watson-ck2274", "w23a-nonviolence-t2"):
        found, _ = _findings(REAL / run)
        assert "DG206" not in found, (run, found)
