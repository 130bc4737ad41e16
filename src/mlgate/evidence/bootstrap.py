"""Paired, stratified bootstrap intervals for the difference of two models' metrics on the same rows.

Two seeds of the same model already differ by more than a fixed "allowed drop", so a comparison without its
noise both cries wolf and lets regressions through. Resampling the test rows (within each stratum: each class,
or each decile of a numeric target, so their counts stay fixed) and scoring both models on each resample gives
the distribution of the difference. The task (mlgate/task.py) gives the strata and the weighted metrics; the
binary ones are here. Every resample is a vector of row weights (multinomial counts), so all metrics are
weighted sums over rows sorted once: 1,000 resamples of 50k rows take seconds, not the minutes of a loop that
refits sklearn's metrics per resample.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

METRICS = ("pr_auc", "roc_auc", "f1", "precision", "recall", "brier")
LOWER_IS_BETTER = frozenset({"brier"})
CHUNK = 64  # resamples per vectorised block: bounds memory at CHUNK x rows weights


@dataclass(frozen=True)
class Interval:
    """Difference challenger - champion (positive = challenger better, brier sign flipped) and its interval."""

    metric: str
    delta: float
    low: float
    high: float
    confidence: float
    resamples: int

    def verdict(self, margin: float) -> str:
        """Worse only when the whole interval is below -margin; better only beyond the margin's noise band."""
        if self.high < -margin:
            return "worse"
        if self.low <= -margin:
            return "inconclusive: n too small"
        if self.low > 0 and self.high > margin:
            return "better"
        return "no detectable change"


def _weights(rng: np.random.Generator, strata: np.ndarray, size: int) -> np.ndarray:
    """(size, n) resampling counts, drawn within each stratum so every resample keeps the strata's counts."""
    weights = np.zeros((size, len(strata)), dtype=np.float32)
    for label in np.unique(strata):
        rows = np.flatnonzero(strata == label)
        if len(rows):
            picks = rng.integers(0, len(rows), size=(size, len(rows))) + np.arange(size)[:, None] * len(rows)
            counts = np.bincount(picks.ravel(), minlength=size * len(rows)).reshape(size, len(rows))
            weights[:, rows] = counts
    return weights


class _Ranked:
    """One model's scores sorted once: each resample only re-weights the rows.

    Average precision and ROC AUC change only at tie runs (thresholds) holding a positive, so both are sums
    over those runs: one cumulative sum over the negatives' weights, a small one over the positives'."""

    def __init__(self, y: np.ndarray, score: np.ndarray) -> None:
        self.order = np.argsort(-score, kind="mergesort")
        s = score[self.order]
        self.negative = (y[self.order] != 1).astype(np.float32)
        self.positives = np.flatnonzero(y[self.order] == 1)  # their positions in score order
        new_run = np.append(True, s[1:] != s[:-1])  # equal scores are one threshold
        starts = np.flatnonzero(new_run)
        runs = np.unique(np.cumsum(new_run)[self.positives] - 1)  # the runs that hold a positive
        self.start, self.stop = starts[runs], np.append(starts[1:], len(s))[runs]
        self.positives_before = np.searchsorted(self.positives, self.start)
        self.positives_through = np.searchsorted(self.positives, self.stop)

    def metrics(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        """Weighted average precision and ROC AUC per row of `weights`, ties treated as sklearn does."""
        w = weights[:, self.order]
        neg = np.zeros((len(w), w.shape[1] + 1))
        np.cumsum(w * self.negative, axis=1, dtype=np.float64, out=neg[:, 1:])
        pos = np.zeros((len(w), len(self.positives) + 1))
        np.cumsum(w[:, self.positives], axis=1, dtype=np.float64, out=pos[:, 1:])
        tp, gained = pos[:, self.positives_through], pos[:, self.positives_through] - pos[:, self.positives_before]
        fp, fp_before = neg[:, self.stop], neg[:, self.start]
        total_pos, total_neg = pos[:, -1], neg[:, -1]
        precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
        ap = np.sum(gained * precision, axis=1) / total_pos
        # Each positive outranks the negatives below its run and half of those tied with it (the trapezoid rule).
        auc = np.sum(gained * (total_neg[:, None] - (fp + fp_before) / 2), axis=1) / (total_pos * total_neg)
        return {"pr_auc": ap, "roc_auc": auc}


def weighted_metrics(
    y: np.ndarray, score: np.ndarray, weights: np.ndarray, threshold: float, ranked: _Ranked | None = None
) -> dict[str, np.ndarray]:
    """Every metric of METRICS for each row of `weights` (a weight of 1 everywhere gives the plain metric)."""
    out = (ranked or _Ranked(y, score)).metrics(weights)
    flagged = score >= threshold
    weights = weights.astype(np.float64)
    tp = weights @ (flagged & (y == 1)).astype(float)
    fp = weights @ (flagged & (y == 0)).astype(float)
    fn = weights @ (~flagged & (y == 1)).astype(float)
    out["precision"] = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
    out["recall"] = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=(tp + fn) > 0)
    out["f1"] = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros_like(tp), where=(2 * tp + fp + fn) > 0)
    out["brier"] = (weights @ (score - y) ** 2) / weights.sum(axis=1)
    return out


