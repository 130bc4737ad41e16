"""Permutation importance of several models on the same rows, and what changed between them beyond noise.

Each model is scored by permutation importance on one seeded sample of the test rows (the rows the metrics
came from), with the same shuffles for every model, so two models are compared pair for pair. The shuffles are
sklearn's permutation_importance's, draw for draw; the repeats of one feature are predicted in one call (a
pipeline's fixed cost per call was most of the gate's explanation time), then rated one by one. A
feature's importance is how much the score drops when its column is shuffled; its interval is the spread of
one shuffle (mean +- z sd over the repeats), and its rank interval the ranks those intervals allow (it ranks
below every feature whose interval is wholly above its own, above every one wholly below). A change is
"beyond noise" when the difference of two means passes z times the two spreads combined, or the two rank
intervals do not meet: conservative on purpose, two seeds of one model must read as unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from mlgate.config import ExplainConfig
from mlgate.explain.outputs import Outputs


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


def permuted_scores(model: Any, X: pd.DataFrame, y: np.ndarray, outputs: Outputs, config: ExplainConfig):
    """(the unshuffled rate, the rates with each column shuffled: features x repeats).

    The shuffles sklearn's permutation_importance draws: one seed from `config.seed`, the same for every column,
    each repeat shuffling the already shuffled column again. All repeats of a column are one `predict` call."""
    from sklearn.utils import check_random_state

    seed = check_random_state(config.seed).randint(np.iinfo(np.int32).max + 1)
    n, repeats = len(X), config.repeats
    baseline = outputs.rate(model, y, outputs.predict(model, X))
    stacked = pd.concat([X] * repeats, ignore_index=True)
    scores = np.empty((X.shape[1], repeats))
    for j, column in enumerate(X.columns):
        rng, shuffle, order = check_random_state(seed), np.arange(n), np.arange(n)
        orders = []
        for _ in range(repeats):
            rng.shuffle(shuffle)
            order = order[shuffle]  # sklearn reads the shuffled column back through the new shuffle
            orders.append(order)
        unshuffled = stacked[column]
        stacked[column] = X[column].iloc[np.concatenate(orders)].set_axis(stacked.index)  # its dtype kept
        predicted = outputs.predict(model, stacked)
        scores[j] = [outputs.rate(model, y, predicted[r * n : (r + 1) * n]) for r in range(repeats)]
        stacked[column] = unshuffled
    return baseline, scores


def importance(model: Any, X: pd.DataFrame, y: np.ndarray, outputs: Outputs, config: ExplainConfig) -> dict:
    """One model's importances, most important first: mean, sd, interval, rank and rank interval."""
    baseline, scores = permuted_scores(model, X, y, outputs, config)
    drops = baseline - scores
    means, sds = drops.mean(axis=1), drops.std(axis=1)
    z = float(norm.ppf(0.5 + config.confidence / 2))
    order = sorted(range(len(X.columns)), key=lambda i: (-means[i], str(X.columns[i])))
    features = []
    for position, i in enumerate(order, start=1):
        mean, sd = float(means[i]), float(sds[i])
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
    return {"score": round(float(baseline), 6), "features": features}


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


def explain(models: dict[str, Any], X: pd.DataFrame, y: np.ndarray, outputs: Outputs, config: ExplainConfig) -> dict:
    """Importances of every model (key "this" is this run's; the others are champions) on the rows of `X`,
    and per champion what changed. A model whose importance cannot be computed gets one `error` line. No
    timing: the same inputs give the same report, byte for byte."""
    found: dict[str, dict] = {}
    for key, model in models.items():
        try:
            found[key] = importance(model, X, y, outputs, config)
        except Exception as exc:  # an explanation informs: its failure is said, never a failed gate
            found[key] = {"error": _line(exc)}
    moved = {}
    this = found.get("this", {})
    for key, entry in found.items():
        if key != "this" and "features" in entry and "features" in this:
            moved[key] = changes(this, entry, config.confidence)
    return {
        "metric": outputs.metric,
        "rows": len(X),
        "repeats": config.repeats,
        "seed": config.seed,
        "confidence": config.confidence,
        "models": found,
        "changes": moved,
    }


def _line(exc: Exception) -> str:
    return f"{exc.__class__.__name__}: {' '.join(str(exc).split())[:200]}"
