"""A True/False column (a flag such as `married`; `mlgate init` contracts it as 0/1) is a feature the server
accepts as JSON true/false: the user's own rows, sent as they are, were refused with a 422."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from mlgate.data.schema import FeatureSchema
from mlgate.features import FeatureSpec
from mlgate.serve.requests import record_model

SPEC = FeatureSpec(numeric=["age", "married"], categorical=[])


def _schema() -> FeatureSchema:
    frame = pd.DataFrame({"age": [30, 41, 52], "married": [True, False, True]})
    return FeatureSchema.from_frame(frame, SPEC)


def test_a_true_false_column_is_a_boolean_feature():
    kinds = {f.name: f.kind for f in _schema().features}
    assert kinds == {"age": "integer", "married": "boolean"}


@pytest.mark.parametrize("strict", [True, False])
def test_true_and_false_are_accepted_and_other_values_named(strict):
    record = record_model(_schema(), strict=strict)
    assert record(age=30, married=True).model_dump()["married"] is True
    assert record(age=30, married=False).model_dump()["married"] is False
    with pytest.raises(ValidationError, match="married"):
        record(age=30, married="maybe")
    with pytest.raises(ValidationError, match="married"):
        record(age=30, married=None)
