"""The deployment environments (dev, staging, production) from deploy/environments.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from mlgate.config import _describe
from mlgate.errors import MlgateError

ENVIRONMENTS_FILE = Path("deploy/environments.yaml")


class Environment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    docker_port: int
    namespace: str
    # The docker target's container. Two projects deploying on one engine (a shared self-hosted runner)
    # need their own names and ports, or each would replace the other's service.
    container: str
    # What GitHub must enforce before a job deploys here (src/mlgate/deploy/protection.py, docs/github.md).
    protection: tuple[Literal["required_reviewers", "wait_timer", "deployment_branch_policy"], ...] = ()


class _File(BaseModel):
    """The file's shape, so a bad entry's error names its key: environments.<env>.<field>."""

    environments: dict[str, Environment]


def environment(name: str, path: Path = ENVIRONMENTS_FILE) -> Environment:
    if not path.is_file():
        raise MlgateError(f"{path}: not found (expected the environments of deploy/)")
    known = (yaml.safe_load(path.read_text()) or {}).get("environments", {})
    if name not in known:
        raise MlgateError(f"--env {name!r}: unknown environment; expected one of {sorted(known)} ({path})")
    entry = known[name]
    if isinstance(entry, dict):
        entry = {"name": name, "container": f"mlgate-{name}", **entry}
    try:
        return _File.model_validate({"environments": {name: entry}}).environments[name]
    except ValidationError as exc:  # one line naming the file and the key, as params.yaml's errors do
        raise MlgateError(_describe(exc, path)) from None
