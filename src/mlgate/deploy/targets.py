"""Where an image runs: the local Docker engine (laptops, tests) or a Kubernetes cluster.

Both answer the same questions (what runs now, run this digest, where to reach it, undo),
so deploy, promote and rollback are written once in service.py.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from mlgate.deploy.environments import Environment
from mlgate.deploy.image import docker
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
    name = "docker"

    def container(self, env: Environment) -> str:
        return f"mlgate-{env.name}"

    def current(self, env: Environment) -> str | None:
        result = docker(
            "inspect", "--format", f'{{{{index .Config.Labels "{IMAGE_LABEL}"}}}}', self.container(env), check=False
        )
        return result.stdout.strip() or None if result.returncode == 0 else None

    def run(self, env: Environment, image: str) -> None:
        docker("rm", "-f", self.container(env), check=False)
        docker(
            "run",
            "-d",
            "--name",
            self.container(env),
            "--restart",
            "unless-stopped",
            "--label",
            f"{IMAGE_LABEL}={image}",
            "-p",
            f"127.0.0.1:{env.docker_port}:8080",
            "--read-only",
            "--tmpfs",
            "/tmp",
            image,
        )

    def remove(self, env: Environment) -> None:
        docker("rm", "-f", self.container(env), check=False)

    @contextmanager
    def reach(self, env: Environment):
        yield f"http://127.0.0.1:{env.docker_port}"

    def undo(self, env: Environment, previous: str | None) -> None:
        if previous:
            self.run(env, previous)
        else:
            self.remove(env)


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
            ["kubectl", "kustomize", "--load-restrictor", "LoadRestrictionsNone", tmp],
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        raise MlgateError(f"kubectl kustomize {overlay} failed: {result.stderr.strip()[-300:]}")
    return result.stdout


class KubernetesTarget:
    name = "kubernetes"

    def __init__(self) -> None:
        """In CI the cluster credentials arrive as a secret (KUBECONFIG_DATA); kubectl wants a file."""
        self.env = dict(os.environ)
        if data := os.environ.get("KUBECONFIG_DATA"):
            handle, path = tempfile.mkstemp(prefix="kubeconfig-")
            with os.fdopen(handle, "w") as out:
                out.write(data)
            self.env["KUBECONFIG"] = path

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
        return result.stdout.strip() or None if result.returncode == 0 else None

    def run(self, env: Environment, image: str) -> None:
        self._kubectl("apply", "-f", "-", stdin=render(env, image))
        self._kubectl("rollout", "status", "deployment/mlgate", "-n", env.namespace, "--timeout=180s")

    def undo(self, env: Environment, previous: str | None) -> None:
        self._kubectl("rollout", "undo", "deployment/mlgate", "-n", env.namespace, check=False)
        self._kubectl("rollout", "status", "deployment/mlgate", "-n", env.namespace, "--timeout=180s", check=False)

    @contextmanager
    def reach(self, env: Environment):
        port = free_port()
        forward = subprocess.Popen(
            ["kubectl", "port-forward", "-n", env.namespace, "service/mlgate", f"{port}:80"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            forward.terminate()


TARGETS = {"docker": DockerTarget, "kubernetes": KubernetesTarget}


def target(name: str):
    if name not in TARGETS:
        raise MlgateError(f"--target {name!r}: expected one of {sorted(TARGETS)}")
    return TARGETS[name]()
