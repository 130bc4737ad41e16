"""Refuse to deploy to an environment that lacks the protection docs/github.md asks for.

GitHub creates an environment the first time a job names it, with no protection rule: a tag pushed before the
repository's setup would ship to production unreviewed. The deploy job checks, before anything moves, that the
environment has what deploy/environments.yaml `protection:` lists (required reviewers, a deployment branch or
tag rule). Where the plan offers no such rule (required reviewers on a private repository outside GitHub
Enterprise), the repository variable MLGATE_UNPROTECTED names the environments deployed to anyway, and every
such deploy says so in the run's annotations.
"""

from __future__ import annotations

import os

from mlgate.deploy.environments import Environment
from mlgate.errors import MlgateError
from mlgate.github import GitHub, GitHubError

DOC = "docs/github.md#environments"
SAYS = {
    "required_reviewers": "required reviewers",
    "wait_timer": "wait timer",
    "deployment_branch_policy": "deployment branch and tag rule (tags v*)",
}


def missing(settings: dict | None, wanted: tuple[str, ...]) -> list[str]:
    """What of `wanted` the environment's GitHub settings lack (all of it when the environment does not exist)."""
    if settings is None:
        return list(wanted)
    rules = {rule.get("type") for rule in settings.get("protection_rules") or []}
    have = {name for name in wanted if name in rules}
    if settings.get("deployment_branch_policy"):
        have.add("deployment_branch_policy")
    return [name for name in wanted if name not in have]


def check(env: Environment, github: GitHub | None = None, allowed: str | None = None) -> str:
    """One line saying the environment is protected as asked; MlgateError when it is not and nobody said it may
    be deployed to unprotected (MLGATE_UNPROTECTED=env[,env])."""
    if not env.protection:
        return f"{env.name}: no protection asked for (deploy/environments.yaml)"
    github = github or GitHub.from_env()
    if github is None:
        return f"{env.name}: not on GitHub, no environment protection to check"
    try:
        settings = github.environment(env.name)
    except GitHubError as exc:
        raise MlgateError(f"environment {env.name}: cannot read its protection rules ({exc})") from None
    lacking = missing(settings, env.protection)
    if not lacking:
        return f"{env.name}: protected by " + ", ".join(SAYS[name] for name in env.protection)
    what = " and ".join(SAYS[name] for name in lacking)
    unprotected = {
        e.strip() for e in (allowed if allowed is not None else os.environ.get("MLGATE_UNPROTECTED", "")).split(",")
    }
    if env.name in unprotected:
        return (
            f"::warning title=UNPROTECTED {env.name}::environment {env.name} has no {what}: this deploy goes out "
            f"unreviewed because MLGATE_UNPROTECTED names it ({DOC})"
        )
    raise MlgateError(
        f"environment {env.name} has no {what}: refusing to deploy (GitHub created it unprotected when a job first "
        f"named it). Add them in Settings > Environments > {env.name} ({DOC}), or set the repository variable "
        f"MLGATE_UNPROTECTED={env.name} to deploy there without them"
    )
