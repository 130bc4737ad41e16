# You edit this package: your own model code. The template never changes it after `mlgate init`.
"""The project's own code (models, features), imported by params.yaml `train.estimator: project.model:build`."""