def _binary(y: np.ndarray, score: np.ndarray, threshold: float) -> Scorer:
    ranked = _Ranked(y, score)
    return lambda weights: weighted_metrics(y, score, weights, threshold, ranked)


def paired_bootstrap(
    y: np.ndarray,
    challenger: np.ndarray,
    champion: np.ndarray,
    threshold: float,
    metrics: tuple[str, ...] = METRICS,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Interval]:
    """Binary scores: percentile intervals of challenger - champion per metric (brier's sign flipped)."""
    y = np.asarray(y).astype(int)
    challenger, champion = np.asarray(challenger, float), np.asarray(champion, float)
    if not len(y) == len(challenger) == len(champion):
        raise ValueError("labels and both models' scores must cover the same rows")
    if len(np.unique(y)) < 2:
        raise ValueError("a comparison needs both classes among the rows")
    return paired_intervals(
        y,
        _binary(y, challenger, threshold),
        _binary(y, champion, threshold),
        metrics,
        LOWER_IS_BETTER,
        resamples,
        confidence,
        seed,
    )


def metric_intervals(
    y: np.ndarray,
    score: np.ndarray,
    threshold: float,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """One binary model's metrics with percentile intervals from the same stratified resampling."""
    y, score = np.asarray(y).astype(int), np.asarray(score, float)
    if len(np.unique(y)) < 2:
        raise ValueError("intervals need both classes among the rows")
    return intervals_of(y, _binary(y, score, threshold), METRICS, resamples, confidence, seed)


Scorer = Callable[[np.ndarray], dict[str, np.ndarray]]  # (resamples, n) weights -> {metric: (resamples,) values}


def paired_intervals(
    strata: np.ndarray,
    challenger: Scorer,
    champion: Scorer,
    metrics: tuple[str, ...],
    lower_is_better: frozenset[str],
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Interval]:
    """Percentile intervals of challenger - champion per metric, any task: each side is a weighted scorer of the
    same rows (sign flipped for lower-is-better metrics, so + is always better). One scorer on both sides (a
    champion that is this model) is scored once per resample."""
    rng = np.random.default_rng(seed)
    ones = np.ones((1, len(strata)))
    point_a = challenger(ones)
    point_b = point_a if champion is challenger else champion(ones)
    diffs: dict[str, list[np.ndarray]] = {m: [] for m in metrics}
    for start in range(0, resamples, CHUNK):
        w = _weights(rng, strata, min(CHUNK, resamples - start))
        a = challenger(w)
        b = a if champion is challenger else champion(w)
        for m in metrics:
            diffs[m].append(a[m] - b[m])
    alpha = (1 - confidence) / 2
    result = {}
    for m in metrics:
        sign = -1.0 if m in lower_is_better else 1.0
        d = sign * np.concatenate(diffs[m])
        low, high = np.quantile(d, [alpha, 1 - alpha])
        delta = sign * float(point_a[m][0] - point_b[m][0])
        low, high, delta = (round(float(v), 6) + 0.0 for v in (low, high, delta))  # + 0.0: no -0.0 in JSON
        result[m] = Interval(m, delta, low, high, confidence, resamples)
    return result


def intervals_of(
    strata: np.ndarray,
    scorer: Scorer,
    metrics: tuple[str, ...],
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """One model's metrics with percentile intervals from the same stratified resampling, any task."""
    rng = np.random.default_rng(seed)
    point = scorer(np.ones((1, len(strata))))
    draws: dict[str, list[np.ndarray]] = {m: [] for m in metrics}
    for start in range(0, resamples, CHUNK):
        values = scorer(_weights(rng, strata, min(CHUNK, resamples - start)))
        for m in metrics:
            draws[m].append(values[m])
    alpha = (1 - confidence) / 2
    out = {}
    for m in metrics:
        low, high = np.quantile(np.concatenate(draws[m]), [alpha, 1 - alpha])
        out[m] = {"value": round(float(point[m][0]), 6), "low": round(float(low), 6), "high": round(float(high), 6)}
    return out


RANKING = ("pr_auc", "roc_auc")


class _Expected:
    """Confidence-based performance estimation (CBPE, as NannyML does it): if the model is calibrated, a row
    scored p is a positive with probability p, so it counts as p of a positive and 1 - p of a negative, both at
    its score. The expected PR-AUC and ROC-AUC are then the weighted ones above, without a single label. It sees
    covariate shift (the inputs move), not concept drift (the same inputs now mean another label)."""

    def __init__(self, score: np.ndarray) -> None:
        self.p = np.clip(np.asarray(score, dtype=float), 0.0, 1.0)
        if self.p.sum() <= 0 or (1 - self.p).sum() <= 0:
            raise ValueError("scores are all 0 or all 1: no expected ranking")
        n = len(self.p)
        self.ranked = _Ranked(np.r_[np.ones(n, int), np.zeros(n, int)], np.r_[self.p, self.p])

    def metrics(self, counts: np.ndarray) -> dict[str, np.ndarray]:
        """Per row of `counts` (how often each row is drawn), the expected metrics of that resample."""
        return self.ranked.metrics(np.hstack([counts * self.p, counts * (1 - self.p)]))


def expected_metrics(score: np.ndarray) -> dict[str, float]:
    """Expected PR-AUC (average precision) and ROC-AUC of calibrated scores (CBPE)."""
    values = _Expected(score).metrics(np.ones((1, len(score))))
    return {m: float(values[m][0]) for m in RANKING}


def expected_difference(
    live: np.ndarray, reference: np.ndarray, resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> dict[str, Interval]:
    """CBPE live - reference per ranking metric with its percentile interval: each window's rows resampled on
    their own (they are different rows, not a pairing), so the interval is the noise of both windows' sizes."""
    sides = [_Expected(live), _Expected(reference)]
    rng = np.random.default_rng(seed)
    zeros = [np.zeros(len(side.p), int) for side in sides]
    diffs: dict[str, list[np.ndarray]] = {m: [] for m in RANKING}
    for start in range(0, resamples, CHUNK):
        size = min(CHUNK, resamples - start)
        a, b = (side.metrics(_weights(rng, y, size)) for side, y in zip(sides, zeros, strict=True))
        for m in RANKING:
            diffs[m].append(a[m] - b[m])
    points = [expected_metrics(side.p) for side in sides]
    alpha = (1 - confidence) / 2
    result = {}
    for m in RANKING:
        low, high = np.quantile(np.concatenate(diffs[m]), [alpha, 1 - alpha])
        delta, low, high = (round(float(v), 6) + 0.0 for v in (points[0][m] - points[1][m], low, high))
        result[m] = Interval(m, delta, low, high, confidence, resamples)
    return result
