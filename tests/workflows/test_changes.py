"""`mlgate changes` (docs-only PRs) and outputs.emit (commands write their own $GITHUB_OUTPUT)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlgate.changes import touches_code
from mlgate.errors import MlgateError
from mlgate.outputs import emit

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
    base = _git(repo, "rev-parse", "HEAD")
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "pr")
    out = tmp_path_factory.mktemp("out") / "github_output"
    result = _changes(repo, base, out)
    assert result.returncode == 0, result.stderr
    assert out.read_text() == f"code={code}\n"


def test_an_empty_diff_runs_everything():
    assert touches_code([]) is True


def test_an_unknown_base_fails_loudly_and_writes_nothing(repo, tmp_path):
    out = tmp_path / "github_output"
    result = _changes(repo, "0" * 40, out)
    assert result.returncode != 0
    assert result.stderr.startswith("error: --base 0000") and "fetch-depth: 0" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def test_emit_appends_lines_to_github_output(tmp_path, monkeypatch, capsys):
    out = tmp_path / "o"
    out.write_text("earlier=1\n")
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    emit(model_version="g123", image="r@sha256:ab")
    assert out.read_text() == "earlier=1\nmodel-version=g123\nimage=r@sha256:ab\n"
    assert capsys.readouterr().out == "model-version=g123\nimage=r@sha256:ab\n"


def test_emit_refuses_a_multiline_value(tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "o"))
    with pytest.raises(MlgateError, match="one line"):
        emit(image="a\nimage=evil")
    assert not (tmp_path / "o").exists()
