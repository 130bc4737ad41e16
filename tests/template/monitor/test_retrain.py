"""`mlgate monitor retrain` against a git origin and the GitHub stand-in: what `make repro` changed goes on
retrain/<version>-<date>, pushed, with one pull request per model version; a passing report does nothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import GIT, run_cli
from tests.template.github_standin import EMPTY, start
from tests.template.monitor.test_issue import _report


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
    state.write_text(json.dumps({**EMPTY, "tokens": {"t0ken": "write", "pat": {"kind": "personal"}}}))
    server, api = start(state)
    env = {
        "GITHUB_TOKEN": "t0ken",
        "GITHUB_API_URL": api,
        "GITHUB_REPOSITORY": "org/proj",
        "MLGATE_RETRAIN_TOKEN": "pat",
    }
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
    assert "pat" not in (work / ".git/config").read_text()
    assert pull["starts_workflows"]  # opened with the personal token: its PR workflow runs

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
    done = run_cli(
        "monitor", "retrain", "--report", str(failing), cwd=work, env={**env, "MLGATE_RETRAIN_TOKEN": "wrong"}
    )
    assert (
        done.returncode == 1
        and done.stderr.strip() == "error: GitHub API GET /repos/org/proj/pulls: 401 Bad credentials"
    )


def test_without_a_retrain_token_nothing_is_pushed_and_it_says_why(project):
    """GitHub refuses a pull request from the job token by default, and one it opens starts no workflow: the
    old code pushed retrain/... every day and opened nothing. Now it pushes nothing and names the secret."""
    work, origin, state, env = project
    report = _report(work / "reports/monitor.json", "v3")
    env = {k: v for k, v in env.items() if k != "MLGATE_RETRAIN_TOKEN"}
    done = run_cli("monitor", "retrain", "--report", str(report), cwd=work, env=env)
    assert done.returncode == 2 and done.stderr.startswith("error: no MLGATE_RETRAIN_TOKEN secret: a pull request")
    branches = subprocess.run(["git", "branch", "--list", "retrain/*"], cwd=origin, capture_output=True, text=True)
    assert branches.stdout == "" and json.loads(state.read_text())["pulls"] == []


def test_the_stand_in_refuses_a_pull_request_from_the_job_token(project):
    """GitHub's default ("Allow GitHub Actions to create and approve pull requests" off), and its opposite."""
    from mlgate.github import GitHub, GitHubError

    _, _, state, env = project
    job = GitHub(env["GITHUB_API_URL"], "org/proj", "t0ken")
    with pytest.raises(GitHubError, match=r"403 GitHub Actions is not permitted to create or approve pull requests"):
        job.create_pull("t", "b", "main", "")
    from tests.template.github_standin import _state

    with _state(state, write=True) as data:  # under the stand-in's lock: its save of the refused request is done
        data["repository"]["actions_can_create_prs"] = True
    job.create_pull("t", "b", "main", "")
    (pull,) = json.loads(state.read_text())["pulls"]
    assert pull["starts_workflows"] is False  # allowed, but its workflows never run
