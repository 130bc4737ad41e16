"""The model's id column (serving.json, from data.id_column at train time): accepted on /predict and /invocations,
echoed in each prediction and in the prediction log, never scored, and the key that joins feedback labels."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from mlgate.config import load_params
from mlgate.monitor import feedback
from mlgate.monitor.log import REQUEST_ID, PredictionLog
from mlgate.monitor.run import read_window
from mlgate.serve.app import create_app

ID = "transaction_id"  # tests/template/fixtures/params.yaml data.id_column


def _scores(answer) -> list[float]:
    assert answer.status_code == 200, answer.text
    return [p["score"] for p in answer.json()["predictions"]]


def test_the_bundle_names_its_id_column(model_dir: Path):
    assert json.loads((model_dir / "serving.json").read_text())["id_column"] == ID


def test_a_record_with_its_id_is_scored_and_the_id_echoed(client, records):
    ids = [f"tx-{i}" for i in range(len(records))]
    answer = client.post("/predict", json={"records": [{**r, ID: i} for r, i in zip(records, ids, strict=True)]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [p[ID] for p in body["predictions"]] == ids
    assert len(body["request_id"]) == 32
    without = client.post("/predict", json={"records": records}).json()
    assert all(set(p) == {"score", "positive"} for p in without["predictions"])  # no id sent, none echoed
    assert without["request_id"] != body["request_id"]


def test_an_id_value_never_changes_the_score(client, records):
    plain = _scores(client.post("/predict", json={"records": records}))
    for value in ("a", "9" * 200, 0, -(2**62), "amount"):
        with_id = _scores(client.post("/predict", json={"records": [{**r, ID: value} for r in records]}))
        assert with_id == plain, value
    rows = [{**r, ID: f"x{i}"} for i, r in enumerate(records)]
    mlflow = client.post("/invocations", json={"dataframe_records": rows})
    assert mlflow.status_code == 200, mlflow.text
    assert [p[1] for p in mlflow.json()["predictions"]] == pytest.approx(plain, abs=1e-12)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([1], f"records.0.{ID}"),
        (1.5, f"records.0.{ID}"),
        ("", f"records.0.{ID}"),
        ("x" * 201, f"records.0.{ID}"),
    ],
)
def test_a_bad_id_is_a_422_naming_it(client, records, value, expected):
    answer = client.post("/predict", json={"records": [{**records[0], ID: value}]})
    assert answer.status_code == 422 and answer.json()["detail"].startswith(expected), answer.text


def test_a_model_without_id_column_refuses_it_and_answers_with_the_request_id(model_dir, records, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    serving = json.loads((copy / "serving.json").read_text())
    (copy / "serving.json").write_text(json.dumps({**serving, "id_column": None}))
    schema = json.loads((copy / "feature_schema.json").read_text())  # a table without that column
    ignored = [c for c in schema["ignored"] if c != ID]
    (copy / "feature_schema.json").write_text(json.dumps({**schema, "ignored": ignored}))
    with TestClient(create_app(copy)) as c:
        refused = c.post("/predict", json={"records": [{**records[0], ID: "t1"}]})
        assert refused.status_code == 422 and "Extra inputs are not permitted" in refused.json()["detail"]
        answer = c.post("/predict", json={"records": records[:1]}).json()
    assert set(answer["predictions"][0]) == {"score", "positive"} and answer["request_id"]


def test_the_id_is_logged_from_both_endpoints_and_joins_feedback(trained_dir: Path, model_dir: Path, records, tmp_path):
    params = load_params(trained_dir / "params.yaml")
    params = params.model_copy(
        update={"monitor": params.monitor.model_copy(update={"log_uri": str(tmp_path / "log"), "flush_seconds": 0.2})}
    )
    log = PredictionLog(params.monitor).start()
    ids = [f"tx-{i}" for i in range(len(records))]
    with TestClient(create_app(model_dir, prediction_log=log)) as c:
        first = c.post("/predict", json={"records": [{**r, ID: i} for r, i in zip(records, ids, strict=True)]})
        assert first.status_code == 200
        single = c.post("/predict", json={"records": records[:1]}).json()  # no id: joined by its request id
        mlflow = c.post("/invocations", json={"dataframe_records": [{**records[0], ID: "inv-0"}]})  # logged too
        assert mlflow.status_code == 200
    labels = pd.DataFrame({ID: ids[:2], params.data.target: [1, 0]})
    labels.to_csv(tmp_path / "labels.csv", index=False)
    feedback.append(tmp_path / "labels.csv", params)
    pd.DataFrame({"request_id": [single["request_id"]], params.data.target: [1]}).to_csv(
        tmp_path / "by-request.csv", index=False
    )
    feedback.append(tmp_path / "by-request.csv", params)

    live, _ = read_window(params, timedelta(hours=1))
    assert len(live) == len(records) + 2
    joined = dict(zip(live[ID].fillna(live[REQUEST_ID]), live["mlgate_label"], strict=True))
    assert joined["tx-0"] == 1 and joined["tx-1"] == 0
    assert all(pd.isna(joined[i]) for i in ids[2:])
    assert joined[single["request_id"]] == 1 and pd.isna(joined["inv-0"])
