"""The paired bootstrap: its metrics equal sklearn's (weighted too), its intervals are seeded and
deterministic, and its verdicts separate noise from a real regression."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from mlgate.evidence.bootstrap import Interval, paired_bootstrap, weighted_metrics


def _scores(n: int, prevalence: float, signal: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < prevalence).astype(int)
    score = 1 / (1 + np.exp(-(signal * (y - 0.5) + rng.normal(0, 1, n))))
    return y, np.round(score, 3)  # rounding makes ties, which sklearn and we must treat alike


@pytest.mark.parametrize("seed", [0, 1])
def test_metrics_equal_sklearn_with_and_without_weights(seed):
    y, score = _scores(3000, 0.1, 2.0, seed)
    weights = np.vstack([np.ones(len(y)), np.random.default_rng(seed).integers(0, 4, len(y))]).astype(float)
    ours = weighted_metrics(y, score, weights, threshold=0.5)
    for row, w in enumerate(weights):
        flagged = score >= 0.5
        expected = {
            "pr_auc": skm.average_precision_score(y, score, sample_weight=w),
            "roc_auc": skm.roc_auc_score(y, score, sample_weight=w),
            "precision": skm.precision_score(y, flagged, sample_weight=w),
            "recall": skm.recall_score(y, flagged, sample_weight=w),
            "f1": skm.f1_score(y, flagged, sample_weight=w),
            "brier": skm.brier_score_loss(y, score, sample_weight=w),
        }
        for name, value in expected.items():
            assert ours[name][row] == pytest.approx(value, abs=1e-9), name


def test_intervals_are_deterministic_and_contain_the_point_difference():
    y, a = _scores(5000, 0.05, 2.0, 3)
    _, b = _scores(5000, 0.05, 1.8, 3)
    first = paired_bootstrap(y, a, b, threshold=0.5, resamples=300, seed=7)
    again = paired_bootstrap(y, a, b, threshold=0.5, resamples=300, seed=7)
    assert first == again
    for interval in first.values():
        assert interval.low <= interval.delta <= interval.high


def test_same_model_is_no_change_a_degraded_one_is_worse_and_few_rows_are_inconclusive():
    y, score = _scores(20_000, 0.05, 2.5, 11)
    noise = np.clip(score + np.random.default_rng(1).normal(0, 0.002, len(y)), 0, 1)
    same = paired_bootstrap(y, noise, score, threshold=0.5, resamples=300)
    assert same["pr_auc"].verdict(margin=0.02) == "no detectable change"
    slightly = np.clip(score + np.random.default_rng(2).normal(0, 0.03, len(y)), 0, 1)
    assert paired_bootstrap(y, slightly, score, 0.5, resamples=300)["pr_auc"].verdict(0.02) == "no detectable change"
    few = paired_bootstrap(y[:400], slightly[:400], score[:400], threshold=0.5, resamples=300)
    assert few["pr_auc"].verdict(margin=0.02) == "inconclusive: n too small"
    degraded = np.clip(score + np.random.default_rng(2).normal(0, 0.08, len(y)), 0, 1)
    worse = paired_bootstrap(y, degraded, score, threshold=0.5, resamples=300)
    assert worse["pr_auc"].verdict(margin=0.02) == "worse"
    assert worse["roc_auc"].high < 0


def test_verdicts():
    assert Interval("pr_auc", 0.03, 0.01, 0.05, 0.95, 100).verdict(0.02) == "better"
    assert Interval("pr_auc", 0.001, 0.0001, 0.002, 0.95, 100).verdict(0.02) == "no detectable change"
    assert Interval("pr_auc", -0.05, -0.08, -0.03, 0.95, 100).verdict(0.02) == "worse"
    assert Interval("pr_auc", 0.0, -0.01, 0.01, 0.95, 100).verdict(0.02) == "no detectable change"
    assert Interval("pr_auc", -0.01, -0.05, 0.01, 0.95, 100).verdict(0.02) == "inconclusive: n too small"


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="same rows"):
        paired_bootstrap(np.array([0, 1]), np.array([0.1]), np.array([0.2, 0.3]), 0.5)
    with pytest.raises(ValueError, match="both classes"):
        paired_bootstrap(np.zeros(5), np.ones(5), np.ones(5), 0.5)


def test_metrics_equal_sklearn_when_most_scores_are_tied():
    y, score = _scores(2000, 0.2, 1.0, 5)
    score = np.round(score, 1)  # a handful of distinct scores: every threshold is a run of ties
    weights = np.random.default_rng(5).integers(0, 3, (3, len(y))).astype(float)
    ours = weighted_metrics(y, score, weights, threshold=0.5)
    for row, w in enumerate(weights):
        assert ours["pr_auc"][row] == pytest.approx(skm.average_precision_score(y, score, sample_weight=w), abs=1e-9)
        assert ours["roc_auc"][row] == pytest.approx(skm.roc_auc_score(y, score, sample_weight=w), abs=1e-9)
