# You edit this file: your model. The template never changes it after `mlgate init`.
"""Your model factory. Use it with, in params.yaml:

    train:
      estimator: project.model:build
      hyperparams: {C: 0.5}            # passed through config.hyperparams

mlgate calls build(config, spec) once per training run:
  config  mlgate.config.TrainConfig: .hyperparams (dict from params.yaml), .seed
  spec    mlgate.features.FeatureSpec: .numeric and .categorical column names
Return a scikit-learn classifier (mlgate puts its imputation, scaling and one-hot encoding in front)
or a full sklearn Pipeline (used as it is: it gets the raw feature columns). The saved model may only
contain sklearn, numpy and scipy types (the server refuses others; see docs/adopting.md "Your model").
"""

from __future__ import annotations

from sklearn.linear_model import LogisticRegression

from mlgate.config import TrainConfig
from mlgate.features import FeatureSpec


def build(config: TrainConfig, spec: FeatureSpec) -> LogisticRegression:
    """An example: a regularised logistic regression; replace it with your own."""
    return LogisticRegression(**{"max_iter": 1000, "random_state": config.seed, **config.hyperparams})
