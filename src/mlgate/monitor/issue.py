"""One GitHub issue per model version for monitoring findings: opened on the first, updated after.

Through mlgate.github (GITHUB_TOKEN, GITHUB_API_URL as Actions sets them): find the open issue with the
monitor label and the version's title; edit its body and comment, or open it. Report text (feature names
and messages come from the user's data and the log) is escaped before it reaches Markdown.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from mlgate.errors import MlgateError
from mlgate.github import GitHub
from mlgate.report.escape import text as _safe  # the PR report's escaping: links, images, @, # inert

LABEL = "mlgate-monitor"
REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def _number(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, int | float) else ""


def title(version: str) -> str:
    return f"mlgate monitor: model version {re.sub(r'[^A-Za-z0-9_.:-]', '_', str(version))[:60]}"


def body(report: dict, run_url: str) -> str:
    info = report.get("info", {})
    rows = "\n".join(
        f"| {c['status']} | {_safe(c['name'], 60)} | {_number(c['value'])} "
        f"| {_safe(c['condition'], 80)} | {_safe(c['message'])} |"
        for c in report.get("checks", [])
    )
    link = f"\n\nReport (JSON + HTML): {run_url}" if re.match(r"^https?://[^\s)]+$", run_url or "") else ""
    return (
        f"Monitoring found a blocking problem with model version **{_safe(info.get('model_version'), 60)}**.\n\n"
        f"Window: {_safe(info.get('window'), 120)}, {_safe(info.get('rows'), 20)} logged rows, "
        f"{_safe(info.get('labeled_rows', 0), 20)} with labels.\n\n"
        f"| status | check | value | condition | message |\n|---|---|---:|---|---|\n{rows}{link}\n"
    )


def read_report(report_path: Path) -> dict:
    """The monitor's JSON report, or one line saying why it cannot be read (both the issue and retraining need it)."""
    if not report_path.is_file():
        raise MlgateError(f"{report_path}: no monitor report (run `mlgate monitor run` first)")
    try:
        return json.loads(report_path.read_text())
    except json.JSONDecodeError as exc:
        raise MlgateError(f"{report_path}: not JSON") from exc


def file_issue(report_path: Path, repo: str, run_url: str = "") -> str:
    """Open or update the issue of the report's model version; a passing report files nothing."""
    report = read_report(report_path)
    if report.get("passed"):
        return "no blocking finding: no issue filed"
    if not REPO.match(repo):
        raise MlgateError(f"--repo must be owner/name (or GITHUB_REPOSITORY set), got {repo!r}")
    token = os.environ.get("GITHUB_TOKEN")
    if not token:
        raise MlgateError("GITHUB_TOKEN is not set (the workflow passes it with issues: write)")
    github = GitHub(os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/"), repo, token)
    name, text = title(report.get("info", {}).get("model_version", "unknown")), body(report, run_url)
    found = [i for i in github.open_issues(LABEL) if i.get("title") == name]
    if found:
        number = found[0]["number"]
        github.edit_issue(number, text)
        github.comment(number, text)
        return f"updated issue #{number}: {name}"
    return f"opened issue #{github.create_issue(name, text, [LABEL])}: {name}"
