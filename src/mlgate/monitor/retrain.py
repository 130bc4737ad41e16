"""`mlgate monitor retrain`: a blocking finding sends a retrained model down the normal path, a pull request.

The workflow has just run `make repro` on the latest data (what data.dvc names, from the DVC remote). This
commits what the pipeline changed that git tracks (dvc.lock, metrics/, plots/) on a branch
`retrain/<version>-<date>`, pushes it and opens a pull request: its PR workflow trains, gates and reports
against production like any other change, so no model skips the gates. One open retraining PR per model
version. The pull request is opened with MLGATE_RETRAIN_TOKEN (a fine-grained or app token), never the job's
GITHUB_TOKEN: GitHub Actions may not open pull requests unless the repository allows it (off by default), and
one it opens starts no workflow, so no gate would ever run on it. Without that token nothing is pushed.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import time
from dataclasses import replace
from pathlib import Path

from mlgate.errors import MlgateError
from mlgate.github import GitHub
from mlgate.monitor.issue import body, read_report, title

TRACKED_OUTPUTS = ("dvc.lock", "metrics", "plots")
BOT = ("-c", "user.name=github-actions[bot]", "-c", "user.email=41898282+github-actions[bot]@users.noreply.github.com")


def branch_prefix(version: str) -> str:
    return f"retrain/{re.sub(r'[^A-Za-z0-9_.-]', '_', str(version))[:60]}-"


def _git(*args: str, env: dict | None = None) -> str:
    done = subprocess.run(
        ["git", *BOT, *args], capture_output=True, text=True, check=False, env={**os.environ, **(env or {})}
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise MlgateError(f"git {args[0]} failed: {last}")
    return done.stdout.strip()


def _push_env(token: str) -> dict:
    """The token as an HTTP header in git's environment: never in a command line (ps) or in .git/config."""
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraheader",
        "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
    }


def _retrain_github() -> GitHub:
    """The repository, with the token that opens a pull request whose workflows run (docs/github.md)."""
    token = os.environ.get("MLGATE_RETRAIN_TOKEN", "").strip()
    if not token:
        raise MlgateError(
            "no MLGATE_RETRAIN_TOKEN secret: a pull request opened with the job's GITHUB_TOKEN starts no workflow "
            "(and GitHub Actions may not open one by default), so the retrained model would never be gated; "
            "set the secret (a fine-grained token with contents and pull-requests write) or turn "
            "MLGATE_RETRAIN_ON_DRIFT off. Nothing was pushed"
        )
    return replace(GitHub.require(), token=token)


def retrain(report_path: Path, base: str, run_url: str = "", today: str | None = None) -> str:
    """Open the retraining pull request of the report's model version (none when it passed or one is open)."""
    report = read_report(report_path)
    if report.get("passed"):
        return "no blocking finding: no retraining"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_./-]{0,100}", base) or ".." in base:
        raise MlgateError(f"--base must be a branch name, got {base[:40]!r}")
    github = _retrain_github()
    version = str(report.get("info", {}).get("model_version", "unknown"))
    prefix = branch_prefix(version)
    for pull in github.open_pulls():
        if str((pull.get("head") or {}).get("ref", "")).startswith(prefix):
            return f"retraining pull request #{pull['number']} is already open for model version {version}"
    branch = prefix + (today or time.strftime("%Y%m%d", time.gmtime()))
    _git("switch", "-q", "-c", branch)
    _git("add", "--", *[p for p in TRACKED_OUTPUTS if Path(p).exists()])
    _git(
        "commit", "-q", "--allow-empty", "-m", f"Retrain on the latest data: monitoring found a problem with {version}"
    )
    _git("push", "-q", "origin", f"HEAD:refs/heads/{branch}", env=_push_env(github.token))
    text = (
        "Retraining started by monitoring (`mlgate monitor retrain`): this branch is the pipeline re-run on the "
        "latest data; the PR workflow gates it and compares it with production.\n\n" + body(report, run_url)
    )
    name = title(version).replace("mlgate monitor:", "Retrain on a monitoring finding:")  # inert: no @mentions
    number = github.create_pull(name, branch, base, text)
    return f"opened pull request #{number} from {branch}"
