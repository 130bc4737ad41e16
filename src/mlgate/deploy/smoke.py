"""The post-deploy smoke test: ready, the image's known prediction, and /version matching the image."""

from __future__ import annotations

import http.client
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
            status, raw = response.status, response.read()
        try:
            return status, json.loads(raw)
        except ValueError:  # answered, but not JSON: the caller judges the body
            return status, {}
    except urllib.error.HTTPError as err:
        try:
            return err.code, json.loads(err.read() or b"{}")
        except (ValueError, OSError, http.client.HTTPException):
            return err.code, {}
    except (OSError, http.client.HTTPException, ValueError):  # refused, reset, truncated, not JSON
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
    """None when the service is healthy, else what failed (one line). Never raises: any unexpected
    answer (a 200 without predictions, a wrong shape, text) is a failed smoke test."""
    try:
        return _smoke(base_url, smoke, expected_version, ready_timeout)
    except Exception as exc:  # a smoke test that crashes is a failed smoke test, said as such
        return f"smoke test could not check the answer ({exc.__class__.__name__}: {str(exc)[:200]})"


def _smoke(base_url: str, smoke: dict, expected_version: dict, ready_timeout: float) -> str | None:
    status = wait_ready(base_url, ready_timeout)
    if status != 200:
        return f"not ready after {ready_timeout:.0f} s (last /ready status {status})"
    status, body = call_json(f"{base_url}/predict", {"records": smoke["records"]})
    if status != 200:
        return f"known prediction failed: /predict answered {status}"
    predictions = body.get("predictions") if isinstance(body, dict) else None
    if not isinstance(predictions, list) or not all(isinstance(p, dict) for p in predictions):
        return f"known prediction failed: /predict answered 200 without a predictions list ({str(body)[:80]})"
    got = [p.get(smoke.get("field", "score")) for p in predictions]
    expected = smoke["scores"]
    if (
        len(got) != len(expected)
        or not all(isinstance(a, int | float) and not isinstance(a, bool) for a in got)
        or any(abs(a - b) > 1e-6 for a, b in zip(got, expected, strict=True))
    ):
        return f"known prediction differs: got {got[:2]}..., expected {expected[:2]}..."
    status, version = call_json(f"{base_url}/version")
    if status != 200 or not isinstance(version, dict):
        return f"/version answered {status}"
    for key, want in expected_version.items():
        if want and version.get(key) != want:
            return f"/version {key} is {version.get(key)!r}, expected {want!r}"
    return None
