"""Workflow outputs: a command writes its own `name=value` lines to $GITHUB_OUTPUT.

Why not `echo "x=$(mlgate ...)" >> "$GITHUB_OUTPUT"`: the shell swallows the command's exit code and
an error message would become the value. Here a failed command writes nothing and exits non-zero.
"""

from __future__ import annotations

import os
from pathlib import Path

from mlgate.errors import MlgateError


def emit(**values: str) -> None:
    """Print name=value lines, and append them to $GITHUB_OUTPUT when it is set (in GitHub Actions)."""
    lines = []
    for name, value in values.items():
        key = name.replace("_", "-")
        if "\n" in value or "\r" in value:
            raise MlgateError(f"output {key}: a value must be one line, got {value[:40]!r}")
        lines.append(f"{key}={value}\n")
    print("".join(lines), end="")
    if target := os.environ.get("GITHUB_OUTPUT"):
        with Path(target).open("a", encoding="utf-8") as out:
            out.write("".join(lines))
