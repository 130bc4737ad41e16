"""`mlgate changes` (docs-only PRs) and `mlgate comment-check` (an untrusted report fit to post)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlgate.changes import touches_code
from tests.conftest import ROOT

MLGATE = str(Path(sys.executable).parent / "mlgate")


def _git(repo: Path, *args: str) -> str:
    cmd = ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args]
    return subprocess.run(cmd, cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    _git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "src.py").write_text("x = 1\n")
    (tmp_path / "README.md").write_text("hi\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "base")
    return tmp_path


def _changes(repo: Path, base: str, out: Path) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(out)}
    return subprocess.run([MLGATE, "changes", "--base", base], cwd=repo, env=env, capture_output=True, text=True)


def _pr_outputs(repo: Path, files: dict[str, str], out: Path) -> str:
    """Commit `files` as a PR on top of HEAD; what `mlgate changes` writes to $GITHUB_OUTPUT for it."""
    base = _git(repo, "rev-parse", "HEAD")
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "pr")
    result = _changes(repo, base, out)
    assert result.returncode == 0, result.stderr
    return out.read_text()


@pytest.mark.parametrize(
    ("files", "code"),
    [
        ({"README.md": "more\n"}, "false"),
        ({"docs/guide/a.md": "x\n", "docs/img.png": "x"}, "false"),
        ({"README.md": "more\n", "src.py": "x = 2\n"}, "true"),
        ({"params.yaml": "a: 1\n"}, "true"),
        ({".github/workflows/pr.yml": "on: push\n"}, "true"),
    ],
)
def test_changes_writes_code_output(repo, tmp_path_factory, files, code):
    written = _pr_outputs(repo, files, tmp_path_factory.mktemp("out") / "github_output")
    assert written == f"code={code}\ntests=unit\n"  # no project files marked in .gitattributes here


ATTRIBUTES = (ROOT / ".gitattributes").read_text()  # the template's own: which files are the project's


@pytest.fixture
def adopted(repo):
    """A repository whose project is the user's (no demo `sample:` block), with the template's .gitattributes."""
    (repo / ".gitattributes").write_text(ATTRIBUTES)
    (repo / "params.yaml").write_text("data:\n  target: y\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "adopted")
    return repo


@pytest.mark.parametrize(
    ("files", "tests"),
    [
        ({"params.yaml": "data:\n  target: z\n"}, "smoke"),  # a hyper-parameter PR
        ({"data.dvc": "outs: []\n", "dvc.lock": "x\n", "metrics/metrics.json": "{}\n"}, "smoke"),  # new data
        ({"src/project/model.py": "x = 1\n", "tests/project/test_mine.py": "x = 1\n", "README.md": "x\n"}, "smoke"),
        ({"params.yaml": "a: 1\n", "src/mlgate/gates/checks.py": "x = 1\n"}, "unit"),  # the machinery: the suite
        ({"tests/template/code/test_x.py": "x = 1\n"}, "unit"),
        ({".github/workflows/pr.yml": "on: push\n"}, "unit"),
        ({"Makefile": "x:\n"}, "unit"),
        ({"params.yaml": "sample:\n  rows: 10\n"}, "unit"),  # the template's own repository: always the suite
    ],
)
def test_a_pr_that_changes_only_the_project_runs_the_projects_tests(adopted, tmp_path, files, tests):
    """Issue 26: a fork that changed one hyper-parameter waited ten minutes for the template's 557 tests of code
    it did not touch."""
    assert _pr_outputs(adopted, files, tmp_path / "github_output") == f"code=true\ntests={tests}\n"


def test_the_templates_own_project_files_are_the_ones_the_readme_calls_yours():
    from mlgate.changes import project_patterns

    owned = {"params.yaml", "data.dvc", "dvc.lock", "metrics/*", "plots/*", ".dvc/config"}
    assert set(project_patterns(ROOT)) == owned | {"src/project/*", "tests/project/*"}


def test_an_empty_diff_runs_everything():
    assert touches_code([]) is True


def test_an_unknown_base_fails_loudly_and_writes_nothing(repo, tmp_path):
    out = tmp_path / "github_output"
    result = _changes(repo, "0" * 40, out)
    assert result.returncode != 0
    assert result.stderr.startswith("error: --base 0000") and "fetch-depth: 0" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


@pytest.mark.parametrize(
    ("content", "posted"),
    [
        ("<!-- mlgate-report -->\nAll gates passed ✅\n", True),
        ("x" * 60_000, True),
        ("x" * 60_001, False),  # GitHub's limit is 65,536: an oversized report is not posted, not cut
        ("é" * 60_001, False),
        (b"\xff\xfe binary", False),
        (None, False),  # no report in the artifact
    ],
)
def test_comment_check_posts_only_reasonable_text(tmp_path, content, posted):
    report, out = tmp_path / "report.md", tmp_path / "github_output"
    if isinstance(content, bytes):
        report.write_bytes(content)
    elif content is not None:
        report.write_text(content, encoding="utf-8")
    result = _comment_check(report, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (out.read_text() if out.exists() else "") == ("postable=true\n" if posted else "")
    assert posted or "posting nothing" in result.stdout
    assert (tmp_path / "comment.md").is_file() == posted


def _comment_check(report, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(tmp_path / "github_output")}
    command = [MLGATE, "comment-check", "--report", str(report), "--out", str(tmp_path / "comment.md")]
    return subprocess.run(command, env=env, capture_output=True, text=True, cwd=tmp_path)


HOSTILE = """<!-- mlgate-report -->
## All gates passed ✅ @octocat @my-org/security-team see acme/infra#12 and #7
<img src=https://evil.example/x.png> ![pixel](https://evil.example/p.png) <a href="https://evil.example">login</a>
<details><summary>2 passing checks</summary>

