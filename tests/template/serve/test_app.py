"""The server in-process: predictions equal the model's, every kind of bad input gets a 4xx that says why."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from mlgate.model_io import load_model
from mlgate.serve.app import create_app


def test_predict_matches_the_model(client, records, model_dir):
    response = client.post("/predict", json={"records": records})
    assert response.status_code == 200
    body = response.json()
    expected = load_model(model_dir).predict_proba(pd.DataFrame(records))[:, 1]
    assert [p["score"] for p in body["predictions"]] == pytest.approx(list(expected), abs=1e-12)
    assert [p["positive"] for p in body["predictions"]] == [bool(v >= body["threshold"]) for v in expected]
    assert all(set(p) == {"score", "positive"} for p in body["predictions"])
    assert body["threshold"] == 0.2 and body["model_version"]


def test_invocations_speaks_the_mlflow_protocol(client, records):
    columns = list(records[0])
    split = {"dataframe_split": {"columns": columns, "data": [[r[c] for c in columns] for r in records]}}
    as_records = {"dataframe_records": records}
    as_inputs = {"inputs": {c: [r[c] for r in records] for c in columns}}
    answers = [client.post("/invocations", json=body) for body in (split, as_records, as_inputs)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    first = answers[0].json()["predictions"]
    assert all(a.json()["predictions"] == first for a in answers)
    assert all(math.isclose(p0 + p1, 1.0) for p0, p1 in first)
    scores = client.post("/predict", json={"records": records}).json()["predictions"]
    assert [p[1] for p in first] == pytest.approx([s["score"] for s in scores])


def _bad(client, body=None, **kwargs):
    response = client.post("/predict", json=body, **kwargs) if body is not None else client.post("/predict", **kwargs)
    assert 400 <= response.status_code < 500, response.text
    return response.status_code, response.json()["detail"]


@pytest.mark.parametrize(
    ("change", "status", "fragment"),
    [
        (lambda r: {k: v for k, v in r.items() if k != "hour"}, 422, "records.0.hour: Field required"),
        (lambda r: {**r, "extra": 1}, 422, "records.0.extra: Extra inputs are not permitted"),
        (lambda r: {**r, "amount": "12.5"}, 422, "records.0.amount: Input should be a valid number"),
        (lambda r: {**r, "hour": 3.5}, 422, "records.0.hour: Input should be a valid integer"),
        (lambda r: {**r, "country": "ZZ"}, 422, "records.0.country: Input should be 'BR'"),
        (lambda r: {**r, "amount": -3.0}, 422, "records.0.amount: Input should be greater than or equal to 0"),
        (lambda r: {**r, "channel": None}, 422, "records.0.channel"),
    ],
    ids=["missing", "extra", "wrong-type", "fractional-int", "unknown-category", "out-of-range", "null"],
)
def test_bad_fields_name_the_field(client, records, change, status, fragment):
    code, detail = _bad(client, {"records": [change(records[0])]})
    assert code == status and fragment in detail


def test_nan_and_infinity_are_rejected(client, records):
    import json

    for token in ("NaN", "Infinity", "-Infinity"):
        raw = json.dumps({"records": [records[0]]}).replace(str(records[0]["amount"]), token, 1)
        code, detail = _bad(client, content=raw, headers={"content-type": "application/json"})
        assert code == 422 and "records.0.amount: Input should be a finite number" in detail


def test_nullable_feature_accepts_null(client, records):
    response = client.post("/predict", json={"records": [{**records[0], "distance_from_last_tx_km": None}]})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("kwargs", "status", "fragment"),
    [
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "not valid JSON"),
        ({"content": b"records=1", "headers": {"content-type": "text/plain"}}, 415, "application/json"),
        ({"json": {"records": []}}, 422, "records: List should have at least 1 item"),
        ({"json": {"rows": []}}, 422, "records: Field required"),
        ({"json": [1, 2]}, 422, "Input should be a valid dictionary"),
    ],
    ids=["malformed", "content-type", "empty-batch", "wrong-key", "not-an-object"],
)
def test_bad_bodies(client, kwargs, status, fragment):
    code, detail = _bad(client, **kwargs)
    assert code == status and fragment in detail


def test_limits(client, records, monkeypatch):
    import mlgate.serve.app as app_module

    code, detail = _bad(client, {"records": records * 300})  # 1500 > MAX_BATCH 1000
    assert code == 422 and "at most 1000" in detail
    monkeypatch.setattr(app_module, "MAX_BODY_BYTES", 100)
    code, detail = _bad(client, {"records": records})
    assert code == 413 and "larger than 100 bytes" in detail


def test_invocations_bad_input(client, records):
    bad = [
        ({"dataframe_split": {"columns": ["a"], "data": [[1, 2]]}}, "every row must be a list of 1 values"),
        ({"dataframe_split": {"columns": [["amount"]], "data": [[1]]}}, "columns: expected unique column names"),
        ({"dataframe_split": {"columns": [{"a": 1}, 2], "data": [[1, 2]]}}, "columns: expected unique column names"),
        ({"dataframe_split": {"columns": ["hour", "hour"], "data": [[1, 2]]}}, "columns: expected unique column names"),
        ({"inputs": {"amount": [1.0], "hour": [1, 2]}}, "columns must be lists of equal length"),
        ({"dataframe_records": [{**records[0], "country": "ZZ"}]}, "rows.0.country: Input should be"),
        ({"something": 1}, "exactly one of dataframe_split, dataframe_records, inputs"),
        ({"dataframe_records": []}, "expected 1 to 1000 rows"),
    ]
    for body, fragment in bad:
        response = client.post("/invocations", json=body)
        assert response.status_code == 422 and fragment in response.json()["detail"], response.text


def test_health_ready_version_metrics(client, records):
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"status": "ready"}
    version = client.get("/version").json()
    assert {"model_name", "model_version", "mlflow_run_id", "git_sha", "data_md5", "build_time"} <= version.keys()
    client.post("/predict", json={"records": records})
    client.post("/predict", json={"records": []})
    metrics = client.get("/metrics").text
    assert 'mlgate_requests_total{path="/predict",status="200"}' in metrics
    assert 'mlgate_errors_total{path="/predict",status="422"}' in metrics
    assert "mlgate_request_seconds_bucket" in metrics and "mlgate_score_bucket" in metrics
    assert client.get("/openapi.json").json()["paths"]["/predict"]["post"]["requestBody"]


def test_corrupt_or_missing_model_never_becomes_ready(broken_model_dir, tmp_path, records):
    for directory in (broken_model_dir, tmp_path / "nothing"):
        with TestClient(create_app(directory)) as c:
            assert c.get("/health").status_code == 200
            ready = c.get("/ready")
            assert ready.status_code == 503 and "model not loaded" in ready.json()["detail"]
            assert str(directory.parent) not in ready.text and "/" not in ready.json()["detail"]  # no host path
            assert c.post("/predict", json={"records": records}).status_code == 503


def test_concurrent_requests_are_batched_and_answered_in_order(model_dir, records):
    """Micro-batching must hand each request its own rows' scores."""
    import asyncio

    import httpx

    expected = load_model(model_dir).predict_proba(pd.DataFrame(records))[:, 1]
    app = create_app(model_dir)

    async def main():
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                calls = [c.post("/predict", json={"records": [records[i % len(records)]]}) for i in range(40)]
                return await asyncio.gather(*calls)

    answers = asyncio.run(main())
    for i, answer in enumerate(answers):
        assert answer.json()["predictions"][0]["score"] == pytest.approx(expected[i % len(records)])


