"""The feature schema learned from the training data: what the server accepts.

Stored beside the model (feature_schema.json) so the serving image validates requests
against exactly the data the model was trained on, without importing training code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel

from mlgate.bundle import FEATURE_SCHEMA
from mlgate.config import SchemaConfig
from mlgate.features import FeatureSpec


def _nullable(rules: dict, name: str) -> bool:
    return name in rules and rules[name].nullable


class Feature(BaseModel):
    name: str
    kind: Literal["integer", "number", "boolean", "category"]
    nullable: bool
    minimum: float | None = None
    maximum: float | None = None
    categories: list[str] | None = None
    values: list[float] | None = None  # a numeric column's allowed values (the contract's `allowed`)


class FeatureSchema(BaseModel):
    features: list[Feature]
    # The contract's other columns (the label, data.not_features): a row of the data as it is, accepted and ignored.
    ignored: list[str] = []

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, spec: FeatureSpec, contract: SchemaConfig | None = None) -> FeatureSchema:
        """Ranges are the observed ones widened by the observed span, so ordinary new values pass, except
        where the raw-data contract declares a bound or allowed values: the data gate holds training data to
        them, so the server holds requests to them, beyond what training happened to show or not further.

        What the contract allows is accepted too: a column it declares nullable may be null (the model
        imputes it) even when no training row was, and its allowed categories are valid requests."""
        rules = contract.columns if contract else {}
        features = []
        for name in spec.numeric:
            col = frame[name]
            if pd.api.types.is_bool_dtype(col):  # a True/False flag: sent as JSON true/false, as the data has it
                features.append(Feature(name=name, kind="boolean", nullable=_nullable(rules, name)))
                continue
            lo, hi = float(col.min()), float(col.max())
            pad = hi - lo
            rule = rules.get(name)
            values = sorted({float(v) for v in rule.allowed}) if rule and rule.allowed else None
            declared_min = rule.min if rule and rule.min is not None else (values[0] if values else None)
            declared_max = rule.max if rule and rule.max is not None else (values[-1] if values else None)
            features.append(
                Feature(
                    name=name,
                    kind="integer" if pd.api.types.is_integer_dtype(col) else "number",
                    nullable=bool(col.isna().any()) or _nullable(rules, name),
                    # non-negative features stay non-negative
                    minimum=declared_min if declared_min is not None else (0.0 if lo >= 0 else lo - pad),
                    maximum=declared_max if declared_max is not None else hi + pad,
                    values=values,
                )
            )
        for name in spec.categorical:
            col = frame[name]
            allowed = (rules[name].allowed or []) if name in rules else []
            cats = sorted({str(v) for v in col.dropna().unique()} | {str(v) for v in allowed})
            nullable = bool(col.isna().any()) or _nullable(rules, name)
            features.append(Feature(name=name, kind="category", nullable=nullable, categories=cats))
        return cls(features=features, ignored=[c for c in rules if c not in spec.columns])

    def save(self, model_dir: Path) -> None:
        (model_dir / FEATURE_SCHEMA).write_text(self.model_dump_json(indent=2))

    @classmethod
    def load(cls, model_dir: Path) -> FeatureSchema:
        return cls.model_validate(json.loads((model_dir / FEATURE_SCHEMA).read_text()))

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]
