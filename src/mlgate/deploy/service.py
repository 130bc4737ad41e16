"""deploy, promote and rollback: one verified digest, all or nothing.

pull and verify the binding -> lock the environment -> remember exactly what runs (target, registry tag,
MLflow alias) and open a history record (each of these fails before anything changes) -> run -> smoke ->
move the registry tag -> mirror the alias -> close the record as success. A failure at any step puts
back exactly what ran before, in reverse order, closes the record as failure, and says what it did.
"""

from __future__ import annotations

import fcntl
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mlgate import registry, tracking
from mlgate.config import Params
from mlgate.deploy import history
from mlgate.deploy.binding import REVISION_LABEL, Bound, verify
from mlgate.deploy.environments import Environment, environment
from mlgate.deploy.image import digest_of, docker, env_tag, move_env_tag, repository, tag_digest
from mlgate.deploy.smoke import smoke_test
from mlgate.deploy.targets import free_port, resolve_target
from mlgate.deploy.targets import target as make_target
from mlgate.errors import MlgateError

RECORD_ATTEMPTS = 3


class DeployFailed(MlgateError):
    exit_code = 1


@dataclass(frozen=True)
class Deployed:
    env: str
    image: str
    model_version: str
    target: str
    says: str
    history: str


@contextmanager
def env_lock(name: str) -> Iterator[None]:
    """Serialize deploys to one environment's service on this machine (workflows add a concurrency group)."""
    path = Path(tempfile.gettempdir()) / f"mlgate-deploy-{name}.lock"
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _retry(step: Callable[[], None], attempts: int = RECORD_ATTEMPTS, pause: float = 1.0) -> None:
    for attempt in range(attempts):
        try:
            step()
            return
        except MlgateError:
            if attempt == attempts - 1:
                raise
            time.sleep(pause * (attempt + 1))


def deploy(
    params: Params, env_name: str, image: str, target_name: str = "auto", rolled_back_from: str = ""
) -> Deployed:
    """Run `image` in the environment if it is bound to a gated model; on any failure put back what ran."""
    env = environment(env_name)
    bound = verify(image)
    target = make_target(target_name, image.split("@", 1)[0])
    try:
        with env_lock(env.container):
            return _all_or_nothing(params, env, bound, target, rolled_back_from)
    finally:
        if close := getattr(target, "close", None):
            close()


def _all_or_nothing(params: Params, env: Environment, bound: Bound, target, rolled_back_from: str) -> Deployed:
    image, mirror = bound.image, tracking.server_configured()
    records = history.store()
    # Remember exactly what runs; each lookup fails here, before anything has changed.
    previous = target.current(env)
    previous_tag = previous if target.name == "registry" else tag_digest(env_tag(image, env.name))
    previous_alias = registry.alias_version(params, env.name) if mirror else None
    entry = history.DeployRecord(
        env.name, image, bound.model_version, bound.model_sha256, bound.git_sha, rolled_back_from=rolled_back_from
    )
    record_id = records.open(entry, f"{target.name}: {image}")
    moved_tag = moved_alias = False
    step = "run"
    try:
        target.apply(env, image)
        step = "smoke"
        with target.reach(env) as url:
            problem = smoke_test(url, bound.smoke, {"model_version": bound.model_version, "git_sha": bound.git_sha})
        if problem:
            raise DeployFailed(problem)
        step = "tag"
        move_env_tag(image, env.name)
        moved_tag = True
        if mirror:
            step = "alias"
            tags = {f"deploy.{env.name}.image": image, "model_sha256": bound.model_sha256}
            registry.set_alias(params, env.name, bound.model_version, tags)
            moved_alias = True
        step = "record"
        _retry(lambda: records.close(record_id, "success", f"{target.says}: {image}"))
    except Exception as exc:  # every failure, expected or not, ends in the previous state
        reason = f"{step} failed: {exc}" if step != "smoke" else f"smoke test failed: {exc}"
        notes = _undo(
            params,
            env,
            target,
            records,
            record_id,
            previous,
            previous_tag,
            previous_alias,
            moved_tag,
            moved_alias,
            image,
            reason,
            mirror,
        )
        raise DeployFailed(tracking.redact(f"deploy of {image} to {env.name}: {reason}; {notes}")) from None
    return Deployed(env.name, image, bound.model_version, target.name, target.says, records.name)


