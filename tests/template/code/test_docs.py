"""The README and docs/ say what is there: every link resolves (its anchor too), the layout page lists every
module of src/mlgate and every top-level entry, and names nothing that is gone; the README's two set-up
commands are the ones CI runs."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\((?!https?://|mailto:)([^)#\s]*)(?:#([^)\s]+))?\)")


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_link_resolves(page: Path):
    for target, anchor in LINK.findall(page.read_text()):
        path = (page.parent / target).resolve() if target else page
        assert path.exists(), f"{page.name}: link to {target}, which does not exist"
        if anchor:
            headings = {_anchor(h) for h in re.findall(r"(?m)^#+ (.+)$", path.read_text())}
            assert anchor in headings, f"{page.name}: link to {target}#{anchor}, no such heading"


def _layout_rows() -> dict[str, str]:
    rows = re.findall(r"(?m)^\| (`[^|]+) \| ([^|]+) \|", (ROOT / "docs/layout.md").read_text())
    return {path: what for paths, what in rows for path in re.findall(r"`([^`]+)`", paths)}


def test_the_layout_lists_every_module_and_nothing_that_is_gone():
    rows = _layout_rows()
    for path in rows:
        assert (ROOT / path).exists(), f"docs/layout.md: {path} does not exist"
    package = ROOT / "src/mlgate"
    modules = [c for c in package.iterdir() if c.suffix == ".py" and c.name != "__init__.py"]
    for child in sorted([*modules, *(p.parent for p in package.glob("*/__init__.py"))]):
        key = f"src/mlgate/{child.name}" + ("/" if child.is_dir() else "")
        assert key in rows, f"docs/layout.md: no row for {key}"
        if child.is_dir():
            listed = set(re.findall(r"`(\w+\.py)`", rows[key]))
            there = {p.name for p in child.glob("*.py") if p.name != "__init__.py"}
            assert listed == there, (
                f"docs/layout.md {key}: lists {sorted(listed - there)}, misses {sorted(there - listed)}"
            )


def test_the_layout_lists_every_top_level_entry():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    top = {line.split("/")[0] for line in tracked.splitlines()}
    listed = {path.rstrip("/").split("/")[0] for path in _layout_rows()}
    assert top <= listed, f"docs/layout.md: no row for {sorted(top - listed)}"


def test_the_readme_gives_the_two_commands_ci_runs():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Try it.*?```bash\n(.*?)```", readme, re.S)
    assert block, "README: no bash block under 'Try it'"
    assert [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()] == [
        "make run",
        "make test",
    ]
    ci = (ROOT / ".ci/run").read_text()
    assert re.search(r"(?m)^make test$", ci) and re.search(r"(?m)^make check-results$", ci)  # make run's pipeline
