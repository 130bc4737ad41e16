"""Schemathesis fuzzes every operation of the OpenAPI spec: whatever the input, never a 5xx.

Driven through Hypothesis directly (schemathesis' pytest plugin does not collect under pytest 9),
on one client so every request reaches the server's own event loop.
"""

from __future__ import annotations

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from mlgate.serve.app import create_app


def test_no_operation_answers_5xx(model_dir):
    app = create_app(model_dir)
    seen: dict[str, set[int]] = {}
    with TestClient(app) as client:  # runs the lifespan: the model is loaded and the server ready
        schema = schemathesis.openapi.from_dict(app.openapi())
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {op.path for op in operations} >= {"/predict", "/invocations", "/health", "/ready", "/version"}
        for operation in operations:
            _fuzzer(operation, client, seen)()
    assert 200 in seen["/predict"] and any(400 <= s < 500 for s in seen["/predict"])  # both kinds were generated


def _fuzzer(operation, client: TestClient, seen: dict[str, set[int]]):
    @given(case=operation.as_strategy())
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def fuzz(case):
        response = client.request(**case.as_transport_kwargs(base_url="http://testserver"))
        seen.setdefault(operation.path, set()).add(response.status_code)
        assert response.status_code < 500, f"{case.method} {case.path}: {response.status_code} {response.text}"

    return fuzz
