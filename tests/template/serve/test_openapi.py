"""The OpenAPI document is the contract a generated client follows: schemathesis, every check, against a real
`mlgate serve`, finds nothing; what it sends as valid is accepted, what it sends as invalid is refused with the
declared error body, and a method a path does not have gets 405 with its Allow header."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.template.serve.process import mlgate_serve

SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")


@pytest.fixture(scope="module")
def served(model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """The trained model with a model card (so /card answers 200 too), served with its prediction log."""
    root = tmp_path_factory.mktemp("openapi")
    copy = root / "model"
    shutil.copytree(model_dir, copy)
    (copy / "card.md").write_text("# Model card\n")
    (copy / "card.json").write_text(json.dumps({"model": {"name": "demo"}}))
    with mlgate_serve(copy, cwd=root, env={"MLGATE_MONITOR_LOG_URI": str(root / "log")}) as url:
        yield url, root


def test_schemathesis_with_every_check_finds_nothing(served):
    url, root = served
    done = subprocess.run(
        [
            *(SCHEMATHESIS, "run", f"{url}/openapi.json", "--checks", "all"),
            *("--max-examples", "40", "--seed", "24", "--workers", "1"),  # bounded by examples (--max-time loops)
            *("--no-color", "--report", "junit", "--report-dir", str(root / "st")),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,  # a bound, not the expected time (seconds)
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-6000:]
    assert "No issues found" in out and " passed" in out, out[-3000:]
    assert "/predict" in out or "6 selected" in out


@pytest.mark.parametrize("path", ["/health", "/ready", "/version", "/card", "/metrics"])
def test_a_method_a_path_does_not_have_gets_405_naming_the_allowed_ones(served, path):
    url, _ = served
    request = urllib.request.Request(url + path, data=b"", method="POST")  # no content type: was 415
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 405
    assert "GET" in refused.value.headers["Allow"]
    assert json.loads(refused.value.read())["detail"] == "Method Not Allowed"


def test_integers_sent_as_doubles_are_integers_and_enums_are_declared(served, records):
    """JSON Schema's integer is any number without a fraction: 3.0 is accepted where the schema says integer."""
    url, _ = served
    spec = json.loads(urllib.request.urlopen(url + "/openapi.json", timeout=10).read())
    record = spec["components"]["schemas"]["Record"]
    assert record["additionalProperties"] is False
    integers = [n for n, p in record["properties"].items() if p.get("type") == "integer"]
    assert integers
    enums = [n for n, p in record["properties"].items() if p.get("type") == "integer" and "enum" in p]
    assert enums  # a numeric column with allowed values declares them
    row = {**records[0], **{n: float(records[0][n]) for n in integers}}
    body = json.dumps({"records": [row]}).encode()
    request = urllib.request.Request(url + "/predict", data=body, headers={"Content-Type": "application/json"})
    assert urllib.request.urlopen(request, timeout=10).status == 200
    assert "HTTPValidationError" not in spec["components"]["schemas"]  # every 422 is the Problem the server sends
