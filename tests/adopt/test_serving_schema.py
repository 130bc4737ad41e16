"""The server accepts what the raw-data contract allows, not only what the training rows happened to show."""

from __future__ import annotations

import pandas as pd

from mlgate.config import SchemaConfig
from mlgate.data.schema import FeatureSchema
from mlgate.features import FeatureSpec
from mlgate.serve.requests import record_model


def test_contract_nullability_and_categories_reach_the_request_schema():
    # labeled rows without nulls; the unlabeled ones (dropped before training) had them
    train = pd.DataFrame({"x": [1.0, 2.0], "c": ["a", "b"]})
    spec = FeatureSpec(numeric=["x"], categorical=["c"])
    contract = SchemaConfig(
        columns={
            "x": {"type": "float", "nullable": True},
            "c": {"type": "string", "nullable": True, "allowed": ["a", "b", "z"]},
        }
    )
    Record = record_model(FeatureSchema.from_frame(train, spec, contract))
    Record(x=None, c=None)
    Record(x=1.5, c="z")
    strict = record_model(FeatureSchema.from_frame(train, spec))
    assert not strict.model_json_schema()["properties"]["x"].get("anyOf")  # observed only: not nullable
