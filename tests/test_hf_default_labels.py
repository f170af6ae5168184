"""A Hugging Face classifier saved by transformers 5 carries no ``num_labels`` when it has
the default two: the reader must still know it is a 2-class run (ln 2 is then the scale that
shows a blow-up inside the first logging window)."""

from __future__ import annotations

import json

import pytest

import diagnose

transformers = pytest.importorskip("transformers")


def _write_state(d, losses):
    state = transformers.TrainerState(global_step=5 * len(losses), max_steps=5 * len(losses), logging_steps=5)
    state.log_history = [{"step": 5 * (i + 1), "loss": x, "learning_rate": 1e-3, "epoch": 0.1 * (i + 1)}
                         for i, x in enumerate(losses)]
    state.save_to_json(str(d / "trainer_state.json"))


def test_a_two_label_classifier_config_written_by_transformers(tmp_path):
    cfg = transformers.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1,
                                  num_attention_heads=2, intermediate_size=32,
                                  architectures=["BertForSequenceClassification"])
    cfg.save_pretrained(tmp_path)
    _write_state(tmp_path, [1684.0, 2534.0, 3485.0, 1571.0, 1422.0, 941.5, 738.4, 882.2, 282.2, 261.8])
    saved = json.loads((tmp_path / "config.json").read_text())
    run = diagnose.load_all(tmp_path)[0]
    # what the test is about: the saved config left the default label count out
    assert "num_labels" not in saved and "id2label" not in saved
    assert run.num_classes == 2
    assert "explosion" in {f.pattern for f in diagnose.check(tmp_path).findings}


def test_a_regression_head_is_not_read_as_two_classes(tmp_path):
    cfg = transformers.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1,
                                  num_attention_heads=2, intermediate_size=32, num_labels=1,
                                  architectures=["BertForSequenceClassification"])
    cfg.save_pretrained(tmp_path)
    _write_state(tmp_path, [3.1, 2.5, 2.0, 1.7, 1.5, 1.4, 1.3, 1.25])
    assert diagnose.load_all(tmp_path)[0].num_classes is None
