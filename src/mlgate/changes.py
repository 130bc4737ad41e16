"""Does a pull request change anything but documentation?

The PR workflow always runs (a workflow skipped by `paths-ignore` never reports its required
checks); this decides whether its heavy jobs have work to do.
"""

from __future__ import annotations

import fnmatch
import subprocess
from pathlib import Path

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
