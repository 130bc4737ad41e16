"""A real `mlgate serve` app on 127.0.0.1 with its prediction log, and a traffic replayer (records sent with
their id column, as a client does)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import uvicorn

from mlgate.deploy.targets import free_port
from mlgate.monitor.log import PredictionLog
from mlgate.serve.app import create_app


@contextmanager
def serving(model_dir: Path, plog: PredictionLog | None):
    """Serve on a free loopback port; yields the base URL; the log is started and closed with the server."""
    if plog is not None:
        plog.start()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(model_dir, prediction_log=plog), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        if plog is not None:
            plog.close()


def records(frame: pd.DataFrame, drop: list[str]) -> list[dict]:
    """JSON records as a client sends them: native types, missing values as null."""
    return json.loads(frame.drop(columns=drop).to_json(orient="records"))


def post(url: str, rows: list[dict]) -> tuple[int, float]:
    data = json.dumps({"records": rows}).encode()
    request = urllib.request.Request(url + "/predict", data=data, headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return response.status, time.perf_counter() - start
    except urllib.error.HTTPError as exc:
        return exc.code, time.perf_counter() - start


def replay(url: str, rows: list[dict], per_request: int) -> list[tuple[int, float]]:
    """A bounded loop: every row once, `per_request` rows per request; (status, seconds) per request."""
    return [post(url, rows[i : i + per_request]) for i in range(0, len(rows), per_request)]
