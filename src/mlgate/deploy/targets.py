"""Where an image runs: the registry tag alone, the local Docker engine, or a Kubernetes cluster.

All answer the same questions (what runs now, run this digest, where to reach it, put back exactly
the previous digest), so deploy, promote and rollback are written once in service.py.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlgate.deploy.environments import Environment
from mlgate.deploy.image import docker, tag_digest
from mlgate.deploy.smoke import wait_ready
from mlgate.errors import MlgateError

IMAGE_LABEL = "io.mlgate.image"
K8S_DIR = Path("deploy/k8s")
K8S_IMAGE_NAME = "mlgate-serve"  # the image name the base manifests use; kustomize swaps in the digest


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DockerTarget:
    """The local engine: one container per environment on its loopback port (laptops, self-hosted runners).

    A new image starts beside the old one on a spare port and must answer /ready before the old one is
    replaced, so a digest that cannot start never takes the environment's port."""

    name = "docker"
    says = "running on the local Docker engine"

    def container(self, env: Environment) -> str:
        return env.container

    def current(self, env: Environment) -> str | None:
        result = docker(
            "inspect", "--format", f'{{{{index .Config.Labels "{IMAGE_LABEL}"}}}}', self.container(env), check=False
        )
        return (result.stdout.strip() or None) if result.returncode == 0 else None

    def _start(self, name: str, image: str, port: int, restart: bool) -> None:
        docker("rm", "-f", name, check=False)
        args = ["run", "-d", "--name", name, "--label", f"{IMAGE_LABEL}={image}"]
        args += ["--restart", "unless-stopped"] if restart else []
        docker(*args, "-p", f"127.0.0.1:{port}:8080", "--read-only", "--tmpfs", "/tmp", image)

    def apply(self, env: Environment, image: str) -> None:
        candidate, port = f"{self.container(env)}-next", free_port()
        self._start(candidate, image, port, restart=False)
        try:
            status = wait_ready(f"http://127.0.0.1:{port}", timeout=60)
        finally:
            docker("rm", "-f", candidate, check=False)
        if status != 200:
            raise MlgateError(f"{image} did not become ready beside the running one (last /ready {status})")
        self._start(self.container(env), image, env.docker_port, restart=True)

    def restore(self, env: Environment, previous: str | None) -> None:
        if previous:
            self._start(self.container(env), previous, env.docker_port, restart=True)
            status = wait_ready(f"http://127.0.0.1:{env.docker_port}", timeout=60)
            if status != 200:
                raise MlgateError(f"{previous} is back but not ready (last /ready {status})")
        else:
            docker("rm", "-f", self.container(env), check=False)

    @contextmanager
    def reach(self, env: Environment) -> Iterator[str]:
        yield f"http://127.0.0.1:{env.docker_port}"


class RegistryTarget:
    """No long-running service (a GitHub-hosted runner): the image is smoke-tested on the runner, and what
    "runs" in the environment is what its registry tag REPO:ENV names."""

    name = "registry"
    says = "promoted in the registry (no long-running service)"

    def __init__(self, repository: str) -> None:
        self.repository = repository

    def current(self, env: Environment) -> str | None:
        return tag_digest(f"{self.repository}:{env.name}")

    def apply(self, env: Environment, image: str) -> None:
        self._image = image

    def restore(self, env: Environment, previous: str | None) -> None:
        """Nothing runs; the tag is put back by the deploy itself."""

    @contextmanager
    def reach(self, env: Environment) -> Iterator[str]:
        port = free_port()
        name = f"mlgate-smoke-{env.name}-{port}"
        docker(
            "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8080", "--read-only", "--tmpfs", "/tmp", self._image
        )
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            docker("rm", "-f", name, check=False)


