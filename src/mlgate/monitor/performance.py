"""Performance in production: measured where labels arrived, estimated from the scores where they did not.

The estimate is confidence-based performance estimation (CBPE, as NannyML does it; NannyML itself does
not install with our pins): if the model is calibrated, a row scored p is a positive with probability p,
so walking the rows by descending score, the expected true positives are the running sum of p and the
expected false positives the running sum of 1 - p. That gives the expected ROC and precision-recall
curves, hence expected ROC-AUC and PR-AUC, without a single label. It sees covariate shift (the inputs
move), not concept drift (the same inputs now mean another label): that needs the real labels.
"""

from __future__ import annotations

import numpy as np


def expected_metrics(scores: np.ndarray) -> dict[str, float]:
    """Expected ROC-AUC and PR-AUC (average precision) of calibrated scores."""
    p = np.sort(np.clip(np.asarray(scores, dtype=float), 0.0, 1.0))[::-1]
    tp, fp = np.cumsum(p), np.cumsum(1.0 - p)
    positives, negatives = tp[-1], fp[-1]
    if positives <= 0 or negatives <= 0:
        raise ValueError("scores are all 0 or all 1: no expected ranking")
    tpr = np.concatenate([[0.0], tp / positives])
    fpr = np.concatenate([[0.0], fp / negatives])
    roc_auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    precision = tp / np.arange(1, len(p) + 1)
    pr_auc = float(np.sum(precision * p) / positives)
    return {"pr_auc": pr_auc, "roc_auc": roc_auc}
