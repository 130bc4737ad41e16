"""The served model answers real records of the user's data, with the scores the model gives them."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from mlgate.data.schema import FeatureSchema
from mlgate.serve.app import create_app


@pytest.fixture(scope="module")
def client(project_model_dir):
    with TestClient(create_app(project_model_dir)) as c:
        yield c


def test_real_records_are_served(client, project_params, project_model_dir, trained_model, train_split):
    """Rows of the user's data as a client sends them (JSON: missing values as null)."""
    names = FeatureSchema.load(project_model_dir).names
    rows = train_split[names].head(5)
    response = client.post("/predict", json={"records": json.loads(rows.to_json(orient="records"))})
    assert response.status_code == 200, response.text
    answers = response.json()["predictions"]
    task, model, threshold = project_params.data.kind, trained_model, project_params.evaluate.threshold
    expected = [task.answer(v, task.classes(model), threshold) for v in task.predict(model, rows)]
    assert len(answers) == len(rows) and [set(a) for a in answers] == [set(e) for e in expected]
    for answer, wanted in zip(answers, expected, strict=True):  # a score, a class and its probabilities, a value
        for key, value in wanted.items():
            close = isinstance(value, float | dict)
            assert answer[key] == (pytest.approx(value, rel=0, abs=1e-9) if close else value), key
