"""The user's data meets the user's contract: params.yaml loads, the data passes the schema and the data gate."""

from __future__ import annotations

from pathlib import Path

import yaml

from mlgate.gates.data import run_data_gate
from mlgate.gates.schema import check_schema


def test_data_is_the_file_data_dvc_tracks(pytestconfig, project_params):
    """`make data` brings back what data.dvc records, so data.path must lie in it."""
    tracked = Path(yaml.safe_load((pytestconfig.rootpath / "data.dvc").read_text())["outs"][0]["path"])
    path = project_params.data.path
    assert path == tracked or path.is_relative_to(tracked), (path, tracked)


def test_data_passes_the_schema(project_params, project_data):
    assert project_params.data.target in project_data.columns
    result = check_schema(project_data, project_params.schema_, blocking=True)
    assert result.passed, result.message


def test_data_passes_the_data_gate(project_params, project_data):
    """Every configured check on the user's data; drift against the base branch is the PR's gate's job."""
    report, _ = run_data_gate(project_params, raw=project_data, reference=project_data)
    assert report.passed, report.table()
    assert report.info["rows"] == len(project_data)


def test_params_load_and_name_the_target_in_the_contract(project_params):
    """The project's params.yaml is valid (loading it is the fixture) and its contract covers the target."""
    if project_params.schema_.columns:
        assert project_params.data.target in project_params.schema_.columns
    assert 0 < project_params.prepare.test_size < 1