```mermaid
%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "#0072B2, #E69F00"}}}}%%
```
~~~
@inside-a-tilde-fence
~~~
</details>
<script>alert(1)</script><!-- hidden -->
"""


def test_the_trusted_job_makes_a_fork_written_report_inert(tmp_path):
    """A fork's PR run writes the report with its own code (it can replace the escaping): the trusted job
    posts only a copy in which no one is mentioned or cross-referenced and no HTML but the report's folds acts."""
    report = tmp_path / "report.md"
    report.write_text(HOSTILE, encoding="utf-8")
    assert _comment_check(report, tmp_path).returncode == 0
    posted = (tmp_path / "comment.md").read_text(encoding="utf-8")
    assert not re.search(r"@\w", posted) and not re.search(r"#\d+\b", posted), posted
    assert not re.search(r"<(?!/?details>|/?summary>|!-- mlgate-report -->)[a-z!/]", posted, re.I), posted
    assert "![" not in posted
    assert "<details><summary>2 passing checks</summary>" in posted and "#0072B2, #E69F00" in posted
    assert posted.replace("\u200d", "") == HOSTILE, "only invisible joiners were added"


ENCODED = """<!-- mlgate-report -->
&#64;octocat &commat;my-org/team &#x40;admin fixes &#35;1 and acme/infra&num;12, GH-3, gh-4
https://github.com/acme/infra/issues/5 [six](https://github.com/acme/infra/pull/6)
https://ghe.example.com/acme/infra/discussions/7 &lt;img src=x&gt;
"""


def test_entities_gh_numbers_and_issue_urls_in_a_fork_written_report_are_inert_once_rendered(tmp_path):
    """GitHub links mentions and references in the rendered text: an entity decodes to @ or # first, and
    GH-N and issue or pull request URLs are references too (each one a cross-reference in that issue)."""
    from markdown_it import MarkdownIt

    report = tmp_path / "report.md"
    report.write_text(ENCODED, encoding="utf-8")
    assert _comment_check(report, tmp_path).returncode == 0
    posted = (tmp_path / "comment.md").read_text(encoding="utf-8")
    assert posted.replace("\u200d", "") == ENCODED, "only invisible joiners were added"
    rendered = MarkdownIt("commonmark").render(posted)
    for active in (r"@\w", r"#\d", r"(?i)\bGH-\d", r"/(issues|pull|discussions)/\d", r"<img"):
        assert not re.search(active, rendered), (active, rendered)


@pytest.mark.parametrize("golden", sorted((ROOT / "tests/template/code/golden").glob("*.md")), ids=lambda p: p.stem)
def test_mlgate_s_own_reports_are_posted_unchanged(tmp_path, golden):
    assert _comment_check(golden, tmp_path).returncode == 0
    assert (tmp_path / "comment.md").read_text(encoding="utf-8") == golden.read_text(encoding="utf-8")