def render(env: Environment, image: str, k8s_dir: Path = K8S_DIR) -> str:
    """The environment's overlay with the image pinned by digest, as kubectl would apply it."""
    repo, digest = image.split("@", 1)
    overlay = (k8s_dir / "overlays" / env.name).resolve()
    if not overlay.is_dir():
        raise MlgateError(f"{overlay}: no kustomize overlay for environment {env.name!r}")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "kustomization.yaml").write_text(
            json.dumps(
                {
                    "apiVersion": "kustomize.config.k8s.io/v1beta1",
                    "kind": "Kustomization",
                    "resources": [os.path.relpath(overlay, tmp)],  # kustomize wants relative roots
                    "images": [{"name": K8S_IMAGE_NAME, "newName": repo, "digest": digest}],
                }
            )
        )
        result = subprocess.run(
            ["kubectl", "kustomize", tmp],
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        raise MlgateError(f"kubectl kustomize {overlay} failed: {result.stderr.strip()[-300:]}")
    return result.stdout


class KubernetesTarget:
    """kubectl apply of the environment's overlay with the image pinned by digest, then rollout status.

    Credentials come from KUBECONFIG_DATA (a CI secret) written to a private temp file that every kubectl
    call uses, port-forward included, and that is removed when the deploy ends."""

    name = "kubernetes"
    says = "rolled out on Kubernetes"
    rollout_timeout = "180s"

    def __init__(self) -> None:
        self.env = dict(os.environ)
        self._kubeconfig: str | None = None
        if data := os.environ.get("KUBECONFIG_DATA"):
            handle, path = tempfile.mkstemp(prefix="kubeconfig-")
            with os.fdopen(handle, "w") as out:
                out.write(data)
            self._kubeconfig = path
            self.env["KUBECONFIG"] = path

    def close(self) -> None:
        if self._kubeconfig:
            Path(self._kubeconfig).unlink(missing_ok=True)
            self._kubeconfig = None

    def _kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            ["kubectl", *args], input=stdin, capture_output=True, text=True, check=False, env=self.env
        )
        if check and result.returncode != 0:
            raise MlgateError(f"kubectl {args[0]} failed: {result.stderr.strip()[-300:]}")
        return result

    def current(self, env: Environment) -> str | None:
        result = self._kubectl(
            "get",
            "deployment/mlgate",
            "-n",
            env.namespace,
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
            check=False,
        )
        if result.returncode != 0:
            if "NotFound" in result.stderr or "not found" in result.stderr:
                return None
            raise MlgateError(f"kubectl get failed: {result.stderr.strip()[-300:]}")
        return result.stdout.strip() or None

    def apply(self, env: Environment, image: str) -> None:
        self._kubectl("apply", "-f", "-", stdin=render(env, image))
        self._kubectl(
            "rollout", "status", "deployment/mlgate", "-n", env.namespace, f"--timeout={self.rollout_timeout}"
        )

    def restore(self, env: Environment, previous: str | None) -> None:
        """Re-apply exactly the previous digest (no `rollout undo`: its idea of "previous" is not ours)."""
        if previous:
            self.apply(env, previous)
        else:
            self._kubectl("delete", "deployment/mlgate", "-n", env.namespace, "--ignore-not-found")

    @contextmanager
    def reach(self, env: Environment) -> Iterator[str]:
        port = free_port()
        forward = subprocess.Popen(
            ["kubectl", "port-forward", "-n", env.namespace, "service/mlgate", f"{port}:80"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self.env,
        )
        try:
            _listening(port, forward)
            yield f"http://127.0.0.1:{port}"
        finally:
            forward.terminate()
            forward.wait(timeout=10)


def _listening(port: int, forward: subprocess.Popen, seconds: float = 30) -> None:
    """Until the port-forward accepts connections (it takes seconds on a busy runner), exits, or `seconds` pass;
    the smoke test then says what it found."""
    deadline = time.monotonic() + seconds
    while forward.poll() is None and time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)


TARGETS = ("auto", "registry", "docker", "kubernetes")


def resolve_target(name: str) -> str:
    """`auto`: kubernetes when a cluster is configured; docker where the engine outlives the job (DOCKER_HOST
    set, or not in GitHub Actions: a laptop); else registry (a GitHub-hosted runner)."""
    if name not in TARGETS:
        raise MlgateError(f"--target {name!r}: expected one of {list(TARGETS)}")
    if name != "auto":
        return name
    if os.environ.get("KUBECONFIG_DATA") or os.environ.get("KUBECONFIG"):
        return "kubernetes"
    if os.environ.get("DOCKER_HOST") or os.environ.get("GITHUB_ACTIONS") != "true":
        return "docker"
    return "registry"


def target(name: str, repository: str = ""):
    """The target object for a resolved name (registry needs the image repository)."""
    name = resolve_target(name)
    if name == "registry":
        return RegistryTarget(repository)
    return DockerTarget() if name == "docker" else KubernetesTarget()
