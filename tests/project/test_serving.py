"""The served model answers real records of the user's data, with the scores the model gives them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from mlgate.data.schema import FeatureSchema
from mlgate.model_io import load_model
from mlgate.serve.app import create_app


@pytest.fixture(scope="module")
def client(model_dir):
    with TestClient(create_app(model_dir)) as c:
        yield c


def test_real_records_are_served(client, model_dir, train_split):
    """Rows of the user's data as a client sends them (JSON: missing values as null)."""
    names = FeatureSchema.load(model_dir).names
    rows = train_split[names].head(5)
    response = client.post("/predict", json={"records": json.loads(rows.to_json(orient="records"))})
    assert response.status_code == 200, response.text
    scores = [p["score"] for p in response.json()["predictions"]]
    assert len(scores) == len(rows) and all(0.0 <= s <= 1.0 for s in scores)
    assert np.allclose(scores, load_model(model_dir).predict_proba(rows)[:, 1], rtol=0, atol=1e-9)
