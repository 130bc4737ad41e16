"""The user's data meets the user's contract: params.yaml loads, the data passes the schema and the data gate."""

from __future__ import annotations

from pathlib import Path

import yaml

from mlgate.gates.data import run_data_gate
from mlgate.gates.schema import check_schema
from tests.conftest import ROOT


def test_data_is_the_file_data_dvc_tracks(project):
    """`make data` brings back what data.dvc records, so data.path must lie in it."""
    tracked = Path(yaml.safe_load((ROOT / "data.dvc").read_text())["outs"][0]["path"])
    assert project.data.path == tracked or project.data.path.is_relative_to(tracked), (project.data.path, tracked)


def test_data_passes_the_schema(project, project_data):
    assert project.data.target in project_data.columns
    result = check_schema(project_data, project.schema_, blocking=True)
    assert result.passed, result.message


def test_data_passes_the_data_gate(project, project_data):
    """Every configured check on the user's data; drift against the base branch is the PR's gate's job."""
    report, _ = run_data_gate(project, raw=project_data, reference=project_data)
    assert report.passed, report.table()
    assert report.info["rows"] == len(project_data)


def test_params_load_and_name_the_target_in_the_contract(project):
    """The project's params.yaml is valid (loading it is the fixture) and its contract covers the target."""
    if project.schema_.columns:
        assert project.data.target in project.schema_.columns
    assert 0 < project.prepare.test_size < 1
