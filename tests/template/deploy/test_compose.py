"""The compose stack is valid compose-spec and wires MLflow to PostgreSQL with health-gated start-up."""

import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import ROOT

COMPOSE = ROOT / "deploy/compose.yaml"


def test_compose_matches_the_compose_spec():
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_stack_wiring():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert set(services) == {"postgres", "mlflow", "model", "prometheus", "grafana"}
    mlflow = services["mlflow"]
    assert mlflow["environment"]["MLFLOW_BACKEND_STORE_URI"] == "postgresql://mlflow@postgres:5432/mlflow"
    assert services["mlflow"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert all("healthcheck" in services[s] for s in ("postgres", "mlflow"))
    assert services["model"]["read_only"] is True
    assert all(p.startswith("127.0.0.1:") for s in services.values() for p in s.get("ports", []))
    assert (ROOT / services["mlflow"]["build"]["dockerfile"]).is_file()


def test_prometheus_scrapes_the_model_and_loads_the_rules():
    """The compose Prometheus mounts the tested config and rules; its config names the model service."""
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    mounts = {m.split(":")[0] for m in services["prometheus"]["volumes"] if m.startswith("./")}
    assert all((COMPOSE.parent / m).is_file() for m in mounts) and len(mounts) == 2
    config = yaml.safe_load((ROOT / "deploy/monitoring/prometheus.yml").read_text())
    assert config["scrape_configs"][0]["static_configs"][0]["targets"] == ["model:8080"]
    grafana = {m.split(":")[0] for m in services["grafana"]["volumes"]}
    assert all((COMPOSE.parent / m).exists() for m in grafana)


def test_database_password_is_required_and_never_on_a_command_line():
    """No default password, and none in a command (visible in `ps`) or in the tracking URI."""
    text = COMPOSE.read_text()
    services = yaml.safe_load(text)["services"]
    assert ":-mlflow}" not in text and "${MLFLOW_DB_PASSWORD:?" in text
    for service in services.values():
        command = service.get("command", "")
        assert "PASSWORD" not in " ".join(command) if isinstance(command, list) else "PASSWORD" not in command
    assert "${MLFLOW_DB_PASSWORD" not in services["mlflow"]["environment"]["MLFLOW_BACKEND_STORE_URI"]
