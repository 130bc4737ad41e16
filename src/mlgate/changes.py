"""Does a pull request change anything but documentation, and anything but the user's own project?

The PR workflow always runs (a workflow skipped by `paths-ignore` never reports its required
checks); this decides whether its heavy jobs have work to do, and which tests follow the change: a PR that
changes only the project's files (what `.gitattributes` marks `merge=ours`: params, data pointer, results, the
model code and its tests) runs lint and the machinery's smoke (its own tests run in the pipeline job, on the model
that job trains); one that touches the template's machinery runs its whole suite, and so does every PR in the
template's own repository (its project is the demo sample).
"""

from __future__ import annotations

import fnmatch
import subprocess
from pathlib import Path

import yaml

from mlgate.errors import MlgateError

DOCS = ("*.md", "docs/*", "LICENSE", ".github/pull_request_template.md")


def changed_files(base: str, head: str = "HEAD", cwd: Path = Path(".")) -> list[str]:
    """Files that differ between the merge base of `base` and `head`, and `head` (what the PR changes)."""
    result = subprocess.run(
        ["git", "diff", "--name-only", "--no-renames", f"{base}...{head}"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise MlgateError(f"--base {base}: cannot diff against it ({last}); check out with fetch-depth: 0")
    return [line for line in result.stdout.splitlines() if line]


def touches_code(files: list[str], docs: tuple[str, ...] = DOCS) -> bool:
    """True unless every file is documentation (an empty diff counts as code: run everything)."""
    if not files:
        return True
    return not all(any(fnmatch.fnmatchcase(f, pattern) for pattern in docs) for f in files)


def project_patterns(root: Path = Path(".")) -> tuple[str, ...]:
    """The project's own files: the `merge=ours` patterns of .gitattributes (`**` as fnmatch's `*`)."""
    attributes = root / ".gitattributes"
    lines = attributes.read_text().splitlines() if attributes.is_file() else []
    return tuple(
        parts[0].replace("**", "*") for line in lines if "merge=ours" in (parts := line.split())[1:] and parts[0]
    )


def is_template_repository(root: Path = Path(".")) -> bool:
    """The template's own repository: its project is the demo sample (`sample:` in params.yaml; `mlgate init`
    removes it). Unreadable params count as the template's: then everything runs."""
    try:
        params = yaml.safe_load((root / "params.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return True
    return not isinstance(params, dict) or "sample" in params


def tests_for(files: list[str], root: Path = Path(".")) -> str:
    """`smoke` when every changed file is documentation or the project's own (the tests job runs
    `make test-smoke`; the project's tests run in the pipeline job), else `unit` (the whole suite but what
    needs Docker, act or a browser: `make test-unit`)."""
    if not files or is_template_repository(root):
        return "unit"
    owned = DOCS + project_patterns(root)
    return "smoke" if all(any(fnmatch.fnmatchcase(f, p) for p in owned) for f in files) else "unit"
