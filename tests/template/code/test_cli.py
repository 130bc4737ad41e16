"""The CLI as users meet it: help everywhere, one-line errors with a non-zero exit.

In-process (invoke_cli: the entry point and its error handling, no new interpreter per case), but for one case
that runs the installed console script: the one line is what a real process writes to its stderr."""

import pytest

from tests.conftest import edit_params, invoke_cli, run_cli

COMMANDS = [[], ["data"], ["data", "generate"], ["data", "pull"], ["prepare"], ["train"], ["evaluate"], ["summary"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "mlgate")
def test_help_on_every_command(command, tmp_path):
    result = invoke_cli(*command, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def _one_line_error(result, *fragments):
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_missing_data_file(workdir):
    """The console script in a process of its own: one line on its stderr, exit 2, no traceback."""
    (workdir / "data" / "transactions.csv").unlink()
    _one_line_error(run_cli("prepare", cwd=workdir), "data/transactions.csv", "not found")
    _one_line_error(invoke_cli("prepare", cwd=workdir), "data/transactions.csv", "not found")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\xff\xfe garbage", "data/transactions.csv"),
        (b"a,b\n1,2\n", "target column 'is_fraud' missing"),
    ],
    ids=["empty", "binary", "wrong-columns"],
)
def test_corrupt_data_file(workdir, content, expected):
    (workdir / "data" / "transactions.csv").write_bytes(content)
    _one_line_error(invoke_cli("prepare", cwd=workdir), "data/transactions.csv", expected)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [("train.estimator", "xgboost", "train.estimator"), ("prepare.test_size", -1, "prepare.test_size")],
)
def test_bad_params(workdir, key, value, expected):
    edit_params(workdir / "params.yaml", key, value)
    _one_line_error(invoke_cli("prepare", cwd=workdir), "params.yaml", expected)


def test_generate_options(workdir):
    result = invoke_cli("data", "generate", "--rows", "500", "--seed", "3", "--out", "x.csv", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert len((workdir / "x.csv").read_text().splitlines()) == 501
    _one_line_error(invoke_cli("data", "generate", "--rows", "-1", cwd=workdir), "--rows")
