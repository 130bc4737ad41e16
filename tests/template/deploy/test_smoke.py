"""The smoke test returns a failure for any unexpected answer, never raises: a 200 without predictions,
wrong shapes, text, a dropped connection."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mlgate.deploy.smoke import smoke_test

SMOKE = {"records": [{"x": 1}], "scores": [0.25]}
GOOD_VERSION = {"model_version": "3", "git_sha": "abc"}


def _server(predict_answer: bytes, status: int = 200):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _reply(self, code: int, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/ready":
                self._reply(200, b'{"status": "ready"}')
            else:
                self._reply(200, json.dumps(GOOD_VERSION).encode())

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            if predict_answer == b"DROP":
                self.connection.close()
                return
            self._reply(status, predict_answer)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (b'{"result": "ok"}', "200 without a predictions list"),
        (b'{"predictions": "none"}', "200 without a predictions list"),
        (b'{"predictions": [1, 2]}', "200 without a predictions list"),
        (b'{"predictions": [{"label": 1}]}', "known prediction differs"),
        (b'{"predictions": [{"score": "0.25"}]}', "known prediction differs"),
        (b'{"predictions": [{"score": 0.25}, {"score": 0.5}]}', "known prediction differs"),
        (b"[1, 2, 3]", "200 without a predictions list"),
        (b"<html>oops</html>", "/predict answered 200 without"),
        (b"DROP", "/predict answered 0"),
    ],
)
def test_unexpected_answers_are_failures_not_crashes(answer, expected):
    server, url = _server(answer)
    try:
        problem = smoke_test(url, SMOKE, GOOD_VERSION, ready_timeout=5)
    finally:
        server.shutdown()
    assert problem is not None and expected in problem


def test_the_right_answer_passes():
    server, url = _server(b'{"predictions": [{"score": 0.25}]}')
    try:
        assert smoke_test(url, SMOKE, GOOD_VERSION, ready_timeout=5) is None
    finally:
        server.shutdown()


def test_a_malformed_smoke_file_is_a_failure():
    server, url = _server(b'{"predictions": [{"score": 0.25}]}')
    try:
        problem = smoke_test(url, {"records": []}, GOOD_VERSION, ready_timeout=5)
    finally:
        server.shutdown()
    assert problem is not None and problem.startswith("smoke test could not check the answer (KeyError")
