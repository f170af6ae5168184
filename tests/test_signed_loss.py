"""A loss below zero (a Gaussian negative log-likelihood) is said, never passed in silence."""

import pytest

import diagnose
from diagnose.report.text import summary_line

torch = pytest.importorskip("torch")


def test_a_negative_log_likelihood_gets_a_note_and_no_all_checks_passed(tmp_path):
    # a real regression trained with torch's GaussianNLLLoss: once the predicted variance is
    # small, the loss goes below zero, where every ratio the loss rules read turns over
    torch.manual_seed(0)
    x = torch.randn(256, 4)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.01 * torch.randn(256)
    model = torch.nn.Linear(4, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    nll = torch.nn.GaussianNLLLoss()
    with diagnose.Recorder(tmp_path / "run") as rec:
        for step in range(300):
            out = model(x)
            loss = nll(out[:, 0], y, torch.nn.functional.softplus(out[:, 1]) + 1e-4)
            opt.zero_grad()
            loss.backward()
            opt.step()
            rec.log(step, train_loss=loss)
    _, values = diagnose.load(tmp_path / "run").arrays("train/loss")
    assert values[0] > 0 > values[-1]
    report = diagnose.check(tmp_path / "run")
    (run,) = report.runs
    assert any("below zero" in w and "train/loss" in w for w in run.warnings)
    line = summary_line(report)
    assert "All checks passed" not in line and "below zero" in line
