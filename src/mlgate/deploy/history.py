"""Deploy history that survives ephemeral runners: GitHub Deployments on GitHub, a local ledger elsewhere.

One record per deploy attempt: opened before anything changes (pending), closed as success or failure
once the environment is in its final state. Rollback reads the successful ones, newest first.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mlgate.github import GitHub

LEDGER = Path(".mlgate/deploys.jsonl")


@dataclass(frozen=True)
class DeployRecord:
    env: str
    image: str
    model_version: str
    model_sha256: str = ""
    git_sha: str = ""
    status: str = "pending"  # pending | success | failure
    rolled_back_from: str = ""  # the image a rollback replaced: never chosen again by a later rollback
    id: str = field(default="", compare=False)

    @property
    def payload(self) -> dict:
        return {
            "image": self.image,
            "model_version": self.model_version,
            "model_sha256": self.model_sha256,
            "rolled_back_from": self.rolled_back_from,
        }


class Ledger:
    """Append-only JSON lines: an `open` line per attempt, a `close` line with its outcome."""

    name = "ledger"

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path or os.environ.get("MLGATE_LEDGER") or LEDGER)

    def _append(self, line: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as handle:
            handle.write(json.dumps(line) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def open(self, entry: DeployRecord, description: str) -> str:
        record_id = uuid.uuid4().hex
        self._append({"id": record_id, "time": time.time(), **asdict(entry) | {"id": record_id}})
        return record_id

    def close(self, record_id: str, status: str, description: str) -> None:
        self._append({"id": record_id, "time": time.time(), "status": status, "description": description})

    def entries(self, env: str) -> list[DeployRecord]:
        if not self.path.is_file():
            return []
        opened: dict[str, dict] = {}
        for line in self.path.read_text().splitlines():
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue  # a torn last line from a killed process
            if "env" in item:
                opened[item["id"]] = item
            elif item.get("id") in opened:
                opened[item["id"]]["status"] = item["status"]
        known = DeployRecord.__dataclass_fields__
        found = [DeployRecord(**{k: v for k, v in item.items() if k in known}) for item in opened.values()]
        return [r for r in reversed(found) if r.env == env]


class GitHubHistory:
    """GitHub Deployments: environment = ENV, ref = the image's commit, payload = what runs."""

    name = "GitHub Deployments"

    def __init__(self, github: GitHub) -> None:
        self.github = github

    def open(self, entry: DeployRecord, description: str) -> str:
        deployment = self.github.create_deployment(entry.env, entry.git_sha or "HEAD", entry.payload, description)
        self.github.set_deployment_status(deployment, "in_progress", description)
        return str(deployment)

    def close(self, record_id: str, status: str, description: str) -> None:
        self.github.set_deployment_status(int(record_id), status, description)

    def entries(self, env: str) -> Iterator[DeployRecord]:
        """Newest first, read lazily: rollback and the production release stop at the first match."""
        for deployment in self.github.deployments(env, wanted=lambda d: bool(_payload(d).get("image"))):
            payload = _payload(deployment)
            state = deployment.get("state", "pending")
            yield DeployRecord(
                env=env,
                image=payload["image"],
                model_version=str(payload.get("model_version", "")),
                model_sha256=str(payload.get("model_sha256", "")),
                git_sha=deployment.get("sha") or deployment.get("ref", ""),
                status=state if state in ("success", "failure") else "pending",
                rolled_back_from=str(payload.get("rolled_back_from", "")),
                id=str(deployment["id"]),
            )


def _payload(deployment: dict) -> dict:
    """Ours carry the image; a deployment GitHub made for a job's `environment:` carries none."""
    payload = deployment.get("payload") or {}
    if isinstance(payload, str):  # GitHub returns the payload as it was sent; older APIs as text
        try:
            payload = json.loads(payload)
        except json.JSONDecodeError:
            return {}
    return payload if isinstance(payload, dict) else {}


def store() -> Ledger | GitHubHistory:
    """GitHub Deployments when the job has a token for its repository, else the local ledger."""
    github = GitHub.from_env()
    return GitHubHistory(github) if github else Ledger()


def rollback_candidate(entries: Iterable[DeployRecord], current: str | None) -> DeployRecord | None:
    """The newest successful deploy that is not what runs and was not rolled back from since."""
    rolled_back_from: set[str] = set()
    for entry in entries:  # newest first
        if entry.status == "success" and entry.rolled_back_from:
            rolled_back_from.add(entry.rolled_back_from)
        if entry.status == "success" and entry.image != current and entry.image not in rolled_back_from:
            return entry
    return None
