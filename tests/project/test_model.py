"""A model trained on the user's data (tmp copy, the user's params) learns something and is reproducible."""

from __future__ import annotations

import json

import numpy as np

from mlgate.features import feature_spec
from mlgate.model_io import load_model
from mlgate.pipeline.model import build_pipeline


def test_model_beats_the_trivial_baseline(project, project_run):
    """Better than the task's constant guess (the prevalence, the class shares, the train mean)."""
    metrics = json.loads((project_run / project.evaluate.metrics_file).read_text())
    lift, _, message = project.data.kind.baseline(metrics)
    assert lift > 0, message


def test_predictions_are_what_the_task_predicts(project, model_dir, test_split):
    """Probabilities that sum to one for a classifier, finite values for a regressor."""
    spec = feature_spec(test_split, project.data)
    model = load_model(model_dir)
    prediction = project.data.kind.predict(model, test_split[spec.columns])
    assert len(prediction) == len(test_split) and np.isfinite(prediction).all()
    if hasattr(model, "predict_proba"):
        probabilities = model.predict_proba(test_split[spec.columns])
        assert probabilities.shape == (len(test_split), len(model.classes_))
        assert (probabilities >= 0).all() and (probabilities <= 1).all()
        assert np.allclose(probabilities.sum(axis=1), 1.0)


def test_training_is_deterministic_for_a_fixed_seed(project, model_dir, train_split, test_split):
    """Refit from the same params and data: the same predictions as the saved model."""
    task = project.data.kind
    spec = feature_spec(train_split, project.data)
    refit = build_pipeline(project.train, spec, task).fit(train_split[spec.columns], train_split[project.data.target])
    saved = task.predict(load_model(model_dir), test_split[spec.columns])
    assert np.allclose(task.predict(refit, test_split[spec.columns]), saved, rtol=0, atol=1e-12)
