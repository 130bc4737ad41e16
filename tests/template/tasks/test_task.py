"""The task seam: each task's weighted metrics equal scikit-learn's (plain and weighted, what the bootstrap
resamples), its strata keep a numeric target's spread, and params.yaml holds a project to its task's names."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from sklearn import metrics as skm

from mlgate.config import load_params
from mlgate.errors import MlgateError
from mlgate.evidence.bootstrap import intervals_of, paired_intervals
from mlgate.task import TASKS
from tests.conftest import FIXTURE_PARAMS


def _probabilities(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.normal(0, 1, (n, k)) + 1.5 * np.eye(k)[y]
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, np.round(p, 3) / np.round(p, 3).sum(axis=1, keepdims=True)


@pytest.mark.parametrize("seed", [0, 1])
def test_multiclass_metrics_equal_sklearn_with_and_without_weights(seed):
    y, p = _probabilities(900, 4, seed)
    weights = np.vstack([np.ones(len(y)), np.random.default_rng(seed + 10).integers(0, 4, len(y))]).astype(float)
    ours = TASKS["multiclass"].scorer(y, p, 0.5)(weights)
    predicted = p.argmax(axis=1)
    for row, w in enumerate(weights):
        expected = {
            "log_loss": skm.log_loss(y, p, sample_weight=w, labels=range(4)),
            "macro_f1": skm.f1_score(y, predicted, average="macro", sample_weight=w),
            "balanced_accuracy": skm.balanced_accuracy_score(y, predicted, sample_weight=w),
            "roc_auc": skm.roc_auc_score(y, p, multi_class="ovr", average="macro", sample_weight=w),
            "accuracy": skm.accuracy_score(y, predicted, sample_weight=w),
            "brier": np.average(((p - np.eye(4)[y]) ** 2).sum(axis=1), weights=w),
        }
        for name, value in expected.items():
            assert ours[name][row] == pytest.approx(value, abs=1e-9), name


def test_regression_metrics_equal_sklearn_with_and_without_weights():
    rng = np.random.default_rng(3)
    y = rng.normal(100, 20, 700)
    prediction = y + rng.normal(5, 10, 700)
    weights = np.vstack([np.ones(len(y)), rng.integers(0, 4, len(y))]).astype(float)
    ours = TASKS["regression"].scorer(y, prediction, 0.5)(weights)
    for row, w in enumerate(weights):
        assert ours["rmse"][row] == pytest.approx(np.sqrt(skm.mean_squared_error(y, prediction, sample_weight=w)))
        assert ours["mae"][row] == pytest.approx(skm.mean_absolute_error(y, prediction, sample_weight=w))
        assert ours["r2"][row] == pytest.approx(skm.r2_score(y, prediction, sample_weight=w))


def test_regression_strata_are_deciles_and_the_intervals_keep_them():
    """Binned resampling: each resample keeps each decile's count, so a skewed target's tail stays in."""
    task = TASKS["regression"]
    y = np.random.default_rng(0).lognormal(3, 1, 1000)
    strata = task.strata(y)
    assert sorted(np.bincount(strata)) == [100] * 10
    assert all(y[strata == b].max() <= y[strata == b + 1].min() for b in range(9))
    assert len(np.unique(task.strata(y[:50]))) == 2  # few rows: fewer, fuller bins
    a, b = y * 1.01, y * 1.3
    first = paired_intervals(strata, task.scorer(y, a, 0), task.scorer(y, b, 0), ("rmse", "r2"), task.lower_is_better)
    again = paired_intervals(strata, task.scorer(y, a, 0), task.scorer(y, b, 0), ("rmse", "r2"), task.lower_is_better)
    assert first == again and first["rmse"].low > 0  # rmse's sign flipped: + is better, a is far better
    one = intervals_of(strata, task.scorer(y, a, 0), ("r2",))
    assert one["r2"]["low"] <= one["r2"]["value"] <= one["r2"]["high"]


def test_one_scorer_on_both_sides_is_scored_once_per_resample_and_differs_by_nothing():
    """A champion that is this run's model: the same scores on both sides, so every resampled difference is 0."""
    task, calls = TASKS["binary"], []
    y = np.random.default_rng(0).integers(0, 2, 500)
    scorer = task.scorer(y, np.random.default_rng(1).random(500), 0.5)

    def counted(weights):
        calls.append(len(weights))
        return scorer(weights)

    intervals = paired_intervals(y, counted, counted, ("roc_auc",), frozenset(), resamples=300)
    assert sum(calls) == 1 + 300  # the point estimate, then each resample: once
    roc = intervals["roc_auc"]
    assert (roc.delta, roc.low, roc.high) == (0.0, 0.0, 0.0)


def _params(tmp_path, **data) -> object:
    raw = yaml.safe_load(FIXTURE_PARAMS.read_text())
    raw["data"] |= data
    for key, value in list(raw["data"].items()):
        if value is None:
            del raw["data"][key]
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_params_hold_a_project_to_its_task(tmp_path):
    assert load_params(_params(tmp_path)).data.task == "binary"  # no `task:` key: the projects of before
    with pytest.raises(MlgateError, match=r"data\.positive is for task binary only"):
        load_params(_params(tmp_path, task="regression"))
    with pytest.raises(MlgateError, match=r"data.task: Input should be 'binary', 'multiclass' or 'regression'"):
        load_params(_params(tmp_path, task="ranking", positive=None))
    with pytest.raises(MlgateError, match=r"unknown metric\(s\) \['pr_auc', 'recall', 'roc_auc'\] for task regression"):
        load_params(_params(tmp_path, task="regression", positive=None))  # the sample's floors are binary metrics


def test_every_task_names_the_metrics_it_computes():
    for task in TASKS.values():
        assert set(task.bootstrapped) <= set(task.metrics) and task.headline in task.metrics
        assert dict(task.compared).keys() <= set(task.bootstrapped) and set(task.monitored) <= set(task.metrics)
        assert task.lower_is_better <= set(task.metrics)


def test_monitor_says_which_performance_checks_a_task_has_no_method_for(tmp_path):
    """CBPE estimates a binary classifier's metrics from its scores; nothing here estimates a regressor's or a
    multiclass model's without labels: said, never a number made up. Their real performance is measured once
    labels arrive (tests/template/monitor/test_tasks.py)."""
    from mlgate.config import Params
    from mlgate.monitor.log import PredictionLog
    from mlgate.monitor.run import run_monitor

    params = Params.model_validate(
        {
            "data": {"path": "data/d.csv", "target": "y", "task": "regression"},
            "gates": {"model": {"thresholds": {}}},
            "monitor": {"log_uri": str(tmp_path / "log")},
        }
    )
    log = PredictionLog(params.monitor)
    score, decision, columns = params.data.kind.logged(12.5, None, 0.5)
    log.record([{"x": 1.0}] * 600, [score] * 600, [decision] * 600, "v1", "r", [columns] * 600)
    log.flush()
    report, _ = run_monitor(params, window="1h", model_dir=tmp_path / "no-model")
    checks = {c.name: c for c in report.checks}
    estimated = checks["estimated_performance"]
    assert estimated.passed and not estimated.blocking
    assert estimated.message.startswith("not available for task regression: "), estimated.message
    assert checks["performance"].message == "0 labeled rows: too few to measure yet"
