"""The user's project as it is: its params.yaml and data (`make test` runs `make data` first).

Everything here must hold for any binary tabular dataset adopted with `mlgate init`, with no edit. The tests use
only the fixtures of mlgate's pytest plugin (`mlgate.testing`, docs/testing.md): `project_params`, `project_data`,
`project_model_dir`, `trained_model`, `train_split`, `test_split`, `project_metrics`. The model is the one
MLGATE_MODEL_DIR names, else the repository's outputs when current, else one pipeline run in a temp dir (the
session header's `mlgate model:` line says which); nothing under the repository is written.
"""
