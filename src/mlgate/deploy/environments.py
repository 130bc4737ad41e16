"""The deployment environments (dev, staging, production) from deploy/environments.yaml."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

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


def environment(name: str, path: Path = ENVIRONMENTS_FILE) -> Environment:
    if not path.is_file():
        raise MlgateError(f"{path}: not found (expected the environments of deploy/)")
    known = (yaml.safe_load(path.read_text()) or {}).get("environments", {})
    if name not in known:
        raise MlgateError(f"--env {name!r}: unknown environment; expected one of {sorted(known)} ({path})")
    return Environment(name=name, **{"container": f"mlgate-{name}", **known[name]})
