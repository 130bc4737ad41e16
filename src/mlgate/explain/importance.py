"""Permutation importance of several models on the same rows, and what changed between them beyond noise.

Each model is scored by sklearn's permutation_importance on one seeded sample of the test rows (the rows the
metrics came from), with the same shuffles for every model, so two models are compared pair for pair. A
feature's importance is how much the score drops when its column is shuffled; its interval is the spread of
one shuffle (mean +- z sd over the repeats), and its rank interval the ranks those intervals allow (it ranks
below every feature whose interval is wholly above its own, above every one wholly below). A change is
"beyond noise" when the difference of two means passes z times the two spreads combined, or the two rank
intervals do not meet: conservative on purpose, two seeds of one model must read as unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from mlgate.config import ExplainConfig

Scorer = Callable[[Any, pd.DataFrame, np.ndarray], float]


def sample_rows(n: int, rows: int, seed: int, strata: np.ndarray | None = None) -> np.ndarray:
    """Positions of at most `rows` of `n` rows, seeded; by stratum (e.g. class) when given, so a rare class
    keeps its share."""
    rng = np.random.default_rng(seed)
    if n <= rows:
        return np.arange(n)
    if strata is None:
        return np.sort(rng.choice(n, rows, replace=False))
    picked = []
    for value in np.unique(strata):
        where = np.flatnonzero(strata == value)
        take = max(1, round(len(where) * rows / n))
        picked.append(rng.choice(where, min(take, len(where)), replace=False))
    return np.sort(np.concatenate(picked))


def importance(model: Any, X: pd.DataFrame, y: np.ndarray, scorer: Scorer, config: ExplainConfig) -> dict:
    """One model's importances, most important first: mean, sd, interval, rank and rank interval."""
    from sklearn.inspection import permutation_importance

    found = permutation_importance(
        model, X, y, scoring=scorer, n_repeats=config.repeats, random_state=config.seed, n_jobs=1
    )
    z = float(norm.ppf(0.5 + config.confidence / 2))
    order = sorted(range(len(X.columns)), key=lambda i: (-found.importances_mean[i], str(X.columns[i])))
    features = []
    for position, i in enumerate(order, start=1):
        mean, sd = float(found.importances_mean[i]), float(found.importances_std[i])
        features.append(
            {
                "feature": str(X.columns[i]),
                "mean": round(mean, 6),
                "sd": round(sd, 6),
                "low": round(mean - z * sd, 6),
                "high": round(mean + z * sd, 6),
                "rank": position,
            }
        )
    for f in features:  # the ranks its interval allows: above every feature wholly below it, and so on
        f["rank_low"] = 1 + sum(g["low"] > f["high"] for g in features)
        f["rank_high"] = len(features) - sum(g["high"] < f["low"] for g in features)
    return {"score": round(float(scorer(model, X, y)), 6), "features": features}


def changes(this: dict, champion: dict, confidence: float) -> list[dict]:
    """The features whose importance or rank moved beyond noise from `champion` to `this`, largest move first."""
    z = float(norm.ppf(0.5 + confidence / 2))
    theirs = {f["feature"]: f for f in champion["features"]}
    moved = []
    for ours in this["features"]:
        old = theirs.get(ours["feature"])
        if old is None:
            continue
        delta = ours["mean"] - old["mean"]
        noise = z * float(np.hypot(ours["sd"], old["sd"]))
        ranks_apart = ours["rank_low"] > old["rank_high"] or old["rank_low"] > ours["rank_high"]
        if abs(delta) > noise or ranks_apart:
            moved.append(
                {
                    "feature": ours["feature"],
                    "rank_was": old["rank"],
                    "rank_now": ours["rank"],
                    "was": old["mean"],
                    "now": ours["mean"],
                    "delta": round(delta, 6),
                    "noise": round(noise, 6),
                }
            )
    return sorted(moved, key=lambda m: (-abs(m["delta"]), m["feature"]))


def explain(
    models: dict[str, Any], X: pd.DataFrame, y: np.ndarray, scorer: Scorer, metric: str, config: ExplainConfig
) -> dict:
    """Importances of every model (key "this" is this run's; the others are champions) on the rows of `X`,
    and per champion what changed. A model whose importance cannot be computed gets one `error` line. No
    timing: the same inputs give the same report, byte for byte."""
    found: dict[str, dict] = {}
    for key, model in models.items():
        twin = next((k for k in found if models[k] is model), None)  # one model under two keys: computed once
        if twin is not None:
            found[key] = found[twin]
            continue
        try:
            found[key] = importance(model, X, y, scorer, config)
        except Exception as exc:  # an explanation informs: its failure is said, never a failed gate
            found[key] = {"error": _line(exc)}
    moved = {}
    this = found.get("this", {})
    for key, entry in found.items():
        if key != "this" and "features" in entry and "features" in this:
            moved[key] = changes(this, entry, config.confidence)
    return {
        "metric": metric,
        "rows": len(X),
        "repeats": config.repeats,
        "seed": config.seed,
        "confidence": config.confidence,
        "models": found,
        "changes": moved,
    }


def _line(exc: Exception) -> str:
    return f"{exc.__class__.__name__}: {' '.join(str(exc).split())[:200]}"
