"""`mlgate image from-main`: the release's image is the digest main's own run recorded (defect 2), read with the
resolve job's own token; a registry tag, another workflow's or another branch's run, never."""

from __future__ import annotations

import json

import pytest

from mlgate.deploy.origin import from_main
from mlgate.errors import MlgateError
from mlgate.github import GitHub
from tests.conftest import ROOT, run_cli
from tests.template.github_standin import EMPTY, add_run, start, workflow_job_token

SHA = "c" * 40
REPO = "ghcr.io/acme/model"
IMAGE = f"{REPO}@sha256:" + "a" * 64


@pytest.fixture
def hub(tmp_path, monkeypatch):
    state = tmp_path / "gh/state.json"
    state.parent.mkdir()
    token = workflow_job_token(ROOT / ".github/workflows/release.yml", "resolve")
    state.write_text(json.dumps({**EMPTY, "tokens": {"job": token}}))
    server, url = start(state)
    monkeypatch.setenv("MLGATE_IMAGE_REPOSITORY", REPO)
    yield GitHub(url, "acme/model", "job"), state, tmp_path
    server.shutdown()


def _artifacts(root, image: str):
    (root / "image-ref").mkdir(parents=True, exist_ok=True)
    (root / "image-ref/image").write_text(image + "\n")
    return root


def test_the_image_is_what_main_s_run_recorded(hub):
    gh, state, tmp = hub
    add_run(state, 7, "main.yml", "push", "main", SHA, "success", _artifacts(tmp / "run7", IMAGE))
    found = from_main(gh, SHA)
    assert found.image == IMAGE and "main's run 7 published sha256:aaaaaaaaaaa" in found.says


def test_another_workflow_or_branch_cannot_name_the_release_s_image(hub):
    """Any workflow with packages: write can push REPO:<sha>, and a branch's run can upload any artifact: neither
    is main's run, so the release builds the commit itself rather than trust them."""
    gh, state, tmp = hub
    forged = f"{REPO}@sha256:" + "e" * 64
    add_run(state, 8, "evil.yml", "push", "main", SHA, "success", _artifacts(tmp / "run8", forged))
    add_run(state, 9, "main.yml", "push", "feature", SHA, "success", _artifacts(tmp / "run9", forged))
    add_run(state, 10, "main.yml", "workflow_dispatch", "main", SHA, "success", _artifacts(tmp / "run10", forged))
    found = from_main(gh, SHA, appear=0)
    assert found.image == "" and "main never ran for cccccccccccc" in found.says


def test_while_main_is_still_building_the_release_waits_and_never_builds_a_second_image(hub):
    gh, state, _ = hub
    add_run(state, 11, "main.yml", "push", "main", SHA, None)  # in progress
    with pytest.raises(MlgateError, match=r"main's run 11 for cccccccccccc is still in_progress after 0 s: not build"):
        from_main(gh, SHA, wait=0.2, poll=0.1)


def test_a_main_run_that_published_nothing_is_built_by_the_release(hub):
    gh, state, _ = hub
    add_run(state, 12, "main.yml", "push", "main", SHA, "cancelled")
    found = from_main(gh, SHA)
    assert found.image == "" and "published no image: building it here" in found.says


@pytest.mark.parametrize(
    ("recorded", "why"),
    [
        ("ghcr.io/acme/model:latest", "not repo@sha256:<digest>"),
        ("ghcr.io/other/repo@sha256:" + "a" * 64, "outside ghcr.io/acme/model"),
    ],
)
def test_a_recorded_image_that_is_not_an_image_of_this_repository_is_refused(hub, recorded, why):
    gh, state, tmp = hub
    add_run(state, 13, "main.yml", "push", "main", SHA, "success", _artifacts(tmp / "run13", recorded))
    with pytest.raises(MlgateError, match=why):
        from_main(gh, SHA)


def test_the_cli_writes_image_or_build(hub, tmp_path):
    gh, state, tmp = hub
    env = {"GITHUB_API_URL": gh.api_url, "GITHUB_REPOSITORY": gh.repository, "GITHUB_TOKEN": "job"}
    out = tmp_path / "out"
    add_run(state, 14, "main.yml", "push", "main", SHA, "success", _artifacts(tmp / "run14", IMAGE))
    done = run_cli("image", "from-main", "--sha", SHA, cwd=ROOT, env=env | {"GITHUB_OUTPUT": str(out)})
    assert done.returncode == 0, done.stderr
    assert out.read_text() == f"image={IMAGE}\nbuild=false\n"
