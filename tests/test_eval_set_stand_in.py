"""Hugging Face eval sets with no validation name: the first one logged stands in for validation.

``Trainer(eval_dataset={"g0": ..., "g1": ...})`` logs ``eval_g0_loss`` and ``eval_g1_loss`` and no
``eval_loss``. Read under their own names, the run had no validation curve and its gap and late
overfitting were "not checked"; a public run whose six eval losses all climb for 28 epochs got no
finding at all.
"""

from __future__ import annotations

import json
from pathlib import Path

import diagnose

ROOT = Path(__file__).resolve().parents[1]
SETS = ROOT / "fixtures" / "formats" / "hf_eval_sets" / "hf_sets"
PUBLIC = ROOT / "bench" / "real-runs" / "w37a-tsviz-root"


def _eval_losses(state_file: Path) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list[tuple[int, float]]] = {}
    for e in json.loads(state_file.read_text())["log_history"]:
        for k, v in e.items():
            if k.startswith("eval_") and k.endswith("_loss"):
                out.setdefault(k, []).append((e["step"], v))
    return out


def test_first_held_out_set_is_validation_and_the_training_set_never_is() -> None:
    run = diagnose.load(SETS)
    logged = _eval_losses(SETS / "trainer_state.json")
    assert list(logged)[:3] == ["eval_train_loss", "eval_ood_loss", "eval_iid_loss"]
    assert run.name_map["eval_ood_loss"] == "val/loss"
    assert run.name_map["eval_iid_loss"] == "iid/loss"
    assert run.name_map.get("eval_train_loss", "eval_train_loss") not in ("val/loss", "train/loss")
    steps, values = run.arrays("val/loss")
    assert [(int(s), float(v)) for s, v in zip(steps, values)] == logged["eval_ood_loss"]
    assert any("'ood', is read as the validation set" in w for w in run.warnings)


def test_a_set_named_as_validation_needs_no_stand_in() -> None:
    run = diagnose.load(ROOT / "fixtures" / "formats" / "hf_trainer" / "hf_out")
    assert run.name_map["eval_validation_loss"] == "val/loss"
    assert run.name_map["eval_test_loss"] == "test/loss"
    assert not any("read as the validation set" in w for w in run.warnings)


def test_public_run_with_six_eval_sets_is_judged_on_the_first() -> None:
    state = next(PUBLIC.rglob("trainer_state.json"))
    g0 = _eval_losses(state)["eval_g0_loss"]
    best_step, best = min(g0, key=lambda t: t[1])
    last_step, last = g0[-1]
    assert last > 2 * best  # the labeller's reading, by plain arithmetic on the log
    report = diagnose.check([str(PUBLIC)])
    found = {f.rule: f for f in report.findings}
    assert "DG104" in found and "DG103" in found, sorted(found)
    late = found["DG104"].message
    assert f"lowest at step {best_step} ({best:.4g})" in late and f"at step {last_step}" in late
