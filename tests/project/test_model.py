"""A model trained on the user's data (tmp copy, the user's params) learns something and is reproducible."""

from __future__ import annotations

import json

import numpy as np

from mlgate.features import feature_spec
from mlgate.model_io import load_model
from mlgate.pipeline.model import build_pipeline


def test_model_beats_the_trivial_baseline(project, project_run):
    """Better than scoring every row with the prevalence: PR-AUC above it, ROC-AUC above chance."""
    metrics = json.loads((project_run / project.evaluate.metrics_file).read_text())
    assert metrics["pr_auc"] > metrics["prevalence"], metrics
    assert metrics["roc_auc"] > 0.5, metrics


def test_predictions_are_probabilities(project, model_dir, test_split):
    spec = feature_spec(test_split, project.data)
    scores = load_model(model_dir).predict_proba(test_split[spec.columns])
    assert scores.shape == (len(test_split), 2)
    assert np.isfinite(scores).all() and (scores >= 0).all() and (scores <= 1).all()
    assert np.allclose(scores.sum(axis=1), 1.0)


def test_training_is_deterministic_for_a_fixed_seed(project, model_dir, train_split, test_split):
    """Refit from the same params and data: the same scores as the saved model."""
    spec = feature_spec(train_split, project.data)
    refit = build_pipeline(project.train, spec).fit(train_split[spec.columns], train_split[project.data.target])
    saved = load_model(model_dir).predict_proba(test_split[spec.columns])[:, 1]
    assert np.allclose(refit.predict_proba(test_split[spec.columns])[:, 1], saved, rtol=0, atol=1e-12)
