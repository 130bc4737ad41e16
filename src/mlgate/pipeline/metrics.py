"""Classification metrics and curves at the operating threshold, shared by evaluate and the gates."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm


def score_metrics(y_true: np.ndarray, score: np.ndarray, threshold: float) -> dict[str, float]:
    """The headline metrics; ranking metrics need both classes, so a single-class y is an error."""
    if len(np.unique(y_true)) < 2:
        raise ValueError("metrics need both classes in y_true")
    decision = score >= threshold
    return {
        "pr_auc": float(skm.average_precision_score(y_true, score)),
        "roc_auc": float(skm.roc_auc_score(y_true, score)),
        "f1": float(skm.f1_score(y_true, decision, zero_division=0)),
        "precision": float(skm.precision_score(y_true, decision, zero_division=0)),
        "recall": float(skm.recall_score(y_true, decision, zero_division=0)),
        "brier": float(skm.brier_score_loss(y_true, score)),
    }


def brier_skill(brier: float, prevalence: float) -> float:
    """1 - Brier / Brier of always predicting the prevalence p (= p (1 - p)): 0 for that constant guess, 1 perfect.

    Unlike a raw Brier limit it fits any prevalence: a balanced target's constant guess scores 0.25."""
    reference = prevalence * (1 - prevalence)
    if reference <= 0:
        raise ValueError("Brier skill needs both classes in the test set")
    return 1 - brier / reference


def normalised_lift(pr_auc: float, prevalence: float) -> float:
    """(PR-AUC - p) / (1 - p): 0 for a random ranking (PR-AUC = p), 1 for a perfect one, at any prevalence p."""
    if not 0 < prevalence < 1:
        raise ValueError("the PR-AUC lift needs both classes in the test set")
    return (pr_auc - prevalence) / (1 - prevalence)


def _thin(points: list[dict], most: int = 200) -> list[dict]:
    """Keep at most `most` points (first and last included) so plot files stay small."""
    if len(points) <= most:
        return points
    keep = np.unique(np.linspace(0, len(points) - 1, most).round().astype(int))
    return [points[i] for i in keep]


def roc_points(y_true: np.ndarray, score: np.ndarray) -> list[dict]:
    fpr, tpr, _ = skm.roc_curve(y_true, score)
    return _thin([{"fpr": round(float(f), 4), "tpr": round(float(t), 4)} for f, t in zip(fpr, tpr, strict=True)])


def pr_points(y_true: np.ndarray, score: np.ndarray) -> list[dict]:
    precision, recall, _ = skm.precision_recall_curve(y_true, score)
    points = [
        {"recall": round(float(r), 4), "precision": round(float(p), 4)} for p, r in zip(precision, recall, strict=True)
    ]
    return _thin(points[::-1])
