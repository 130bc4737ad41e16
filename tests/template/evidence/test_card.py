"""The model card lists every fact with real values: purpose, data, metrics with intervals, segments with
the smallest named, gate verdicts, lineage; `mlgate card` writes it beside the model."""

from __future__ import annotations

import json
import shutil

import pytest

from mlgate.config import load_params
from mlgate.evidence.card import collect, render_markdown
from mlgate.fingerprint import model_sha256
from tests.conftest import edit_params, invoke_cli


@pytest.fixture
def project(trained_dir, tmp_path, monkeypatch):
    """The session's trained run, copied, with a card: section and gate reports."""
    for name in ("data", "outputs", "metrics", "plots"):
        shutil.copytree(trained_dir / name, tmp_path / name)
    shutil.copy(trained_dir / "params.yaml", tmp_path / "params.yaml")
    edit_params(
        tmp_path / "params.yaml",
        "card",
        {"intended_use": "Rank records for review.", "limitations": "Demo.", "segments": ["channel"]},
    )
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reports").mkdir()
    for gate in ("data", "model"):
        verdict = {"gate": gate, "passed": True, "info": {"rows": 50000}, "checks": [{"name": "x", "passed": True}]}
        (tmp_path / f"reports/{gate}_gate.json").write_text(json.dumps(verdict))
    return tmp_path


def test_card_facts_are_real(project):
    params = load_params(project / "params.yaml")
    card = collect(params, image="127.0.0.1:5000/m@sha256:" + "a" * 64)
    assert card["intended_use"] == "Rank records for review." and card["limitations"] == "Demo."
    assert card["model"]["sha256"] == model_sha256(params.train.model_dir)
    metrics = json.loads((project / "metrics/metrics.json").read_text())
    for name in ("pr_auc", "roc_auc", "recall"):
        interval = card["metrics"][name]
        assert interval["value"] == pytest.approx(metrics[name], abs=1e-6)
        assert interval["low"] < interval["value"] < interval["high"]
    channels = [s for s in card["segments"] if s["column"] == "channel"]
    assert {s["value"] for s in channels} == {"atm", "contactless", "online", "pos"}
    assert sum(s["rows"] for s in channels) == card["training_data"]["test_rows"]
    assert card["smallest_segment"]["rows"] == min(s["rows"] for s in channels)
    assert card["gates"]["model"]["passed"] is True
    assert card["lineage"]["image"].endswith("a" * 64) and card["lineage"]["mlflow_run_id"]
    markdown = render_markdown(card)
    for fragment in (
        "Intended use",
        "Rank records for review.",
        "bootstrap intervals",
        "Smallest segment",
        "data gate: passed",
        "model sha256",
    ):
        assert fragment in markdown


def test_cli_writes_the_card_beside_the_model(project):
    result = invoke_cli("card", "--image", "r@sha256:" + "b" * 64, cwd=project)
    assert result.returncode == 0, result.stderr
    card = json.loads((project / "outputs/model/card.json").read_text())
    assert card["lineage"]["image"] == "r@sha256:" + "b" * 64
    assert (project / "outputs/model/card.md").read_text().startswith("# Model card")
