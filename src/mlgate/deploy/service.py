"""deploy, promote and rollback: one immutable digest, smoke-tested, recorded, undone on failure."""

from __future__ import annotations

import json

from mlgate import registry
from mlgate.config import Params
from mlgate.deploy.environments import environment
from mlgate.deploy.history import DeployRecord, history, record
from mlgate.deploy.image import docker
from mlgate.deploy.smoke import smoke_test, wait_ready
from mlgate.deploy.targets import free_port
from mlgate.deploy.targets import target as make_target
from mlgate.errors import MlgateError

VERSION_LABEL = "io.mlgate.model.version"
REVISION_LABEL = "org.opencontainers.image.revision"


class DeployFailed(MlgateError):
    exit_code = 1


def _inspect(image: str) -> tuple[dict, dict]:
    """The image's labels and its smoke request/answer; pulls it first when it is not local."""
    if docker("image", "inspect", image, check=False).returncode != 0:
        docker("pull", image)
    labels = json.loads(docker("image", "inspect", "--format", "{{json .Config.Labels}}", image).stdout) or {}
    smoke = json.loads(docker("run", "--rm", "--entrypoint", "cat", image, "/model/smoke.json").stdout)
    return labels, smoke


def deploy(params: Params, env_name: str, image: str, target_name: str = "docker") -> DeployRecord:
    """Run `image` (repo@sha256:...) in the environment; on a failed smoke test put back what ran before."""
    if "@sha256:" not in image:
        raise MlgateError(f"--image {image!r}: expected an immutable reference repo@sha256:<digest>")
    env, target = environment(env_name), make_target(target_name)
    labels, smoke = _inspect(image)
    version, git_sha = labels.get(VERSION_LABEL, ""), labels.get(REVISION_LABEL, "")
    previous = target.current(env)
    target.run(env, image)
    with target.reach(env) as url:
        problem = smoke_test(url, smoke, {"model_version": version, "git_sha": git_sha})
    entry = DeployRecord(env.name, image, version, git_sha, "failed" if problem else "succeeded")
    record(params.mlflow, entry)
    if problem:
        target.undo(env, previous)
        back = "nothing ran before; removed"
        if previous:
            with target.reach(env) as url:
                healthy = wait_ready(url) == 200
            back = f"rolled back to {previous}" + ("" if healthy else " (which is not ready either)")
        raise DeployFailed(f"deploy of {image} to {env.name} failed: {problem}; {back}")
    if version:
        registry.set_alias(params, env.name, version, {f"deploy.{env.name}.image": image, "git_sha": git_sha})
    return entry


def promote(params: Params, source: str, dest: str, target_name: str = "docker") -> DeployRecord:
    """Deploy to `dest` exactly the digest running in `source`, if its model passed the gates."""
    image = make_target(target_name).current(environment(source))
    if not image:
        raise MlgateError(f"--from {source}: nothing is deployed there")
    labels, _ = _inspect(image)
    version = labels.get(VERSION_LABEL, "")
    tags = registry.version_tags(params, version) if version else None
    if not tags or tags.get("gate.data") != "passed" or tags.get("gate.model") != "passed":
        raise MlgateError(
            f"refusing to promote {image}: model version {version or '(none)'} is not registered "
            "with passing data and model gates"
        )
    return deploy(params, dest, image, target_name)


def rollback(params: Params, env_name: str, to_version: str | None = None, target_name: str = "docker"):
    """Redeploy the previous successful digest of the environment (or the one of model version `to_version`)."""
    env = environment(env_name)
    current = make_target(target_name).current(env)
    past = [r for r in history(params.mlflow, env.name) if r.image != current]
    if to_version:
        past = [r for r in past if r.model_version == to_version]
    if not past:
        wanted = f"model version {to_version}" if to_version else "an earlier digest"
        raise MlgateError(f"--env {env.name}: no successful deploy of {wanted} to roll back to")
    return deploy(params, env.name, past[0].image, target_name)


def smoke_image(tag: str) -> None:
    """Run the image on a free loopback port and smoke-test it, as a deploy would; always removes it."""
    labels, smoke = _inspect(tag)
    port = free_port()
    name = f"mlgate-smoke-{port}"
    docker("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8080", "--read-only", "--tmpfs", "/tmp", tag)
    try:
        problem = smoke_test(f"http://127.0.0.1:{port}", smoke, {"git_sha": labels.get(REVISION_LABEL, "")})
    finally:
        docker("rm", "-f", name, check=False)
    if problem:
        raise DeployFailed(f"smoke test of {tag} failed: {problem}")
