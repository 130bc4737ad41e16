"""How far two samples of one distribution drift apart by chance alone, 1 % of the time.

A drift limit below that level blocks clean data at random: a 150-row dataset split 120/30 has a two-sample
KS of 0.24 about one time in eight. The drift checks hold a score to max(the configured limit, this level),
so the configured limit decides on data large enough to tell, and chance never does.
"""

from __future__ import annotations

import math

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
