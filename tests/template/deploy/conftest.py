"""A real MLflow tracking server backed by PostgreSQL (initdb/pg_ctl from the machine), for the registry side."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import require


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))), None)
    require(found is not None, f"PostgreSQL ({name})", "apt-get install postgresql")
    return str(found)


def _run(cmd: list[str]) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(cmd)}: {result.stderr.strip()[-400:]}")


@pytest.fixture(scope="session")
def postgres_uri() -> str:
    root = Path(tempfile.mkdtemp(prefix="mlgate-pg-"))  # outside pytest's root-only tmp: postgres must reach it
    data, port = root / "data", _free_port()
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root
        shutil.chown(root, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    _run([*as_user, _pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "mlflow"])
    _run(
        [
            *as_user,
            _pg_bin("pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(root / "pg.log"),
            "-o",
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1",
            "start",
        ]
    )
    yield f"postgresql://mlflow@127.0.0.1:{port}/postgres"
    subprocess.run([*as_user, _pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def mlflow_server(postgres_uri, tmp_path_factory) -> str:
    artifacts, port = tmp_path_factory.mktemp("artifacts"), _free_port()
    bindir = Path(sys.executable).parent
    server = subprocess.Popen(
        [
            str(bindir / "mlflow"),
            "server",
            "--backend-store-uri",
            postgres_uri,
            "--artifacts-destination",
            str(artifacts),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(720):  # a loaded CI machine takes a while to import MLflow
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1):
                break
        except OSError:
            time.sleep(0.25)
    else:
        server.kill()
        pytest.fail("mlflow server on PostgreSQL did not start")
    yield url
    os.killpg(server.pid, 15)
    server.wait(timeout=30)


def bind_verdicts(reports: Path, model_dir: Path, passed: bool = True, **override) -> None:
    """Gate JSONs naming the model and data they judged (info.model_sha256, info.data_md5).

    Stands in for the gates branch, which writes these fields from the real gate runs."""
    import json

    from mlgate.fingerprint import model_sha256

    data = json.loads((Path(model_dir) / "serving.json").read_text())["data_md5"]
    reports.mkdir(parents=True, exist_ok=True)
    for gate in ("data", "model"):
        info = {"data_md5": data} | ({"model_sha256": model_sha256(model_dir)} if gate == "model" else {})
        report = {"gate": gate, "passed": passed, "checks": [], "info": info | override.get(gate, {})}
        (reports / f"{gate}_gate.json").write_text(json.dumps(report))


def track_data(workdir: Path, md5: str = "0123456789abcdef0123456789abcdef") -> None:
    """A data.dvc pointer, so the model records which data it learned from (serving.json data_md5)."""
    (workdir / "data.dvc").write_text(f"outs:\n- md5: {md5}\n  path: data\n")
