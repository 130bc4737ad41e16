"""`mlgate serve`'s prediction log: every scored /predict record reaches the log off the request path, and
its counters are in /metrics."""

from __future__ import annotations

from fastapi.testclient import TestClient

from mlgate.config import MonitorConfig
from mlgate.monitor.log import PredictionLog
from mlgate.serve.app import create_app


def test_predict_records_reach_the_log_and_metrics(model_dir, records, tmp_path):
    config = MonitorConfig(log_uri=str(tmp_path / "log"), file_format="jsonl", batch_rows=2, flush_seconds=0.2)
    log = PredictionLog(config, seed=0).start()
    with TestClient(create_app(model_dir, prediction_log=log)) as client:
        answer = client.post("/predict", json={"records": records})
        assert answer.status_code == 200
        scores = [p["score"] for p in answer.json()["predictions"]]
    # leaving the client ran the app's shutdown, which closes (flushes) the log
    assert log.written == len(records) and log.dropped_total == 0
    lines = [line for f in sorted((tmp_path / "log").rglob("*.jsonl")) for line in f.read_text().splitlines()]
    assert len(lines) == len(records)
    with TestClient(create_app(model_dir, prediction_log=PredictionLog(config))) as client:
        metrics = client.get("/metrics").text
    assert (
        "mlgate_prediction_log_written_rows_total" in metrics and "mlgate_prediction_log_dropped_rows_total" in metrics
    )
    assert scores  # the answers themselves are unchanged by logging (tests/template/serve checks their values)
