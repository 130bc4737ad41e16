"""The deepchecks checks mlgate runs, each with its condition (code default, params.yaml override) and the number
it measures.

deepchecks' default suites run ~40 checks; these are the ones that catch real failures of
tabular training data and models, configured with explicit conditions so every verdict
carries a measured value and the threshold it was held to.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from mlgate.config import CheckConfig
from mlgate.gates.chance import Chance

warnings.filterwarnings("ignore", module="deepchecks")  # deepchecks' own deprecation chatter
# deepchecks' notebook support imports jsonschema, which compiles an IRI grammar at import when rfc3987_syntax is
# installed: ~2 s of every gate for a string format mlgate never validates. Absent, jsonschema skips that format.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
from deepchecks.tabular import checks as dc  # noqa: E402

Scope = Literal["raw", "raw_sample", "split", "reference"]


@dataclass(frozen=True)
class Spec:
    scope: Scope
    key: str  # the condition's key in params.yaml
    build: Callable[..., Any]  # (condition value, seed[, chance]) -> deepchecks check with its condition
    measure: Callable[[Any], float]  # check result value -> the number reported
    describe: str  # the condition, with {} for the threshold
    drift: tuple[str, ...] = ()  # drift scores, each held to max(limit, what chance reaches): Chance's fields


def _max(values) -> float:
    values = [float(v) for v in values if v is not None and v == v]  # drop None (an all-empty column) and NaN
    return max(values, default=0.0)


def _drift_score(value: dict) -> float:
    return float(value["Drift score"])


def _max_feature_drift(value: dict) -> float:
    return _max(f["Drift score"] for f in value.values())


def _feature_drift(limit: float, seed: int, chance: Chance) -> Any:
    return dc.FeatureDrift(random_state=seed).add_condition_drift_score_less_than(
        chance.limit("categorical", limit), chance.limit("numeric", limit)
    )


def _label_drift(limit: float, seed: int, chance: Chance) -> Any:
    return dc.LabelDrift(random_state=seed).add_condition_drift_score_less_than(chance.limit("label", limit))


def _rare_type_ratio(value: dict) -> float:
    """The largest rarer-type share: per column deepchecks gives {"strings": r, "numbers": r, "*_examples": {...}}."""
    ratios = ({k: v for k, v in types.items() if not k.endswith("_examples")} for types in value.values())
    return _max(min(r.values()) for r in ratios if len(r) >= 2)


DEEPCHECKS: dict[str, Spec] = {
    "data_duplicates": Spec(
        "raw",
        "max_ratio",
        lambda t, seed: dc.DataDuplicates(random_state=seed).add_condition_ratio_less_or_equal(t),
        float,
        "duplicate rows ratio <= {}",
    ),
    "mixed_data_types": Spec(
        "raw",
        "max_ratio",
        lambda t, seed: dc.MixedDataTypes(random_state=seed).add_condition_rare_type_ratio_not_in_range((1e-9, t)),
        _rare_type_ratio,
        "rare type ratio per column not in (0, {}]",
    ),
    "string_mismatch": Spec(
        "raw",
        "max_variants",
        lambda t, seed: dc.StringMismatch(random_state=seed).add_condition_number_variants_less_or_equal(int(t)),
        lambda v: float(sum(len(c) for c in v["columns"].values())),
        "string variants <= {}",
    ),
    "feature_label_correlation": Spec(
        "raw_sample",
        "max_pps",
        lambda t, seed: dc.FeatureLabelCorrelation(random_state=seed).add_condition_feature_pps_less_than(t),
        lambda v: _max(v.values()),
        "PPS of every feature < {} (leakage: one feature alone predicts the label nearly perfectly)",
    ),
    "feature_drift": Spec(
        "split",
        "max_score",
        _feature_drift,
        _max_feature_drift,
        "drift score per feature < {}",
        drift=("categorical", "numeric"),
    ),
    "label_drift": Spec(
        "split",
        "max_score",
        _label_drift,
        _drift_score,
        "label drift score < {}",
        drift=("label",),
    ),
    "new_category": Spec(
        "split",
        "max_ratio",
        lambda t, seed: dc.NewCategoryTrainTest(random_state=seed).add_condition_new_category_ratio_less_or_equal(t),
        lambda v: _max(v["Ratio of New Categories"]) if len(v) else 0.0,
        "new-category ratio <= {}",
    ),
    "reference_feature_drift": Spec(
        "reference",
        "max_score",
        _feature_drift,
        _max_feature_drift,
        "drift vs reference per feature < {}",
        drift=("categorical", "numeric"),
    ),
    "reference_label_drift": Spec(
        "reference",
        "max_score",
        _label_drift,
        _drift_score,
        "label drift vs reference < {}",
        drift=("label",),
    ),
}


def build(name: str, config: CheckConfig, seed: int, chance: Chance = Chance()) -> Any:
    spec = DEEPCHECKS[name]
    extra = (chance,) if spec.drift else ()
    return spec.build(config.condition(spec.key), seed, *extra)


def describe(name: str, config: CheckConfig, chance: Chance = Chance()) -> str:
    spec = DEEPCHECKS[name]
    limit = config.condition(spec.key)
    return spec.describe.format(limit) + chance.raised(limit, spec.drift)
