"""`make data` in a fresh clone: the data comes back from a real S3-compatible remote (moto's server, started
here), and when it cannot, DVC's own error and what to do are printed and nothing is written under data/."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from mlgate.data.generate import generate, write_csv
from tests.conftest import BIN, GIT, copy_repo, s3_server, use_fixture_project

pytestmark = pytest.mark.e2e

BUCKET = "mlgate-remote-test"
OWN_DATA = "data/transactions.csv"  # the fixture params' data.path, holding data that is not the sample


@pytest.fixture(scope="module")
def s3() -> dict[str, str]:
    """A moto S3 server on a free port with one bucket; the env a DVC client needs to reach it."""
    with s3_server("127.0.0.1", BUCKET) as aws:
        endpoint = aws.pop("AWS_ENDPOINT_URL")  # the remote's own endpointurl says where it is
        local = "127.0.0.1,localhost"
        yield {**aws, "NO_PROXY": local, "no_proxy": local, "MLGATE_S3_ENDPOINT": endpoint}


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True)


def _dvc(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    result = _run([f"{BIN}/dvc", *args], cwd, env)
    assert result.returncode == 0, f"dvc {' '.join(args)}: {result.stderr[-600:]}"
    return result


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def origin(s3, tmp_path_factory) -> Path:
    """The machine that has the data: the project's own file (not the sample) added to DVC and pushed to S3."""
    repo = use_fixture_project(copy_repo(tmp_path_factory.mktemp("origin")))
    _dvc("remote", "add", "-d", "-f", "storage", f"s3://{BUCKET}/dvcstore", cwd=repo, env=s3)
    _dvc("remote", "modify", "storage", "endpointurl", s3["MLGATE_S3_ENDPOINT"], cwd=repo, env=s3)
    write_csv(generate(3000, seed=99), repo / OWN_DATA)
    _dvc("add", "data", cwd=repo, env=s3)
    _dvc("push", cwd=repo, env=s3)
    subprocess.run([*GIT, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-qm", "own data on the S3 remote"], cwd=repo, check=True)
    return repo


def _fresh_clone(origin: Path, dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(origin), str(dest)], check=True)
    assert not (dest / "data").exists() and not (dest / ".dvc/cache").exists()
    return dest


def test_fresh_clone_pulls_the_data_back_and_runs_without_the_venv_on_path(s3, origin, tmp_path):
    """`.venv/bin/mlgate ...` by its full path with the venv off PATH (a cron job, an IDE, a runner's first
    step): the tools it calls (dvc) come from its own venv."""
    clone = _fresh_clone(origin, tmp_path / "clone")
    bare = {**s3, "PATH": "/usr/local/bin:/usr/bin:/bin", "VIRTUAL_ENV": ""}
    result = _run([f"{BIN}/mlgate", "data", "pull"], clone, bare)
    assert result.returncode == 0, result.stderr
    assert "pulled from the DVC remote" in result.stdout
    assert _md5(clone / OWN_DATA) == _md5(origin / OWN_DATA)
    again = _run([f"{BIN}/mlgate", "data", "pull"], clone, bare)
    assert again.returncode == 0 and "matches data.dvc" in again.stdout, again.stderr
    gate = _run([f"{BIN}/mlgate", "gate", "data"], clone, bare)
    assert "Traceback" not in gate.stderr and (clone / "reports/data_gate.json").is_file(), gate.stderr
    report = _run([f"{BIN}/mlgate", "report", "--base", "HEAD"], clone, bare)
    assert report.returncode == 0 and "Traceback" not in report.stderr, report.stderr
    assert "data gate" in report.stdout.lower()


@pytest.mark.parametrize("remote", ["empty-bucket", "no-remote"])
def test_failed_pull_says_why_and_what_to_do_and_writes_nothing(s3, origin, tmp_path, remote):
    """The project's data is not the sample: the sample must not be written under its name."""
    clone = _fresh_clone(origin, tmp_path / "clone")
    if remote == "empty-bucket":
        _dvc("remote", "modify", "storage", "url", f"s3://{BUCKET}/elsewhere", cwd=clone, env=s3)
    else:
        _dvc("remote", "remove", "storage", cwd=clone, env=s3)
    result = _run([f"{BIN}/mlgate", "data", "pull"], clone, s3)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    message = lines[0]
    assert OWN_DATA in message and "`dvc pull` could not bring back the data" in message
    assert "failed to pull data from the cloud" in message  # DVC's own words
    assert "does not match data.dvc, so nothing was written" in message
    assert "dvc remote add -d" in message and "dvc push" in message
    assert not (clone / "data").exists()
