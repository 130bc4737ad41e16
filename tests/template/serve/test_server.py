"""A real `mlgate serve` process on loopback against slow, silent, oversized and hostile clients.

Every wait here is a bounded loop: a server that never cuts a slow client fails the test, it does not hang it.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import httpx
import pandas as pd
import pytest

from mlgate.model_io import load_model
from tests.template.serve.process import mlgate_serve

HEADER_TIMEOUT, BODY_TIMEOUT = 1.0, 2.0
SLACK = 3.0  # scheduling on a busy shared machine


@pytest.fixture(scope="module")
def server(model_dir: Path):
    timeouts = {"MLGATE_HEADER_TIMEOUT": str(HEADER_TIMEOUT), "MLGATE_BODY_TIMEOUT": str(BODY_TIMEOUT)}
    with mlgate_serve(model_dir, Path.cwd(), timeouts) as url:
        yield url, int(url.rsplit(":", 1)[1])


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """True when the server closes (or resets) the connection before `seconds` pass; reads whatever it sends."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            if sock.recv(65536) == b"":
                return True
        except TimeoutError:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


def _healthy(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/health", timeout=5) as answer:
        return answer.status == 200


def test_silent_connections_are_closed(server):
    url, port = server
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(100)]
    try:
        begin = time.monotonic()
        closed = [_closed_within(s, HEADER_TIMEOUT + SLACK - (time.monotonic() - begin)) for s in socks]
        assert all(closed), f"{closed.count(False)} of {len(socks)} silent connections still open"
    finally:
        for s in socks:
            s.close()
    assert _healthy(url)


def _trickle(port: int, head: bytes, drip: bytes, seconds: float) -> tuple[bool, float]:
    """Send `head`, then one byte of `drip` every 0.2 s; (was the connection cut, after how long)."""
    begin = time.monotonic()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head)
        for i in range(int(seconds / 0.2)):
            try:
                sock.sendall(drip[i % len(drip) : i % len(drip) + 1])
            except (BrokenPipeError, ConnectionResetError):
                return True, time.monotonic() - begin
            if _closed_within(sock, 0.2):
                return True, time.monotonic() - begin
    return False, time.monotonic() - begin


def test_a_trickled_header_is_cut(server):
    url, port = server
    cut, after = _trickle(port, b"POST /predict HTTP/1.1\r\nHost: x\r\n", b"X-Slow: aaaaaaaaaaaaaaaaaaaa", 15)
    assert cut and after < HEADER_TIMEOUT + SLACK, after
    assert _healthy(url)


def test_a_trickled_body_is_cut(server, records):
    url, port = server
    body = json.dumps({"records": records}).encode()
    head = (
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
    )
    cut, after = _trickle(port, head, body, 15)
    assert cut and after < BODY_TIMEOUT + SLACK, after
    assert _healthy(url)


def test_an_oversized_body_gets_its_413_in_an_ordinary_client(server):
    url, _ = server
    body = b'{"records": [' + b" " * (60 * 2**20) + b"]}"
    answer = httpx.post(f"{url}/predict", content=body, headers={"content-type": "application/json"}, timeout=60)
    assert answer.status_code == 413 and "larger than" in answer.json()["detail"]
    request = urllib.request.Request(
        f"{url}/invocations", data=body, headers={"content-type": "application/json"}, method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=60)
    assert raised.value.code == 413
    if shutil.which("curl"):
        out = subprocess.run(
            [
                *("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "content-type: application/json"),
                *("--data-binary", "@-", f"{url}/predict"),
            ],
            input=body,
            capture_output=True,
            timeout=60,
        )
        assert out.stdout == b"413"
    assert _healthy(url)


@pytest.mark.parametrize("path", ["/predict", "/invocations"])
def test_deeply_nested_json_is_a_400(server, path):
    url, _ = server
    for body in ("[" * 100_000 + "]" * 100_000, '{"records": ' + '{"a": ' * 50_000 + "1" + "}" * 50_001):
        answer = httpx.post(f"{url}{path}", content=body, headers={"content-type": "application/json"}, timeout=30)
        assert answer.status_code == 400 and "JSON" in answer.json()["detail"], answer.text


def test_a_full_queue_answers_503_with_retry_after(model_dir, records, monkeypatch):
    """Rows waiting for the model are bounded: past the bound a request is refused at once, not queued."""
    import mlgate.serve.app as app_module
    from mlgate.serve import loaded as loaded_module

    monkeypatch.setattr(app_module, "MAX_QUEUE_ROWS", 2 * len(records))
    real = loaded_module.LoadedModel.scores

    def slow(self, rows):
        time.sleep(0.5)
        return real(self, rows)

    monkeypatch.setattr(loaded_module.LoadedModel, "scores", slow)
    expected = load_model(model_dir).predict_proba(pd.DataFrame(records))[:, 1]
    app = app_module.create_app(model_dir)

    async def main():
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=60) as c:
                return await asyncio.gather(*[c.post("/predict", json={"records": records}) for _ in range(10)])

    answers = asyncio.run(main())
    refused = [a for a in answers if a.status_code == 503]
    served = [a for a in answers if a.status_code == 200]
    assert refused and served and len(refused) + len(served) == 10
    assert all(int(a.headers["retry-after"]) >= 1 and "busy" in a.json()["detail"] for a in refused)
    for answer in served:
        assert [p["score"] for p in answer.json()["predictions"]] == pytest.approx(list(expected), abs=1e-12)