def test_the_server_speaks_of_records_not_the_sample(client, model_dir):
    """The server is the template's, not the sample's: no sample vocabulary in its code or its API (the
    project's own column names, its id column and its label among them, are its API)."""
    import json
    from pathlib import Path

    import mlgate.serve

    words = ("fraud", "transaction")
    for path in Path(mlgate.serve.__file__).parent.glob("*.py"):
        source = path.read_text().lower()
        assert not [w for w in words if w in source], path
    id_column = json.loads((model_dir / "serving.json").read_text())["id_column"]
    ignored = json.loads((model_dir / "feature_schema.json").read_text())["ignored"]  # the label
    spec = client.get("/openapi.json").text.lower()
    for column in (id_column, *ignored):
        for own in (column, column.replace("_", " ")):  # its name and pydantic's title of it
            spec = spec.replace(own.lower(), "")
    assert not [w for w in words if w in spec]


def test_card_is_served_from_the_model_directory(model_dir, tmp_path, records):
    import json
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    with TestClient(create_app(copy)) as c:
        missing = c.get("/card")
        assert missing.status_code == 404 and "mlgate card" in missing.json()["detail"]
    (copy / "card.md").write_text("# Model card: demo\n")
    (copy / "card.json").write_text(json.dumps({"model": {"name": "demo"}}))
    with TestClient(create_app(copy)) as c:
        markdown = c.get("/card")
        assert markdown.status_code == 200 and markdown.headers["content-type"].startswith("text/markdown")
        assert markdown.text == "# Model card: demo\n"
        assert c.get("/card", params={"format": "json"}).json() == {"model": {"name": "demo"}}
        assert c.get("/card", params={"format": "xml"}).status_code == 422


def test_the_loaded_server_leaves_what_it_holds_out_of_full_collections(model_dir, records):
    """A full collection walked the libraries and the model, about 100 ms each with the event loop stopped: the
    p99 tail of `make bench-serve`. After loading, the server freezes what it holds, so a collection walks only
    what requests made; at shutdown it unfreezes, so the last collection still sees everything (an open file in
    a cycle is still closed)."""
    import gc

    held_before_start = [[]]
    held_before_start[0].append(held_before_start)  # a cycle: only the collector frees it
    with TestClient(create_app(model_dir)) as c:
        assert c.post("/predict", json={"records": records}).status_code == 200
        assert gc.get_freeze_count() > 0
        assert not any(o is held_before_start for o in gc.get_objects())
    assert gc.get_freeze_count() == 0
    assert any(o is held_before_start for o in gc.get_objects())
