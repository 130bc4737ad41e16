"""Building and pushing the serving image with the local Docker CLI.

The same commands run on a laptop, in this repo's tests and in GitHub Actions; which
docker binary and base image to use comes from the environment (MLGATE_DOCKER, BASE_IMAGE).
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from mlgate.errors import MlgateError

DOCKERFILE = Path("deploy/Dockerfile")


def docker_bin() -> str:
    return os.environ.get("MLGATE_DOCKER", "docker")


def docker(*args: str, check: bool = True, capture: bool = True) -> subprocess.CompletedProcess:
    """Run the docker CLI; a failure becomes an MlgateError with docker's last line."""
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    try:
        result = subprocess.run([docker_bin(), *args], capture_output=capture, text=True, env=env, check=False)
    except FileNotFoundError as exc:
        raise MlgateError(f"docker CLI '{docker_bin()}' not found (set MLGATE_DOCKER or install Docker)") from exc
    if check and result.returncode != 0:
        last = (result.stderr or result.stdout or "").strip().splitlines()[-1:] or ["(no output)"]
        raise MlgateError(f"docker {args[0]} failed: {last[0]}")
    return result


def build(
    tag: str,
    context: Path = Path("."),
    base_image: str | None = None,
    git_sha: str | None = None,
    model_version: str = "",
) -> str:
    """Build the serving image from `context` (needs outputs/model); returns the image id."""
    if not (context / "outputs/model/MLmodel").is_file():
        raise MlgateError(f"{context / 'outputs/model'}: no model to package (run `make run` first)")
    args = [
        "build",
        "-q",
        "-f",
        str(context / DOCKERFILE),
        "-t",
        tag,
        "--build-arg",
        f"BUILD_TIME={datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}",
        "--build-arg",
        f"GIT_SHA={git_sha or _git_sha(context)}",
        "--build-arg",
        f"MODEL_VERSION={model_version}",
    ]
    if base_image or os.environ.get("BASE_IMAGE"):
        args += ["--build-arg", f"BASE_IMAGE={base_image or os.environ['BASE_IMAGE']}"]
    if ca := os.environ.get("MLGATE_PIP_CA"):  # a TLS-intercepting proxy between the build and PyPI
        args += ["--secret", f"id=pipca,src={ca}"]
    docker(*args, str(context))
    return docker("image", "inspect", "--format", "{{.Id}}", tag).stdout.strip()


def push(tag: str) -> str:
    """Push `tag` and return its immutable reference, repo@sha256:..."""
    docker("push", tag)
    digests = json.loads(docker("image", "inspect", "--format", "{{json .RepoDigests}}", tag).stdout)
    repo = tag.rsplit(":", 1)[0] if ":" in tag.rsplit("/", 1)[-1] else tag
    for ref in digests:
        if ref.startswith(repo + "@"):
            return ref
    raise MlgateError(f"{tag}: pushed, but no digest found for {repo}")


def _git_sha(context: Path) -> str:
    result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=context, capture_output=True, text=True, check=False)
    return result.stdout.strip() or "unknown"


def repository() -> str:
    """Where images go: MLGATE_IMAGE_REPOSITORY, else GHCR for this GitHub repository (lower-cased)."""
    explicit = os.environ.get("MLGATE_IMAGE_REPOSITORY", "").strip()
    if explicit:
        return explicit
    github = os.environ.get("GITHUB_REPOSITORY", "").strip()
    if not github:
        raise MlgateError("no image repository: set MLGATE_IMAGE_REPOSITORY (e.g. 127.0.0.1:5000/mlgate)")
    return f"ghcr.io/{github.lower()}"


def login(repo: str) -> None:
    """docker login to the repository's registry when REGISTRY_TOKEN is set (GHCR in Actions)."""
    token = os.environ.get("REGISTRY_TOKEN")
    if not token:
        return
    registry = repo.split("/", 1)[0]
    user = os.environ.get("REGISTRY_USER", "token")
    env = {**os.environ}
    result = subprocess.run(
        [docker_bin(), "login", registry, "-u", user, "--password-stdin"],
        input=token,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise MlgateError(f"docker login {registry} failed: {result.stderr.strip()[-200:]}")


def save(tag: str, output: Path) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    docker("save", "-o", str(output), tag)
    return output


def publish(archive: Path, sha: str | None = None) -> str:
    """Load a saved image, tag it <repository>:<git sha>, push it; returns repo@sha256:..."""
    if not archive.is_file():
        raise MlgateError(f"{archive}: no saved image (the build workflow uploads it)")
    loaded = docker("load", "-i", str(archive)).stdout.strip().splitlines()[-1]
    source = loaded.split(":", 1)[1].strip()  # "Loaded image: name:tag"
    repo, sha = repository(), sha or os.environ.get("GITHUB_SHA") or _git_sha(Path("."))
    tag = f"{repo}:{sha}"
    docker("tag", source, tag)
    login(repo)
    return push(tag)


def resolve(sha: str | None = None) -> str:
    """The digest reference of the image built for a commit (tag <repository>:<sha>)."""
    repo, sha = repository(), sha or os.environ.get("GITHUB_SHA") or _git_sha(Path("."))
    tag = f"{repo}:{sha}"
    login(repo)
    docker("pull", tag)
    digests = json.loads(docker("image", "inspect", "--format", "{{json .RepoDigests}}", tag).stdout)
    found = [d for d in digests if d.startswith(repo + "@")]
    if not found:
        raise MlgateError(f"{tag}: no digest in the registry")
    return found[0]
