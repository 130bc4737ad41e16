"""Building and pushing the serving image with the local Docker CLI.

The same commands run on a laptop, in this repo's tests and in GitHub Actions; which
docker binary and base image to use comes from the environment (MLGATE_DOCKER, BASE_IMAGE).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from mlgate.bundle import VERDICTS, is_model_dir, read_json, verdict_file
from mlgate.errors import MlgateError
from mlgate.fingerprint import model_sha256

DOCKERFILE = Path("deploy/Dockerfile")
SBOM_PATH = "/sbom.cdx.json"  # the CycloneDX SBOM of the image's Python environment (deploy/Dockerfile)
SBOM_LABEL = "io.mlgate.sbom.sha256"


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
    trusted_types: list[str] | None = None,
) -> str:
    """Build the serving image from `context` (needs outputs/model); returns the image id.

    Labels bind the image to its model: version, fingerprint, and the verdicts the model carries
    (outputs/model/gates/, written by `mlgate register`), re-checked here and again at every deploy."""
    model_dir = context / "outputs/model"
    if not is_model_dir(model_dir):
        raise MlgateError(f"{model_dir}: no model to package (run `make run` first)")
    fingerprint, gates = _binding(model_dir)
    build_args = {
        "BUILD_TIME": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "GIT_SHA": git_sha or _git_sha(context),
        "MODEL_VERSION": model_version,
        "MODEL_SHA256": fingerprint,
        "GATES": gates,
        "SOURCE": source(context),
        "TRUSTED_TYPES": ",".join(trusted_types or []),
    }
    common = ["build", "-q", "-f", str(context / DOCKERFILE)]
    if base_image or os.environ.get("BASE_IMAGE"):
        common += ["--build-arg", f"BASE_IMAGE={base_image or os.environ['BASE_IMAGE']}"]
    if ca := os.environ.get("MLGATE_PIP_CA"):  # a TLS-intercepting proxy between the build and PyPI
        common += ["--secret", f"id=pipca,src={ca}"]
    # The SBOM stage first (its layers are the image's own, cached): its sha256 becomes a label of the image.
    with tempfile.TemporaryDirectory(prefix="mlgate-sbom-") as tmp:
        docker(*common, "--target", "sbom-file", "--output", f"type=local,dest={tmp}", str(context))
        build_args["SBOM_SHA256"] = hashlib.sha256((Path(tmp) / SBOM_PATH.lstrip("/")).read_bytes()).hexdigest()
    args = [*common, "-t", tag]
    for key, value in build_args.items():
        args += ["--build-arg", f"{key}={value}"]
    docker(*args, str(context))
    return docker("image", "inspect", "--format", "{{.Id}}", tag).stdout.strip()


def copy_out(image: str, path: str, dest: Path) -> Path:
    """`path` of the image, copied out of a created (never started) container."""
    container = docker("create", image).stdout.strip()
    try:
        docker("cp", f"{container}:{path}", str(dest))
    finally:
        docker("rm", "-f", container, check=False)
    return dest


def sbom(image: str, dest: Path) -> Path:
    """The image's SBOM copied to `dest`, checked against the sha256 its label states."""
    found = json.loads(docker("image", "inspect", "--format", "{{json .Config.Labels}}", image).stdout) or {}
    if not found.get(SBOM_LABEL):
        raise MlgateError(f"{image}: no {SBOM_LABEL} label (built before SBOMs; rebuild it with `make image`)")
    copy_out(image, SBOM_PATH, dest)
    got = hashlib.sha256(dest.read_bytes()).hexdigest()
    if got != found[SBOM_LABEL]:
        raise MlgateError(f"{image}: {SBOM_PATH} is {got[:12]}, the label says {found[SBOM_LABEL][:12]}")
    return dest


def _binding(model_dir: Path) -> tuple[str, str]:
    """(fingerprint, gates label): "data=passed,model=passed" only when the bundled verdicts bind this model."""
    from mlgate.registry import GATES, check_binding

    fingerprint = model_sha256(model_dir)
    try:
        verdicts = {g: read_json(model_dir / VERDICTS, verdict_file(g)) for g in GATES}
        check_binding(model_dir, verdicts, "build")
    except (OSError, ValueError, MlgateError):
        return fingerprint, "unverified"
    return fingerprint, "data=passed,model=passed"


def source(context: Path = Path(".")) -> str:
    """The repository that builds the image: GITHUB_SERVER_URL/GITHUB_REPOSITORY, else the git remote."""
    server, repo = os.environ.get("GITHUB_SERVER_URL", "").rstrip("/"), os.environ.get("GITHUB_REPOSITORY", "")
    if server and repo:
        return f"{server}/{repo}"
    remote = subprocess.run(
        ["git", "remote", "get-url", "origin"], cwd=context, capture_output=True, text=True, check=False
    ).stdout.strip()
    if not remote:
        return "unknown"
    if remote.startswith("git@") and ":" in remote:  # git@host:owner/repo.git
        host, path = remote[4:].split(":", 1)
        remote = f"https://{host}/{path}"
    remote = re.sub(r"^(\w+://)[^/@]+@", r"\1", remote)  # never a token in a label
    return remote.removesuffix(".git")


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


_LOGGED_IN: set[str] = set()


def login(repo: str) -> None:
    """docker login to the repository's registry when REGISTRY_TOKEN is set (GHCR in Actions), once per process:
    every job that pulls or moves a tag needs it, not only the one that pushes."""
    token = os.environ.get("REGISTRY_TOKEN")
    registry = repo.split("/", 1)[0]
    if not token or registry in _LOGGED_IN:
        return
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
    _LOGGED_IN.add(registry)


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


def ensure_local(image: str) -> None:
    """Pull the image unless the engine has it (logging in to its registry first when a token is set)."""
    if docker("image", "inspect", image, check=False).returncode != 0:
        login(image.split("@", 1)[0])
        docker("pull", image)


def digest_of(image: str) -> str:
    """The sha256:... of repo@sha256:...: one image under any registry name."""
    return image.rpartition("@")[2]


def tag_digest(tag: str) -> str | None:
    """repo@sha256:... that `tag` names in the registry; None when the tag does not exist."""
    login(tag.rsplit(":", 1)[0])
    result = docker("pull", tag, check=False)
    if result.returncode == 0:
        found = re.search(r"Digest: (sha256:[0-9a-f]{64})", result.stdout)
        if found:
            return f"{tag.rsplit(':', 1)[0]}@{found[1]}"
        raise MlgateError(f"docker pull {tag}: no digest in its output")
    said = (result.stderr or result.stdout).strip()
    if "manifest unknown" in said or "not found" in said:
        return None
    raise MlgateError(f"registry: cannot read {tag}: {said.splitlines()[-1] if said else '(no output)'}")


def env_tag(image: str, env: str) -> str:
    return f"{image.split('@', 1)[0]}:{env}"


def move_env_tag(image: str, env: str) -> None:
    """Point REPO:ENV at exactly `image`'s digest (checked after the push)."""
    tag = env_tag(image, env)
    login(image.split("@", 1)[0])
    docker("tag", image, tag)
    pushed = docker("push", tag).stdout
    found = re.search(r"digest: (sha256:[0-9a-f]{64})", pushed)
    if not found or not image.endswith("@" + found[1]):
        raise MlgateError(f"push of {tag} did not keep the digest of {image}")
