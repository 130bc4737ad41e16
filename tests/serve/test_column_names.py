"""Column names pydantic will not take as field names (a leading underscore, a name its models reserve) are
served as they are: a forker's MongoDB-style export had `_id` and `_batch`, and the server died on start."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from mlgate.config import Params
from mlgate.pipeline import prepare, train
from mlgate.serve.app import create_app


@pytest.fixture
def model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
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


def test_underscore_and_reserved_column_names_are_served(model_dir: Path):
    record = {"_id": "a1", "_batch": 2, "model_config": 0.3, "x": 1.0}
    with TestClient(create_app(model_dir)) as client:
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
