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


EXIT_PROBE = """
import atexit, sys
from mlgate import cli

class Finalized:
    def __del__(self, _open=open):  # open is gone from builtins by then
        _open("finalized", "w").write("yes")

kept = Finalized()

def command():
    atexit.register(lambda: open("handler", "w").write("yes"))
    print("x" * int(sys.argv[2]))  # buffered: the pipe gets all of it
    if sys.argv[1] == "raise":
        raise RuntimeError("a bug")
    sys.exit(int(sys.argv[1]))

cli.main = command
cli.run()
"""


@pytest.mark.parametrize("code", ["0", "3"])
def test_the_process_keeps_its_exit_code_output_and_handlers_but_skips_the_teardown(tmp_path, code):
    """`mlgate` (cli.run) leaves without the interpreter freeing every module's objects (0.7-1.2 s after a gate's
    imports): the exit code, buffered output and exit handlers are kept; a finalizer Python never promised at
    exit does not run."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", EXIT_PROBE, code, "100000"],
        cwd=tmp_path,
        env=_buffered(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == int(code) and done.stdout == "x" * 100_000 + "\n", done.stderr
    assert (tmp_path / "handler").is_file() and not (tmp_path / "finalized").exists()


def _buffered() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


def test_output_that_cannot_be_written_is_a_failed_exit_as_python_makes_it(tmp_path):
    """A full disk under `mlgate ... > file`: the last flush fails, and the exit code says so (120, Python's own)."""
    import subprocess
    import sys

    with open("/dev/full", "w") as full:
        probe = [sys.executable, "-c", EXIT_PROBE, "0", "10"]  # less than a buffer: written at the last flush
        done = subprocess.run(probe, cwd=tmp_path, env=_buffered(), stdout=full, stderr=subprocess.DEVNULL)
    assert done.returncode == 120


def test_a_crash_still_tears_down_and_exits_non_zero(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", EXIT_PROBE, "raise", "1"], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 1 and "RuntimeError: a bug" in done.stderr
    assert (tmp_path / "handler").is_file() and (tmp_path / "finalized").is_file()


def test_the_installed_command_is_the_process_entry_point():
    from importlib.metadata import entry_points

    assert entry_points(group="console_scripts")["mlgate"].value == "mlgate.cli:run"
