"""Which columns are features, and of which kind: decided from the data, not hard-coded.

Dropping in your own dataset only needs `data.target` and `data.id_column` in params.yaml:
text columns become categorical features, numbers numeric ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mlgate.config import DataConfig


@dataclass(frozen=True)
class FeatureSpec:
    numeric: list[str]
    categorical: list[str]

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.categorical]


def feature_spec(frame: pd.DataFrame, data: DataConfig) -> FeatureSpec:
    """Split the non-id, non-target columns into numeric and categorical."""
    candidates = data.features_of(frame.columns)
    numeric = [c for c in candidates if pd.api.types.is_numeric_dtype(frame[c])]
    categorical = [c for c in candidates if c not in numeric]
    return FeatureSpec(numeric=numeric, categorical=categorical)
