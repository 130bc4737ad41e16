"""The serving image, built and run on a real Docker engine (CI starts one with .ci/docker.sh).

Outside CI a machine without Docker skips these; in CI (CI=true) a missing engine fails them.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from mlgate.deploy.image import build, docker
from mlgate.deploy.smoke import call_json
from mlgate.model_io import load_model
from tests.conftest import build_context, s3_server

pytestmark = pytest.mark.container


@pytest.fixture(scope="session")
def image(engine, trained_dir, tmp_path_factory) -> str:
    """The serving image of the session's model, built from a copy of the repo's build context."""
    context = build_context(tmp_path_factory.mktemp("context"), trained_dir / "outputs/model")
    (context / "outputs/model/card.md").write_text("# Model card: baked into the image\n")
    tag = "mlgate-serve:test"
    build(tag, context=context, git_sha="0123abc")
    return tag


def _run(image: str, name: str, *extra: str) -> str:
    docker("rm", "-f", name, check=False)
    docker("run", "-d", "--name", name, "-p", "127.0.0.1::8080", *extra, image)
    port = docker("port", name, "8080/tcp").stdout.strip().splitlines()[0].rsplit(":", 1)[1]
    return f"http://127.0.0.1:{port}"


def _wait(url: str, seconds: float = 30) -> int:
    deadline, status = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        status, _ = call_json(url, timeout=2)
        if status == 200:
            break
        time.sleep(0.2)
    return status


@pytest.fixture(scope="session")
def served(image):
    name = "mlgate-test-serve"
    url = _run(image, name)
    yield name, url
    docker("rm", "-f", name, check=False)


def test_container_becomes_ready_and_predicts_like_the_model(served, records, model_dir):
    _, url = served
    assert _wait(f"{url}/ready") == 200
    status, body = call_json(f"{url}/predict", {"records": records})
    assert status == 200
    expected = load_model(model_dir).predict_proba(pd.DataFrame(records))[:, 1]
    assert [p["score"] for p in body["predictions"]] == pytest.approx(list(expected), abs=1e-9)
    with urllib.request.urlopen(f"{url}/card", timeout=5) as card:
        assert card.read().decode() == "# Model card: baked into the image\n"
    status, version = call_json(f"{url}/version")
    assert version["git_sha"] == "0123abc" and version["build_time"] != "unknown"


def test_container_runs_as_non_root_with_labels_and_healthcheck(served, image):
    name, _ = served
    assert docker("exec", name, "id", "-u").stdout.strip() == "10001"
    config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", image).stdout)
    assert config["User"] == "10001:10001"
    assert config["Healthcheck"]["Test"][0] == "CMD"
    assert config["Labels"]["org.opencontainers.image.revision"] == "0123abc"
    assert "org.opencontainers.image.source" in config["Labels"]


def test_image_holds_only_serving_dependencies(image):
    probe = (
        "import importlib.util as u; print([m for m in ('mlflow','dvc','deepchecks','pytest','pip') if u.find_spec(m)])"
    )
    found = docker("run", "--rm", "--entrypoint", "python3", image, "-c", probe).stdout.strip()
    assert found == "[]"
    compilers = docker("run", "--rm", "--entrypoint", "sh", image, "-c", "command -v gcc cc g++ || true").stdout
    assert compilers.strip() == ""


def test_image_ships_bytecode_and_arrow_returns_what_it_frees(image):
    """The server starts from compiled modules (not ~2,000 compiled at each start), and Arrow, which writes the
    prediction log's Parquet, uses the system allocator, which returns freed memory (its default pool kept
    ~10 MB more under load). make bench-serve measures both; this checks they are what the image ships."""
    probe = (
        "import os, importlib.util as u, pyarrow; "
        "mods = ('numpy', 'pandas', 'scipy.stats', 'sklearn.ensemble', 'fastapi', 'mlgate.serve.server'); "
        "print([m for m in mods if not os.path.exists(u.cache_from_source(u.find_spec(m).origin))], "
        "pyarrow.default_memory_pool().backend_name)"
    )
    found = docker("run", "--rm", "--entrypoint", "python3", image, "-c", probe).stdout.strip()
    assert found == "[] system"


def test_corrupt_model_never_becomes_ready(image, tmp_path: Path, model_dir):
    broken = tmp_path / "model"
    shutil.copytree(model_dir, broken)
    (broken / "model.skops").write_bytes(b"corrupt")
    broken.chmod(0o755)
    for path in broken.iterdir():
        path.chmod(0o644)
    name = "mlgate-test-broken"
    url = _run(image, name, "-v", f"{broken}:/model:ro")
    try:
        assert _wait(f"{url}/health", 20) == 200  # alive...
        for _ in range(10):  # ...but never ready
            status, body = call_json(f"{url}/ready")
            assert status == 503 and "model not loaded" in body["detail"]
            time.sleep(0.3)
    finally:
        docker("rm", "-f", name, check=False)


def test_container_logs_predictions_with_their_ids(image, records, tmp_path: Path):
    """The image's default log folder (MLGATE_MONITOR_LOG_URI) on a read-only root, as compose and Kubernetes run
    it: records sent with their ids are echoed, and written to the log by the time the server has stopped."""
    log = tmp_path / "log"
    log.mkdir()
    log.chmod(0o777)  # the server runs as uid 10001
    name = "mlgate-test-log"
    url = _run(image, name, "--read-only", "--tmpfs", "/tmp", "-v", f"{log}:/tmp/mlgate-monitoring")
    try:
        assert _wait(f"{url}/ready") == 200
        ids = [f"c-{i}" for i in range(len(records))]
        rows = [{**r, "transaction_id": i} for r, i in zip(records, ids, strict=True)]
        status, body = call_json(f"{url}/predict", {"records": rows})
        assert status == 200 and [p["transaction_id"] for p in body["predictions"]] == ids
        docker("stop", "-t", "20", name)  # a graceful stop writes what is queued
        logs = docker("logs", name).stderr + docker("logs", name).stdout
    finally:
        docker("rm", "-f", name, check=False)
    assert "prediction log off" not in logs, logs
    files = sorted(log.rglob("*.parquet"))
    assert files, f"no batch written; server log:\n{logs[-2000:]}"
    logged = pd.concat([pd.read_parquet(f) for f in files])
    assert sorted(logged["transaction_id"]) == sorted(ids)
    assert set(logged["mlgate_request_id"]) == {body["request_id"]}


def bridge_gateway(ipam_config: list[dict]) -> str:
    """The bridge's gateway address. An engine started on an existing docker0 can leave IPAM's Gateway empty
    (seen in CI: the S3 endpoint became http://:PORT); Docker's gateway is then the subnet's first host."""
    ipv4 = [c for c in ipam_config if c.get("Subnet") and ":" not in c["Subnet"]]
    if not ipv4:
        raise AssertionError(f"docker network inspect bridge: no IPv4 subnet in {ipam_config}")
    if ipv4[0].get("Gateway"):
        return ipv4[0]["Gateway"]
    return str(next(ipaddress.ip_network(ipv4[0]["Subnet"]).hosts()))


def test_the_bridge_gateway_is_found_when_the_engine_leaves_it_unset():
    assert bridge_gateway([{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}]) == "172.17.0.1"
    assert bridge_gateway([{"Subnet": "fd00::/64"}, {"Subnet": "172.18.0.0/16"}]) == "172.18.0.1"
    with pytest.raises(AssertionError, match="no IPv4 subnet"):
        bridge_gateway([])


@pytest.fixture
def s3_on_the_host(engine):
    """S3 on the Docker bridge's gateway address: reachable from a container as a cloud's object store is."""
    config = json.loads(docker("network", "inspect", "bridge", "--format", "{{json .IPAM.Config}}").stdout)
    with s3_server(bridge_gateway(config), "mlgate-log") as env:
        yield env


def test_container_logs_predictions_to_s3_as_configured(image, records, s3_on_the_host, monkeypatch):
    """MLGATE_MONITOR_LOG_URI=s3://... is configuration, not a rebuild: the image writes its log there, and
    `mlgate monitor` reads it back from the same URI."""
    from mlgate.monitor import storage

    name = "mlgate-test-s3-log"
    env = [arg for key, value in s3_on_the_host.items() for arg in ("-e", f"{key}={value}")]
    url = _run(image, name, *env, "-e", "MLGATE_MONITOR_LOG_URI=s3://mlgate-log/prod")
    try:
        assert _wait(f"{url}/ready") == 200
        status, body = call_json(f"{url}/predict", {"records": records})
        assert status == 200
        docker("stop", "-t", "20", name)  # a graceful stop writes what is queued
        logs = docker("logs", name).stderr + docker("logs", name).stdout
    finally:
        docker("rm", "-f", name, check=False)
    assert "prediction log off" not in logs and "dropped" not in logs, logs[-2000:]
    for key, value in s3_on_the_host.items():
        monkeypatch.setenv(key, value)
    loaded = storage.read_batches(*storage.filesystem("s3://mlgate-log/prod"), storage.PREDICTIONS)
    assert not loaded.unreadable and len(loaded.frame) == len(records)
    assert set(loaded.frame["mlgate_request_id"]) == {body["request_id"]}