def _undo(params, env, target, records, record_id, previous, previous_tag, previous_alias,
          moved_tag, moved_alias, image, reason, mirror) -> str:  # fmt: skip
    """Put back exactly what ran, newest change first; returns what it did (and what it could not)."""
    said: list[str] = []
    if moved_alias:
        try:
            registry.set_alias(params, env.name, previous_alias)
        except MlgateError as exc:
            said.append(f"MLflow alias @{env.name} NOT restored ({exc})")
    if moved_tag:
        if previous_tag:
            try:
                move_env_tag(previous_tag, env.name)
            except MlgateError as exc:
                said.append(f"registry tag {env_tag(image, env.name)} NOT restored ({exc})")
        else:
            said.append(f"registry tag {env_tag(image, env.name)} stays on {image} (no earlier digest to put back)")
    try:
        if target.current(env) != previous:
            target.restore(env, previous)
        said.insert(0, f"restored {previous}" if previous else "nothing ran before; removed")
    except MlgateError as exc:
        said.insert(0, f"could NOT restore {previous or 'the empty environment'} ({exc})")
    try:
        _retry(lambda: records.close(record_id, "failure", reason[:120]))
        said.append(f"recorded as failed in {records.name}")
    except MlgateError as exc:
        said.append(f"{records.name} record left pending ({exc})")
    return "; ".join(said)


def _repository_for(target_name: str) -> str:
    return repository() if resolve_target(target_name) == "registry" else ""


def promote(params: Params, source: str, dest: str, target_name: str = "auto", expect: str = "") -> Deployed:
    """Deploy to `dest` exactly the digest running in `source`; deploy verifies it is gated. With `expect`
    (the release's image), `source` must run that digest: between staging and an approved production job,
    staging may have been rolled back, and the release would then record an image production does not run."""
    image = make_target(target_name, _repository_for(target_name)).current(environment(source))
    if not image:
        raise MlgateError(f"--from {source}: nothing is deployed there")
    if expect and digest_of(image) != digest_of(expect):
        raise MlgateError(
            f"--from {source} runs {image}, not the expected {expect}: promote refused "
            f"({source} changed since this run deployed it; run the release again)"
        )
    return deploy(params, dest, image, target_name)


def rollback(params: Params, env_name: str, to_version: str | None = None, target_name: str = "auto") -> Deployed:
    """Redeploy the previous successful digest of the environment (or the newest one of `to_version`),
    verified like any deploy; a digest that was rolled back from is never chosen again."""
    env = environment(env_name)
    current = make_target(target_name, _repository_for(target_name)).current(env)
    entries = history.store().entries(env.name)
    if to_version:
        found = (e for e in entries if e.status == "success" and e.model_version == to_version and e.image != current)
        candidate = next(found, None)
    else:
        candidate = history.rollback_candidate(entries, current)
    if candidate is None:
        wanted = f"model version {to_version}" if to_version else "an earlier digest"
        raise MlgateError(f"--env {env.name}: no successful deploy of {wanted} to roll back to")
    return deploy(params, env.name, candidate.image, target_name, rolled_back_from=current or "")


def smoke_image(tag: str) -> None:
    """Run a built image on a free loopback port and smoke-test it, as a deploy would; always removes it."""
    labels = json.loads(docker("image", "inspect", "--format", "{{json .Config.Labels}}", tag).stdout) or {}
    smoke = json.loads(docker("run", "--rm", "--entrypoint", "cat", tag, "/model/smoke.json").stdout)
    port = free_port()
    name = f"mlgate-smoke-{port}"
    docker("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8080", "--read-only", "--tmpfs", "/tmp", tag)
    try:
        problem = smoke_test(f"http://127.0.0.1:{port}", smoke, {"git_sha": labels.get(REVISION_LABEL, "")})
    finally:
        docker("rm", "-f", name, check=False)
    if problem:
        raise DeployFailed(f"smoke test of {tag} failed: {problem}")
