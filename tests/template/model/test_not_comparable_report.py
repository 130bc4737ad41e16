"""The PR report shows "not comparable" instead of a delta when base or production judged another problem."""

from __future__ import annotations

from mlgate.report.inputs import ReportInputs
from mlgate.report.render import metrics_table

METRICS = {"pr_auc": 0.9, "roc_auc": 0.95, "f1": 0.8, "precision": 0.8, "recall": 0.8, "brier": 0.05}
FRAUD_LIKE = {"pr_auc": 0.45, "roc_auc": 0.93, "f1": 0.4, "precision": 0.4, "recall": 0.4, "brier": 0.02}


def test_base_on_another_target_shows_no_delta():
    inputs = ReportInputs(
        metrics=METRICS,
        base_metrics=FRAUD_LIKE,
        base_label="main",
        base_not_comparable="target 'is_fraud' at main, 'sex' here",
        production={"model": "m v3 (@production)", "not_comparable": "m v3 predicts from other features"},
    )
    table = metrics_table(inputs)
    rows = [line for line in table.splitlines() if line.startswith("| pr_auc")]
    assert rows and "not comparable" in rows[0] and "▲" not in rows[0] and "+" not in rows[0]
    assert "%" not in rows[0]  # no relative change across two problems
    assert "Base main not comparable: target 'is_fraud' at main, 'sex' here." in table
    assert "Production m v3 (@\u200dproduction) not comparable: m v3 predicts from other features." in table


def test_comparable_base_keeps_its_delta():
    table = metrics_table(ReportInputs(metrics=METRICS, base_metrics=FRAUD_LIKE, base_label="main"))
    assert "not comparable" not in table and "+0.4500 ▲" in table
