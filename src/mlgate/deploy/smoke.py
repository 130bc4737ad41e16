"""The post-deploy smoke test: ready, the image's known prediction, and /version matching the image."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request


def call_json(url: str, body: dict | None = None, timeout: float = 5) -> tuple[int, dict]:
    """GET (or POST `body`) and parse the JSON answer; (0, {}) when nothing answers."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        try:
            return err.code, json.loads(err.read() or b"{}")
        except json.JSONDecodeError:
            return err.code, {}
    except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
        return 0, {}


def wait_ready(base_url: str, timeout: float = 30) -> int:
    """Poll /ready until it answers 200 or `timeout` passes; returns the last status."""
    deadline, status = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        status, _ = call_json(f"{base_url}/ready", timeout=2)
        if status == 200:
            break
        time.sleep(0.3)
    return status


def smoke_test(base_url: str, smoke: dict, expected_version: dict, ready_timeout: float = 30) -> str | None:
    """None when the service is healthy, else what failed (one line)."""
    status = wait_ready(base_url, ready_timeout)
    if status != 200:
        return f"not ready after {ready_timeout:.0f} s (last /ready status {status})"
    status, body = call_json(f"{base_url}/predict", {"records": smoke["records"]})
    if status != 200:
        return f"known prediction failed: /predict answered {status}"
    got = [p["score"] for p in body["predictions"]]
    if len(got) != len(smoke["scores"]) or any(abs(a - b) > 1e-6 for a, b in zip(got, smoke["scores"], strict=True)):
        return f"known prediction differs: got {got[:2]}..., expected {smoke['scores'][:2]}..."
    status, version = call_json(f"{base_url}/version")
    for key, want in expected_version.items():
        if want and version.get(key) != want:
            return f"/version {key} is {version.get(key)!r}, expected {want!r}"
    return None
