from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mlgate.serve.app import create_app

INT_FEATURES = {"hour", "card_age_days", "tx_count_24h", "chip_used"}


@pytest.fixture(scope="session")
def model_dir(trained_dir: Path) -> Path:
    return trained_dir / "outputs/model"


@pytest.fixture(scope="session")
def records(model_dir: Path) -> list[dict]:
    """Valid JSON records: the model's own input example with integer features as integers."""
    example = json.loads((model_dir / "input_example.json").read_text())
    rows = [dict(zip(example["columns"], row, strict=True)) for row in example["data"]]
    return [{k: int(v) if k in INT_FEATURES else v for k, v in row.items()} for row in rows]


@pytest.fixture(scope="session")
def client(model_dir: Path):
    with TestClient(create_app(model_dir)) as c:
        yield c


@pytest.fixture
def broken_model_dir(model_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    (copy / "model.skops").write_bytes(b"corrupt")
    return copy
