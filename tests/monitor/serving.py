"""A real `mlgate serve` app on 127.0.0.1 with the prediction log hooked in from outside, and a traffic replayer.

The hook stands in for the one the server will call itself (see PredictionLog.record): it takes the
id column off each record (never a feature), lets the app score the rest, and logs rows, scores,
decisions, model version and a request id from the response.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import uvicorn

from mlgate.deploy.targets import free_port
from mlgate.monitor.log import PredictionLog
from mlgate.serve.app import create_app


class LoggedApp:
    """ASGI wrapper: /predict requests and their responses go to the prediction log."""

    def __init__(self, app, plog: PredictionLog | None, id_column: str | None) -> None:
        self.app, self.plog, self.id_column = app, plog, id_column

    async def __call__(self, scope, receive, send):
        if self.plog is None or scope["type"] != "http" or scope["path"] != "/predict":
            return await self.app(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        payload = json.loads(body)
        ids = [r.pop(self.id_column, None) for r in payload["records"]] if self.id_column else []
        body = json.dumps(payload).encode()
        headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
        scope = {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
        delivered, status, chunks = False, {}, []

        async def replay():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def capture(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, replay, capture)
        if status.get("code") == 200:
            out = json.loads(b"".join(chunks))
            rows = payload["records"]
            if self.id_column:
                rows = [{**r, self.id_column: i} for r, i in zip(rows, ids, strict=True)]
            scores = [p["score"] for p in out["predictions"]]
            decisions = [next(v for k, v in p.items() if k != "score") for p in out["predictions"]]
            self.plog.record(rows, scores, decisions, out["model_version"], uuid.uuid4().hex)


@contextmanager
def serving(model_dir: Path, plog: PredictionLog | None, id_column: str | None):
    """Serve on a free loopback port; yields the base URL; the log is started and closed with the server."""
    if plog is not None:
        plog.start()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            LoggedApp(create_app(model_dir), plog, id_column), host="127.0.0.1", port=port, log_level="warning"
        )
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
