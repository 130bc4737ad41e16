"""How the explanations and the behaviour checks read a model: the task seam.

They never index `predict_proba` themselves: a task says what one row's prediction is (the number the
behaviour checks compare), which class a row is given (golden cases) and which score a permutation lowers
(importance). `for_task` gives each task's: binary's reads the positive class's probability at the operating
threshold; multiclass and regression read what the task predicts (class probabilities, a value).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlgate.config import LOWER_IS_BETTER, Params


@dataclass(frozen=True)
class Outputs:
    predict: Callable[[Any, pd.DataFrame], np.ndarray]  # one number per row (or a row of numbers)
    decide: Callable[[Any, pd.DataFrame], np.ndarray]  # the class each row is given, as `label` encodes it
    label: Callable[[object], object]  # a golden file's expected class, encoded; ValueError when unknown
    shown: Callable[[object], str]  # an encoded class, for people
    scorer: Callable[[Any, pd.DataFrame, np.ndarray], float]  # higher is better: what a shuffle lowers
    metric: str  # the scorer's name, for people
    stratify: bool = True  # sample rows by label (classes), not at random (a continuous target)


def binary(params: Params, metric: str | None = None) -> Outputs:
    """The positive class's probability, the operating threshold, and `metric` (default: the explanations'
    metric in params.yaml) on that probability; brier is negated so higher is better for every metric."""
    from mlgate.pipeline.metrics import score_metrics

    threshold = params.evaluate.threshold
    metric = metric or params.gates.model.explain.metric or params.data.kind.headline
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    rule = params.schema_.columns.get(params.data.target)
    known = [str(v) for v in rule.allowed] if rule is not None and rule.allowed else None

    def predict(model: Any, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(model.predict_proba(frame)[:, 1], dtype=float)

    def label(value: object) -> int:
        text = str(value).strip()
        if known is not None and text not in known and text.lower() not in {k.lower() for k in known}:
            raise ValueError(f"{value!r} is not a label of '{params.data.target}' (expected one of {known})")
        positive = str(params.data.positive).strip().lower()
        return int(text.lower() == positive or _number(text) == _number(positive))

    ranking = _ranking()

    def scorer(model: Any, frame: pd.DataFrame, y: np.ndarray) -> float:
        score, y = predict(model, frame), np.asarray(y)
        if metric in ranking:  # one sklearn call, not all six: a third of the explanations' time
            return sign * ranking[metric](y, score)
        return sign * score_metrics(y, score, threshold)[metric]

    return Outputs(
        predict=predict,
        decide=lambda model, frame: (predict(model, frame) >= threshold).astype(int),
        label=label,
        shown=lambda encoded: f"{params.data.positive} (positive)" if encoded == 1 else f"not {params.data.positive}",
        scorer=scorer,
        metric=metric,
    )


def for_task(params: Params) -> Outputs:
    """The task's outputs. Multiclass: the probability rows (an invariance compares every class's), the class
    each row is given (golden cases name a class as the data writes it); regression: the value (golden cases give
    a range). The importance metric is `gates.model.explain.metric`, else the task's headline metric."""
    task = params.data.kind
    if task.name == "binary":
        return binary(params)
    metric = params.gates.model.explain.metric or task.headline
    sign = -1.0 if metric in task.lower_is_better else 1.0
    threshold = params.evaluate.threshold

    def scorer(model: Any, frame: pd.DataFrame, y: np.ndarray) -> float:
        truth = task.truth(y, model)
        return sign * task.point_metrics(truth, task.predict(model, frame), threshold)[metric]

    def decide(model: Any, frame: pd.DataFrame) -> np.ndarray:
        if task.name == "regression":
            return np.full(len(frame), None, dtype=object)  # a value has no class: golden cases give a range
        return np.asarray([str(c) for c in model.predict(frame)], dtype=object)

    return Outputs(
        predict=task.predict,
        decide=decide,
        label=lambda value: str(value).strip(),
        shown=str,
        scorer=scorer,
        metric=metric,
        stratify=task.name != "regression",
    )


def _ranking() -> dict[str, Callable[[np.ndarray, np.ndarray], float]]:
    from sklearn import metrics as skm

    return {"pr_auc": skm.average_precision_score, "roc_auc": skm.roc_auc_score, "brier": skm.brier_score_loss}


def _number(text: str) -> float | None:
    """ "1", "1.0" and 1 are one label once read from a CSV."""
    try:
        return float(text)
    except ValueError:
        return None
