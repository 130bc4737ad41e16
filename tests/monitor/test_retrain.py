"""`mlgate monitor retrain` against a git origin and the GitHub stand-in: what `make repro` changed goes on
retrain/<version>-<date>, pushed, with one pull request per model version; a passing report does nothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import GIT, run_cli
from tests.github_standin import EMPTY, start
from tests.monitor.test_issue import _report


@pytest.fixture
def project(tmp_path: Path):
    """A checkout of `origin` (main) after `make repro` changed metrics/, and a GitHub stand-in."""
    origin, work = tmp_path / "origin.git", tmp_path / "work"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    subprocess.run(["git", "clone", "-q", str(origin), str(work)], check=True, capture_output=True)
    (work / "metrics").mkdir()
    (work / "metrics/metrics.json").write_text('{"pr_auc": 0.5}')
    (work / "dvc.lock").write_text("stages: {}\n")
    subprocess.run([*GIT, "add", "-A"], cwd=work, check=True)
    subprocess.run([*GIT, "commit", "-qm", "main"], cwd=work, check=True)
    subprocess.run([*GIT, "push", "-q", "origin", "HEAD:main"], cwd=work, check=True)
    (work / "metrics/metrics.json").write_text('{"pr_auc": 0.6}')  # the pipeline re-run on the latest data
    (work / "reports").mkdir()
    state = tmp_path / "github/state.json"
    state.parent.mkdir()
    state.write_text(json.dumps({**EMPTY, "tokens": {"t0ken": "write"}}))
    server, api = start(state)
    env = {"GITHUB_TOKEN": "t0ken", "GITHUB_API_URL": api, "GITHUB_REPOSITORY": "org/proj"}
    yield work, origin, state, env
    server.shutdown()


def test_a_finding_opens_one_retraining_pull_request_per_model_version(project):
    work, origin, state, env = project
    report = _report(work / "reports/monitor.json", "v3 @x")
    done = run_cli("monitor", "retrain", "--report", str(report), cwd=work, env=env)
    assert done.returncode == 0, done.stderr
    (pull,) = json.loads(state.read_text())["pulls"]
    branch = pull["head"]["ref"]
    assert branch.startswith("retrain/v3__x-") and done.stdout.strip() == f"opened pull request #1 from {branch}"
    assert pull["base"]["ref"] == "main" and "| FAIL | feature_drift |" in pull["body"] and "@x" not in pull["body"]
    assert pull["title"] == "Retrain on a monitoring finding: model version v3__x"
    pushed = subprocess.run(["git", "show", f"{branch}:metrics/metrics.json"], cwd=origin, capture_output=True)
    assert pushed.stdout == b'{"pr_auc": 0.6}'
    assert "t0ken" not in (work / ".git/config").read_text()

    again = run_cli("monitor", "retrain", "--report", str(report), cwd=work, env=env)
    assert again.stdout.strip() == "retraining pull request #1 is already open for model version v3 @x"
    assert len(json.loads(state.read_text())["pulls"]) == 1


def test_a_passing_report_retrains_nothing_and_errors_are_one_line(project):
    work, _, state, env = project
    passed = _report(work / "reports/ok.json", "v3", passed=True)
    done = run_cli("monitor", "retrain", "--report", str(passed), cwd=work, env=env)
    assert done.stdout.strip() == "no blocking finding: no retraining" and json.loads(state.read_text())["pulls"] == []
    failing = _report(work / "reports/monitor.json", "v3")
    done = run_cli("monitor", "retrain", "--report", str(failing), "--base", "main;rm -rf /", cwd=work, env=env)
    assert done.returncode == 2 and done.stderr.startswith("error: --base must be a branch name")
    done = run_cli("monitor", "retrain", "--report", str(failing), cwd=work, env={**env, "GITHUB_TOKEN": "wrong"})
    assert (
        done.returncode == 1
        and done.stderr.strip() == "error: GitHub API GET /repos/org/proj/pulls: 401 Bad credentials"
    )
