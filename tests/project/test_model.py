"""The model under test (docs/testing.md: MLGATE_MODEL_DIR, the repository's current outputs or a temp run on the
user's params and data) learns something and is reproducible."""

from __future__ import annotations

import numpy as np

from mlgate.features import feature_spec
from mlgate.pipeline.model import build_pipeline


def test_model_beats_the_trivial_baseline(project_params, project_metrics):
    """Better than the task's constant guess (the prevalence, the class shares, the train mean)."""
    lift, _, message = project_params.data.kind.baseline(project_metrics)
    assert lift > 0, message


def test_predictions_are_what_the_task_predicts(project_params, trained_model, test_split):
    """Probabilities that sum to one for a classifier, finite values for a regressor."""
    spec = feature_spec(test_split, project_params.data)
    prediction = project_params.data.kind.predict(trained_model, test_split[spec.columns])
    assert len(prediction) == len(test_split) and np.isfinite(prediction).all()
    if hasattr(trained_model, "predict_proba"):
        probabilities = trained_model.predict_proba(test_split[spec.columns])
        assert probabilities.shape == (len(test_split), len(trained_model.classes_))
        assert (probabilities >= 0).all() and (probabilities <= 1).all()
        assert np.allclose(probabilities.sum(axis=1), 1.0)


def test_training_is_deterministic_for_a_fixed_seed(project_params, trained_model, train_split, test_split):
    """Refit from the same params and data: the same predictions as the saved model."""
    task, data = project_params.data.kind, project_params.data
    spec = feature_spec(train_split, data)
    refit = build_pipeline(project_params.train, spec, task).fit(train_split[spec.columns], train_split[data.target])
    saved = task.predict(trained_model, test_split[spec.columns])
    assert np.allclose(task.predict(refit, test_split[spec.columns]), saved, rtol=0, atol=1e-12)
