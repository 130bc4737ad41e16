"""The serving image carries a CycloneDX SBOM of its Python environment at a fixed path, labelled with its
sha256, with the model still in the last layer (a model-only change rebuilds one layer)."""

from __future__ import annotations

import hashlib
import json

import pytest

from mlgate.deploy.image import SBOM_LABEL, build, docker, sbom
from tests.conftest import build_context

pytestmark = pytest.mark.container


@pytest.fixture(scope="module")
def image(engine, trained_dir, tmp_path_factory) -> str:
    context = build_context(tmp_path_factory.mktemp("context"), trained_dir / "outputs/model")
    tag = "mlgate-serve:sbom-test"
    build(tag, context=context, git_sha="0123abc")
    return tag


def test_the_sbom_inside_the_image_is_the_labelled_one_and_lists_the_serving_environment(image, tmp_path):
    path = sbom(image, tmp_path / "sbom.cdx.json")
    labels = json.loads(docker("image", "inspect", "--format", "{{json .Config.Labels}}", image).stdout)
    assert labels[SBOM_LABEL] == hashlib.sha256(path.read_bytes()).hexdigest()
    doc = json.loads(path.read_text())
    assert doc["bomFormat"] == "CycloneDX" and doc["specVersion"].startswith("1.")
    components = {c["name"].lower(): c["version"] for c in doc["components"]}
    assert components["scikit-learn"] == "1.7.2" and components["numpy"] == "1.26.4" and "mlgate" in components
    # serving only: not the training stack, and not the tool that wrote it
    assert not {"mlflow", "dvc", "deepchecks", "cyclonedx-bom", "cyclonedx-python-lib"} & components.keys()
    assert all(c["purl"].startswith("pkg:pypi/") for c in doc["components"] if c["name"] != "mlgate")  # ours: local


def test_a_tampered_sbom_label_is_caught(image, tmp_path):
    from mlgate.errors import MlgateError

    forged = "mlgate-serve:sbom-forged"
    tmp_path.joinpath("Dockerfile").write_text(f"FROM {image}\nLABEL {SBOM_LABEL}={'0' * 64}\n")
    docker("build", "-q", "-t", forged, str(tmp_path))
    try:
        with pytest.raises(MlgateError, match=r"/sbom.cdx.json is \w{12}, the label says 000000000000"):
            sbom(forged, tmp_path / "sbom.json")
    finally:
        docker("rmi", forged, check=False)


def test_the_model_is_still_the_last_layer(image):
    history = docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", image).stdout.splitlines()
    assert "COPY outputs/model /model" in history[0]
