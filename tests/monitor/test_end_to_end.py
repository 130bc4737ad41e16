"""End to end on this machine: serve the trained model on 127.0.0.1 with its prediction log, replay generated
traffic, then `mlgate monitor run` (the installed CLI) passes on undrifted traffic, flags the drifted
features and the score shift, reports the real metric drop from feedback labels; a dead storage costs
logged rows, never a request."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mlgate.config import load_params
from mlgate.data.generate import generate
from mlgate.monitor.log import PredictionLog
from tests.conftest import run_cli
from tests.monitor.serving import records, replay, serving
from tests.monitor.test_log import dead_s3

# sample-only: the generator's `shift` moves these features (delete with the sample)
SHIFTED = {"amount", "hour", "distance_from_home_km", "tx_count_24h", "channel"}
ROWS, PER_REQUEST = 4000, 40


@pytest.fixture
def workspace(trained_dir: Path, tmp_path: Path) -> Path:
    """The trained project's outputs, a params.yaml whose log is in this test's folder."""
    for name in ("outputs", "metrics"):
        os.symlink(trained_dir / name, tmp_path / name)
    raw = yaml.safe_load((trained_dir / "params.yaml").read_text())
    raw["monitor"] = {"log_uri": str(tmp_path / "log"), "flush_seconds": 0.5}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    return tmp_path


def _traffic(workspace: Path, shift: float, seed: int) -> pd.DataFrame:
    """Serve with the log on, send ROWS generated rows with their ids; returns the rows sent (with labels)."""
    params = load_params(workspace / "params.yaml")
    frame = generate(ROWS, seed=seed, shift=shift)
    plog = PredictionLog(params.monitor)
    with serving(workspace / "outputs/model", plog) as url:
        results = replay(url, records(frame, [params.data.target]), PER_REQUEST)
    assert [s for s, _ in results if s != 200] == []
    assert plog.written == ROWS and plog.dropped_total == 0
    return frame


def _feedback(workspace: Path, frame: pd.DataFrame) -> None:
    params = load_params(workspace / "params.yaml")
    path = workspace / "labels.csv"
    frame[[params.data.id_column, params.data.target]].to_csv(path, index=False)
    done = run_cli("monitor", "feedback", str(path), cwd=workspace)
    assert done.returncode == 0, done.stderr
    assert f"stored {len(frame)} labels" in done.stdout


def _monitor(workspace: Path) -> tuple[int, dict, str]:
    done = run_cli("monitor", "run", "--window", "1h", cwd=workspace)
    report = json.loads((workspace / "reports/monitor.json").read_text())
    return done.returncode, {c["name"]: c for c in report["checks"]}, done.stdout + done.stderr


def test_undrifted_traffic_passes(workspace: Path):
    frame = _traffic(workspace, shift=0.0, seed=101)
    _feedback(workspace, frame)
    code, checks, output = _monitor(workspace)
    assert code == 0, output
    assert all(c["passed"] for c in checks.values()), output
    assert checks["log_rows"]["value"] == ROWS
    assert "on 4000 labeled rows" in checks["performance"]["message"]
    assert (workspace / "reports/monitor.html").stat().st_size > 100_000  # verdict table and deepchecks figures


def test_drifted_traffic_flags_features_and_score_shift_then_feedback_shows_the_real_drop(workspace: Path):
    frame = _traffic(workspace, shift=1.0, seed=102)
    code, checks, output = _monitor(workspace)
    assert code == 1, output
    assert "error: monitor gate failed" in output and "feature_drift" in output
    drifted = {part.split()[0] for part in checks["feature_drift"]["message"].removeprefix("drifted: ").split(", ")}
    assert drifted == SHIFTED
    assert not checks["score_drift"]["passed"] and checks["score_drift"]["value"] > 0.15
    assert "too few to measure" in checks["performance"]["message"]  # no labels yet

    _feedback(workspace, frame)
    code, checks, output = _monitor(workspace)
    assert code == 1
    performance = checks["performance"]
    assert not performance["passed"] and performance["value"] < -0.02, performance
    assert "roc_auc" in performance["message"]


@pytest.mark.parametrize("down", ["missing_mount", "closed_s3_endpoint"])
def test_storage_down_during_traffic_fails_no_request_and_counts_drops(workspace: Path, down: str):
    params = load_params(workspace / "params.yaml")
    if down == "missing_mount":
        (workspace / "mount").write_text("a file where the mount should be")
        config = params.monitor.model_copy(update={"log_uri": str(workspace / "mount/log"), "batch_rows": 200})
    else:
        config = params.monitor.model_copy(
            update={"log_uri": "s3://bucket/log", "storage_options": dead_s3(), "batch_rows": 200}
        )
    plog = PredictionLog(config)
    frame = generate(2000, seed=103)
    with serving(workspace / "outputs/model", plog) as url:
        results = replay(url, records(frame, [params.data.target]), PER_REQUEST)
    assert [s for s, _ in results if s != 200] == []  # zero failed requests
    assert plog.dropped["storage"] == 2000 and plog.written == 0
