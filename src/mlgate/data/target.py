"""The binary target: whatever its labels (0/1, Yes/No, male/female), the positive one becomes 1."""

from __future__ import annotations

import pandas as pd

from mlgate.config import DataConfig
from mlgate.errors import MlgateError


def _same(value: object, positive: object) -> bool:
    """Labels read from CSV may be 1, 1.0, True or "1" for the same configured value."""
    return value == positive or str(value).strip().lower() == str(positive).strip().lower()


def encode_target(labels: pd.Series, data: DataConfig) -> pd.Series:
    """1.0 for the positive label, 0.0 for the other one, NaN where unlabeled.

    A target with other than two distinct labels, or without the configured positive one, is an error."""
    values = labels.dropna().unique().tolist()
    if len(values) != 2:
        shown = sorted(map(str, values))[:5]
        raise MlgateError(
            f"{data.path}: target '{data.target}' must have exactly two labels, found {len(values)} {shown}"
        )
    matches = [v for v in values if _same(v, data.positive)]
    if len(matches) != 1:
        quote = "; YAML reads a plain Yes/No/on/off as a boolean: quote the label, e.g. positive: 'Yes'"
        raise MlgateError(
            f"params.yaml: data.positive {data.positive!r} is not one of the labels of '{data.target}' "
            f"({sorted(map(str, values))}){quote if isinstance(data.positive, bool) else ''}"
        )
    return labels.map(lambda v: float(v == matches[0]) if pd.notna(v) else float("nan"))
