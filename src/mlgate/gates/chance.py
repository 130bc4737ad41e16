"""How far two samples of one distribution drift apart by chance alone, 1 % of the time.

A drift limit below that level blocks clean data at random: a 150-row dataset split 120/30 has a two-sample
KS of 0.24 about one time in eight. The drift checks hold a score to max(the configured limit, this level),
so the configured limit decides on data large enough to tell, and chance never does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from scipy.stats import chi2

OTHER_BIN = 101  # deepchecks bins categories under 1 % of the rows into "Other": at most 100 named + 1


def ks_level(n: int, m: int, coefficient: float = 1.63) -> float:
    """The two-sample Kolmogorov-Smirnov statistic (deepchecks' numeric drift score) for n and m rows."""
    return coefficient * math.sqrt((n + m) / (n * m))


def cramers_v_level(n: int, m: int, categories: int) -> float:
    """deepchecks' categorical drift score: bias-corrected Cramér's V of the 2 x k table, after it cuts the larger
    sample to the smaller one's size."""
    k, rows = min(max(categories, 2), OTHER_BIN), 2 * min(n, m)
    return math.sqrt(max(0.0, chi2.ppf(0.99, k - 1) - (k - 1)) / rows)


@dataclass(frozen=True)
class Chance:
    """The drift scores two samples reach by chance, per kind of score; 0 where there is nothing to compare."""

    categorical: float = 0.0  # for the most categories a categorical feature has
    numeric: float = 0.0
    label: float = 0.0  # the label (the task's kind of score)

    def limit(self, kind: str, configured: float) -> float:
        return max(configured, getattr(self, kind))

    def raised(self, configured: float, kinds: tuple[str, ...]) -> str:
        """' (or the 1 % chance level ...)' for the kinds where chance is above the configured limit, else ''."""
        above = [f"{kind} {getattr(self, kind):.3f}" for kind in kinds if getattr(self, kind) > configured]
        return f" (or the 1 % chance level at these sizes: {', '.join(above)})" if above else ""


def between(first, second, task=None) -> Chance:
    """What chance alone reaches between two deepchecks datasets (train/test, reference/current); the label's
    level is the task's (mlgate/task.py; binary by default)."""
    from mlgate.task import TASKS

    n, m = len(first.data), len(second.data)
    categories = [pd.concat([first.data[c], second.data[c]]).nunique() for c in first.cat_features]
    labels = pd.concat([first.data[first.label_name], second.data[second.label_name]])
    return Chance(
        categorical=cramers_v_level(n, m, max(categories)) if categories else 0.0,
        numeric=ks_level(n, m),
        label=(task or TASKS["binary"]).label_chance(n, m, labels),
    )
