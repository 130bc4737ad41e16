"""Column names pydantic will not take as field names (a leading underscore, a name its models reserve) are
served as they are: a forker's MongoDB-style export had `_id` and `_batch`, and the server died on start."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from mlgate.config import Params
from mlgate.pipeline import prepare, train
from mlgate.serve.app import create_app
from tests.template.serve.test_id_column import ID


@pytest.fixture
def odd_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A model of a table whose columns are `_id`, `_batch`, `model_config`, `x` and `y`."""
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame(
        {
            "_id": [f"r{i}" for i in range(n)],
            "_batch": rng.integers(0, 5, n),
            "model_config": rng.normal(size=n),
            "x": rng.normal(size=n),
        }
    )
    frame["y"] = (frame["x"] + rng.normal(scale=0.5, size=n) > 0).astype(int)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    (tmp_path / "data").mkdir()
    frame.to_csv(tmp_path / "data/d.csv", index=False)
    params = Params.model_validate(
        {
            "data": {"path": "data/d.csv", "target": "y", "id_column": "_id"},
            "train": {"estimator": "logistic_regression"},
        }
    )
    prepare.run(params)
    train.run(params)
    return tmp_path / params.train.model_dir


@pytest.mark.smoke
def test_underscore_and_reserved_column_names_are_served(odd_names: Path):
    record = {"_id": "a1", "_batch": 2, "model_config": 0.3, "x": 1.0}
    with TestClient(create_app(odd_names)) as client:
        answer = client.post("/predict", json={"records": [record]})
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"][0]["_id"] == "a1"
        refused = client.post("/predict", json={"records": [record | {"_batch": "two"}]})
        assert refused.status_code == 422 and "records.0._batch" in refused.json()["detail"], refused.text
        extra = client.post("/predict", json={"records": [record | {"batch": 1}]})
        assert extra.status_code == 422 and "records.0.batch" in extra.json()["detail"], extra.text
        mlflow = client.post("/invocations", json={"dataframe_records": [record]})
        assert mlflow.status_code == 200, mlflow.text
        assert mlflow.json()["predictions"][0][1] == pytest.approx(answer.json()["predictions"][0]["score"])
        assert client.get("/ready").status_code == 200


def test_a_row_of_the_data_as_it_is_is_served_its_label_and_other_columns_ignored(client, records, model_dir):
    """A user's first request is a row of their own file: the label and the contract's other columns that are
    not features (data.not_features) are accepted and ignored; a column the data does not have is still refused.
    Found by forkers: 422 "Extra inputs are not permitted" for the label and for a date kept out of the features."""
    (label,) = [c for c in json.loads((model_dir / "feature_schema.json").read_text())["ignored"] if c != ID]
    plain = client.post("/predict", json={"records": records})
    full = client.post("/predict", json={"records": [{**r, label: 1} for r in records]})
    assert full.status_code == 200, full.text
    assert [p["score"] for p in full.json()["predictions"]] == [p["score"] for p in plain.json()["predictions"]]
    mlflow = client.post("/invocations", json={"dataframe_records": [{**r, label: 0} for r in records]})
    assert mlflow.status_code == 200, mlflow.text
    typo = client.post("/predict", json={"records": [{**r, label + "x": 1} for r in records]})
    assert typo.status_code == 422 and f"records.0.{label}x: Extra inputs are not permitted" in typo.text
