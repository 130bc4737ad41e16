"""Deploy history without any server: the local ledger (open/close lines, a torn line tolerated) and the
same records in GitHub Deployments; rollback picks the previous success and never one rolled back from."""

from __future__ import annotations

import pytest

from mlgate.deploy.history import DeployRecord, GitHubHistory, Ledger, rollback_candidate
from mlgate.github import GitHub
from tests.template.github_standin import start


def _deploy(store, image: str, status: str, rolled_back_from: str = "") -> None:
    entry = DeployRecord("production", image, image[-1], "f" * 64, "sha", rolled_back_from=rolled_back_from)
    store.close(store.open(entry, "test"), status, "test")


@pytest.fixture(params=["ledger", "github"])
def store(request, tmp_path):
    if request.param == "ledger":
        yield Ledger(tmp_path / ".mlgate/deploys.jsonl")
        return
    server, url = start(tmp_path / "gh/state.json")
    yield GitHubHistory(GitHub(url, "acme/model", "t"))
    server.shutdown()


def test_records_newest_first_with_their_outcome(store):
    _deploy(store, "r@1", "success")
    _deploy(store, "r@2", "failure")
    pending = store.open(DeployRecord("production", "r@3", "3"), "test")
    assert pending
    assert [(e.image, e.status) for e in store.entries("production")] == [
        ("r@3", "pending"),
        ("r@2", "failure"),
        ("r@1", "success"),
    ]
    assert list(store.entries("staging")) == []


def test_rolling_back_twice_does_not_bring_the_bad_version_back(store):
    for image in ("r@1", "r@2", "r@3"):
        _deploy(store, image, "success")
    first = rollback_candidate(store.entries("production"), "r@3")
    assert first.image == "r@2"
    _deploy(store, "r@2", "success", rolled_back_from="r@3")
    second = rollback_candidate(store.entries("production"), "r@2")
    assert second.image == "r@1"  # not r@3, which was rolled back from
    _deploy(store, "r@1", "success", rolled_back_from="r@2")
    assert rollback_candidate(store.entries("production"), "r@1") is None


def test_failed_and_pending_deploys_are_never_rollback_targets(store):
    _deploy(store, "r@1", "success")
    _deploy(store, "r@2", "failure")
    store.open(DeployRecord("production", "r@3", "3"), "test")
    assert rollback_candidate(store.entries("production"), "r@1") is None


def test_a_torn_ledger_line_is_skipped(tmp_path):
    ledger = Ledger(tmp_path / "deploys.jsonl")
    _deploy(ledger, "r@1", "success")
    with open(ledger.path, "a") as handle:
        handle.write('{"id": "x", "env": "prod')  # a process killed mid-write
    assert [e.image for e in ledger.entries("production")] == ["r@1"]


def test_deployments_github_made_for_a_job_environment_are_ignored(tmp_path):
    server, url = start(tmp_path / "gh/state.json")
    github = GitHub(url, "acme/model", "t")
    github.set_deployment_status(github.create_deployment("production", "sha", {}, "job environment"), "success")
    assert list(GitHubHistory(github).entries("production")) == []
    server.shutdown()
