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


def test_numeric_ranges_and_allowed_values_are_the_contracts_where_it_declares_them():
    """The data gate refuses training rows outside the contract, so the server must too; and what the contract
    allows beyond the few values training showed is a valid request (an attacker review found hour=40 scored
    against max 23, and tx_count 25 refused against max 500)."""
    import pytest
    from pydantic import ValidationError

    train = pd.DataFrame({"hour": [2, 20], "count": [1, 10], "age": [25.0, 60.0], "flag": [0, 1], "free": [5.0, 9.0]})
    spec = FeatureSpec(numeric=list(train.columns), categorical=[])
    contract = SchemaConfig(
        columns={
            "hour": {"type": "int", "min": 0, "max": 23},
            "count": {"type": "int", "min": 0, "max": 500},
            "age": {"type": "float", "min": 18},
            "flag": {"type": "int", "allowed": [0, 1]},
            "free": {"type": "float"},
        }
    )
    base = {"hour": 3, "count": 3, "age": 30.0, "flag": 1, "free": 7.0}
    for lax in (False, True):  # /predict, and /invocations (integers sent as doubles)
        Record = record_model(FeatureSchema.from_frame(train, spec, contract), strict=not lax)
        for field, value in {"hour": 40, "age": 5.0, "flag": 2, "free": 14.0, "count": -1}.items():
            with pytest.raises(ValidationError, match=field):
                Record(**base | {field: float(value) if lax else value})
        for field, value in {"hour": 23, "count": 25, "age": 90.0, "flag": 0, "free": 12.0}.items():
            Record(**base | {field: float(value) if lax else value})
