"""Honest targets and provenance: `auto` picks kubernetes only with a cluster, docker only where the engine
outlives the job, else the registry; the image's source label names the repository that built it."""

from __future__ import annotations

import subprocess

import pytest

from mlgate.deploy.image import source
from mlgate.deploy.targets import resolve_target
from mlgate.errors import MlgateError

CLEAN = ("KUBECONFIG_DATA", "KUBECONFIG", "DOCKER_HOST", "GITHUB_ACTIONS")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"GITHUB_ACTIONS": "true"}, "registry"),  # a GitHub-hosted runner: nothing outlives the job
        ({"GITHUB_ACTIONS": "true", "DOCKER_HOST": "ssh://deploy@box"}, "docker"),  # an engine that stays
        ({"GITHUB_ACTIONS": "true", "KUBECONFIG_DATA": "apiVersion: v1"}, "kubernetes"),
        ({}, "docker"),  # a laptop
        ({"KUBECONFIG": "/home/me/.kube/config"}, "kubernetes"),
    ],
)
def test_auto(monkeypatch, env, expected):
    for key in CLEAN:
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert resolve_target("auto") == expected
    assert resolve_target("registry") == "registry"  # an explicit choice is kept


def test_unknown_target_is_one_line():
    with pytest.raises(MlgateError, match=r"--target 'ecs': expected one of \['auto', 'registry', 'docker'"):
        resolve_target("ecs")


def test_source_is_the_building_repository(monkeypatch, tmp_path):
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "forker/their-model")
    assert source(tmp_path) == "https://github.com/forker/their-model"
    monkeypatch.delenv("GITHUB_REPOSITORY")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(
        ["git", "remote", "add", "origin", "https://x-access-token:ghs_secret@github.com/forker/m.git"],
        cwd=tmp_path,
        check=True,
    )
    assert source(tmp_path) == "https://github.com/forker/m"  # no token in a label
    subprocess.run(["git", "remote", "set-url", "origin", "git@github.com:forker/m.git"], cwd=tmp_path, check=True)
    assert source(tmp_path) == "https://github.com/forker/m"


def test_two_projects_on_one_engine_name_their_own_containers(tmp_path):
    """Each docker-target environment is one container: named mlgate-<env> unless the project names its own,
    so two projects on a shared engine do not replace each other's service."""
    from mlgate.deploy.environments import environment
    from mlgate.deploy.targets import DockerTarget

    path = tmp_path / "environments.yaml"
    path.write_text(
        "environments:\n"
        "  dev: {docker_port: 18101, namespace: a-dev}\n"
        "  staging: {docker_port: 18202, namespace: b-staging, container: shop-staging}\n"
    )
    assert DockerTarget().container(environment("dev", path)) == "mlgate-dev"
    assert DockerTarget().container(environment("staging", path)) == "shop-staging"


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        (
            "{docker_port: 18101, namespace: a, container: [x]}",
            "environments.dev.container: Input should be a valid string",
        ),
        ("{docker_port: high, namespace: a}", "environments.dev.docker_port"),
        ("{docker_port: 18101, namespace: a, contianer: x}", "unknown key 'environments.dev.contianer'"),
        ("just-a-name", "environments.dev: Input should be a valid dictionary"),
    ],
)
def test_a_bad_environment_entry_is_one_line_naming_the_file_and_key(tmp_path, entry, says):
    from mlgate.deploy.environments import environment

    path = tmp_path / "environments.yaml"
    path.write_text(f"environments:\n  dev: {entry}\n")
    with pytest.raises(MlgateError) as caught:
        environment("dev", path)
    assert str(caught.value).startswith(f"{path}: ") and says in str(caught.value)
