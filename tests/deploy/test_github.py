"""The GitHub REST client against the stand-in: deployments and statuses, releases and assets, pulls,
sticky comments, pagination, read-only tokens and an unreachable API as one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mlgate.github import GitHub, GitHubError
from tests.conftest import ROOT
from tests.github_standin import add_pull, start


@pytest.fixture
def hub(tmp_path):
    server, url = start(tmp_path / "gh/state.json")
    yield GitHub(url, "acme/model", "write-token"), tmp_path / "gh/state.json"
    server.shutdown()


def test_deployments_newest_first_with_their_state(hub):
    gh, _ = hub
    first = gh.create_deployment("staging", "sha1", {"image": "r@sha256:1"}, "one")
    gh.set_deployment_status(first, "success")
    second = gh.create_deployment("staging", "sha2", {"image": "r@sha256:2"}, "two")
    gh.set_deployment_status(second, "failure")
    gh.create_deployment("dev", "sha3", {}, "other env")
    found = gh.deployments("staging")
    assert [(d["id"], d["state"], d["payload"]["image"]) for d in found] == [
        (second, "failure", "r@sha256:2"),
        (first, "success", "r@sha256:1"),
    ]


def test_pages_follow_the_link_header(hub):
    gh, state = hub
    for number in range(1, 131):
        add_pull(state, number, f"sha{number}")
    assert sorted(p["number"] for p in gh.open_pulls()) == list(range(1, 131))


def test_release_assets_round_trip(hub, tmp_path):
    gh, _ = hub
    assert gh.latest_release() is None
    release = gh.create_release("v1.0.0", "v1.0.0", "notes")
    blob = tmp_path / "model.tar.gz"
    blob.write_bytes(bytes(range(256)) * 10)
    gh.upload_asset(release, blob)
    latest = gh.latest_release()
    assert latest["tag_name"] == "v1.0.0" and [a["name"] for a in latest["assets"]] == ["model.tar.gz"]
    got = gh.download_asset(latest["assets"][0], tmp_path / "out/model.tar.gz")
    assert got.read_bytes() == blob.read_bytes()
    with pytest.raises(GitHubError, match="422 Validation Failed: tag_name already_exists"):
        gh.create_release("v1.0.0", "again", "")


def test_sticky_comment_is_edited_not_duplicated(hub):
    gh, state = hub
    first = gh.upsert_comment(7, "<!-- mlgate -->", "one")
    again = gh.upsert_comment(7, "<!-- mlgate -->", "two")
    comments = json.loads(state.read_text())["comments"]
    assert first == again and [c["body"] for c in comments] == ["<!-- mlgate -->\ntwo"]


def test_read_only_token_cannot_write(hub):
    gh, state = hub
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps(_empty() | {"tokens": {"ro": "read"}}))
    reader = GitHub(gh.api_url, gh.repository, "ro")
    assert reader.latest_release() is None
    with pytest.raises(GitHubError, match=r"^GitHub API POST /repos/acme/model/releases: 403 Resource not accessible"):
        reader.create_release("v1.0.0", "x", "")


def test_unreachable_api_is_one_line():
    gh = GitHub("http://127.0.0.1:9", "acme/model", "t")
    with pytest.raises(GitHubError, match=r"^GitHub API GET /repos/acme/model/releases/latest: unreachable"):
        gh.latest_release()


def test_state_is_shared_between_processes(hub):
    gh, state = hub
    script = "from tests.github_standin import add_pull; import sys; add_pull(sys.argv[1], 42, 'abc')"
    subprocess.run([sys.executable, "-c", script, str(state)], cwd=ROOT, check=True)
    assert [p["number"] for p in gh.open_pulls()] == [42]


def test_from_env_needs_all_three(monkeypatch):
    for key in ("GITHUB_API_URL", "GITHUB_REPOSITORY", "GITHUB_TOKEN"):
        monkeypatch.setenv(key, "x")
    assert GitHub.from_env() == GitHub("x", "x", "x")
    monkeypatch.delenv("GITHUB_TOKEN")
    assert GitHub.from_env() is None


def _empty() -> dict:
    from tests.github_standin import EMPTY

    return json.loads(json.dumps(EMPTY))
