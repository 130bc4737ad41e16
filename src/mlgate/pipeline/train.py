"""Stage `train`: fit the Pipeline (`fit`, no files), save it in MLflow format and track the run (`run`)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from mlflow.models import infer_signature

from mlgate import tracking
from mlgate.bundle import RUN, SERVING, SKOPS, SMOKE, write_json
from mlgate.config import Params
from mlgate.data.schema import FeatureSchema
from mlgate.features import feature_spec
from mlgate.model_io import canonical_skops, trusted_types
from mlgate.pipeline.model import build_pipeline, fit_record
from mlgate.versioning import data_md5

# What a saved model needs to load and predict, pinned to what trained it. Stated, not inferred: MLflow's
# inference loads the model in a fresh Python process on every save and log (seconds each).
MODEL_REQUIREMENTS = ("scikit-learn", "skops", "numpy", "pandas", "scipy")


def model_requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in MODEL_REQUIREMENTS]


def fit(params: Params, frame: pd.DataFrame) -> Any:
    """The pure core: the task's sklearn Pipeline fitted on `frame` (features and target), no files, no MLflow."""
    spec = feature_spec(frame, params.data)
    return build_pipeline(params.train, spec, params.data.kind).fit(frame[spec.columns], frame[params.data.target])


def run(params: Params) -> None:
    import mlflow.sklearn

    train = pd.read_parquet(params.prepare.output_dir / "train.parquet")
    spec = feature_spec(train, params.data)
    X = train[spec.columns]
    task = params.data.kind
    model = fit(params, train)
    predicted = task.predict(model, X.head(5))

    example = X.head(5)
    # Integers are declared as doubles so a missing value at inference is not a schema error.
    as_float = example.astype({c: "float64" for c in spec.numeric})
    kwargs = {
        "signature": infer_signature(as_float, predicted),
        "input_example": as_float,
        "serialization_format": "skops",
        "skops_trusted_types": trusted_types(model, params.train.trusted_types),
        "pyfunc_predict_fn": task.pyfunc_predict_fn,  # what MLflow's own server answers with
        "pip_requirements": model_requirements(),
    }
    model_dir = params.train.model_dir
    if model_dir.exists():  # DVC removes outputs before a stage runs; by hand we replace it whole
        import shutil

        shutil.rmtree(model_dir)
    mlflow.sklearn.save_model(model, model_dir, **kwargs)
    canonical_skops(model_dir / SKOPS)  # same data, code and seed: same bytes, same fingerprint
    FeatureSchema.from_frame(X, spec, params.schema_).save(model_dir)
    serving = {
        "threshold": params.evaluate.threshold,
        "model_name": params.mlflow.model_name,
        "data_md5": data_md5(),
        "id_column": params.data.id_column,  # the server accepts, echoes and logs it; never a feature
        "task": task.name,  # what the server answers: a score, a class and its probabilities, or a value
        "fit": fit_record(params.train, train),  # the model gate's base with these settings is this model
    }
    if (classes := task.classes(model)) is not None:
        serving["classes"] = classes
    write_json(model_dir, SERVING, serving)
    # A known request and its answer: every deploy's smoke test checks the served numbers (`field` of each
    # prediction: the score, the top class's probability or the value) against it.
    smoke = {
        "records": json.loads(example.to_json(orient="records")),
        "scores": [task.smoke_value(v) for v in predicted],
        "field": task.smoke_field,
    }
    write_json(model_dir, SMOKE, smoke)

    mlflow = tracking.configure(params.mlflow)
    with mlflow.start_run(run_name="train") as active:
        mlflow.log_params(
            {
                "estimator": params.train.estimator,
                **params.train.hyperparams,
                "test_size": params.prepare.test_size,
                "rows_train": len(train),
            }
        )
        mlflow.sklearn.log_model(model, name="model", **kwargs)
        write_json(model_dir, RUN, {"run_id": active.info.run_id})
    print(f"train: {params.train.estimator} on {len(train)} rows -> {model_dir} (mlflow run {active.info.run_id})")
