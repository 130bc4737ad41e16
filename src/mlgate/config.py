"""params.yaml, loaded once into typed, validated objects.

Every stage reads its knobs from here, so a typo or a bad value fails early with
the key named instead of deep inside a training run.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mlgate.errors import MlgateError
from mlgate.task import ALL_METRICS, LOWER_IS_BETTER, TASKS, Task

PARAMS_FILE = Path("params.yaml")

BUILTIN_ESTIMATORS = tuple(dict.fromkeys(name for task in TASKS.values() for name in task.estimators))
FACTORY_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")  # module:function, e.g. project.model:build


# The metrics evaluate writes and the gates and report may name, of every task (mlgate/task.py: every params.yaml
# load checks names against the project's task, and sklearn.metrics costs 0.7 s to import).
METRIC_NAMES = ALL_METRICS
__all__ = ["LOWER_IS_BETTER", "METRIC_NAMES"]


class _Strict(BaseModel):
    # allow_inf_nan: a `.nan` limit would pass every check (no comparison with NaN is true)
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)


class DataConfig(_Strict):
    """The project's dataset: the one file in data/, its target, the task and (binary) the positive label."""

    path: Path
    target: str
    task: Literal["binary", "multiclass", "regression"] = "binary"  # what the model predicts (mlgate/task.py)
    positive: str | int | float | bool = 1  # binary only: the target value that is the positive class
    id_column: str | None = None  # a row key: never a feature, echoed by the server
    # Columns kept in the data and its contract but never features: dates, free text, other labels, notes.
    not_features: list[str] = Field(default_factory=list)

    @property
    def non_features(self) -> tuple[str, ...]:
        """Every column the model never sees: the target, the id column and `not_features`."""
        return (self.target, *([self.id_column] if self.id_column else []), *self.not_features)

    def features_of(self, columns) -> list[str]:
        """The columns of a table the model sees, in their order."""
        return [c for c in columns if c not in self.non_features]

    def example_of(self, columns) -> list[str]:
        """What makes a row an example: its features and its label, not its id, dates or notes (duplicates and
        train/test overlap are judged on these)."""
        return [c for c in columns if c == self.target or c not in self.non_features]

    def read_dtypes(self) -> dict[str, type] | None:
        """Ids stay text (leading zeros, mixed formats)."""
        return {self.id_column: str} if self.id_column else None

    @property
    def kind(self) -> Task:
        """The task object every stage and gate asks (mlgate/task.py)."""
        return TASKS[self.task]

    @model_validator(mode="after")
    def _positive_is_binary(self) -> DataConfig:
        if "positive" in self.model_fields_set and self.task != "binary":
            raise ValueError(f"data.positive is for task binary only (this task is {self.task}): remove it")
        return self


class SampleConfig(_Strict):
    """The demo sample's generator settings (delete this block when the data is your own)."""

    rows: int = Field(50_000, gt=0)
    seed: int = Field(42, ge=0)


class ColumnRule(_Strict):
    type: Literal["int", "float", "string"]
    nullable: bool = False
    unique: bool = False
    min: float | None = None
    max: float | None = None
    allowed: list[str | int | float] | None = None


class SchemaConfig(_Strict):
    strict: bool = True
    columns: dict[str, ColumnRule] = Field(default_factory=dict)


class PrepareConfig(_Strict):
    test_size: float = Field(0.2, gt=0, lt=1)
    seed: int = Field(42, ge=0)
    output_dir: Path = Path("outputs/prepared")


class TrainConfig(_Strict):
    """A built-in estimator name, or `module:function`: your factory (see src/project/model.py)."""

    estimator: str = "hist_gradient_boosting"
    seed: int = Field(42, ge=0)
    hyperparams: dict[str, Any] = Field(default_factory=dict)
    model_dir: Path = Path("outputs/model")
    # Extra types a model may contain beyond sklearn/numpy/scipy classes (your own estimator classes, by
    # their full module.Class name); nothing else loads (mlgate/model_io.py).
    trusted_types: list[str] = Field(default_factory=list)

    @field_validator("estimator")
    @classmethod
    def _known_or_import_path(cls, value: str) -> str:
        if value not in BUILTIN_ESTIMATORS and not FACTORY_PATH.match(value):
            raise ValueError(f"expected one of {list(BUILTIN_ESTIMATORS)} or an import path module:function")
        return value

    @property
    def is_factory(self) -> bool:
        return ":" in self.estimator


class EvaluateConfig(_Strict):
    threshold: float = Field(0.5, gt=0, lt=1)
    metrics_file: Path = Path("metrics/metrics.json")
    plots_dir: Path = Path("plots")


class MlflowConfig(_Strict):
    tracking_uri: str = "sqlite:///mlflow.db"
    experiment: str = "mlgate"
    model_name: str = "mlgate"


class CheckConfig(BaseModel):
    """One gate check: its conditions (free keys, read by the check), whether it runs and whether it blocks."""

    model_config = ConfigDict(extra="allow", frozen=True)
    blocking: bool = True
    enabled: bool = True

    def condition(self, key: str) -> float:
        value = (self.model_extra or {}).get(key)
        if not _finite(value):
            raise MlgateError(f"params.yaml: check condition '{key}' must be a finite number, got {value!r}")
        return float(value)


def _finite(value: Any) -> bool:
    """A number a limit can be: not a bool, not NaN or infinite (a `.nan` limit passes every comparison)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# The template's default condition of every gate check. params.yaml `gates.<gate>.checks.<name>` holds only a
# project's overrides, merged per key over these (so `{blocking: false}` keeps the default condition).
DATA_CHECK_DEFAULTS: dict[str, dict[str, float]] = {
    "schema": {},  # the `schema:` contract
    "class_balance": {"min_minority_ratio": 0.005},  # labeled rows; the rarer class's share, either may be the majority
    "percent_of_nulls": {"max_ratio": 0.95, "max_increase": 0.05},  # per column; increase vs the reference data
    "data_duplicates": {"max_ratio": 0.05},
    "conflicting_labels": {"max_ratio": 0.02},  # same features, different label
    "mixed_data_types": {"max_ratio": 0.01},  # strings among numbers and vice versa
    "string_mismatch": {"max_variants": 0},  # "Online" vs "online "
    "feature_label_correlation": {"max_pps": 0.95},  # leakage: one feature alone predicts the label (sampled)
    "feature_drift": {"max_score": 0.2},  # train vs test split
    "label_drift": {"max_score": 0.1},
    "new_category": {"max_ratio": 0.01},
    "train_test_samples_mix": {"max_ratio": 0.05},
    "reference_feature_drift": {"max_score": 0.2},  # vs the reference data (data.dvc at the reference rev)
    "reference_label_drift": {"max_score": 0.1},
}
MODEL_CHECK_DEFAULTS: dict[str, dict[str, float]] = {  # each task runs those of Task.model_checks
    "calibration": {"min_brier_skill": 0.0},  # 1 - Brier / Brier of the constant prevalence guess
    "residual_bias": {"max_ratio": 0.1},  # regression: |mean residual| / std of the target, beyond the rows' noise
    "prediction_drift": {"max_score": 0.15},  # train vs test predictions
}


def merge_checks(overrides: Any, defaults: dict[str, dict[str, float]]) -> dict[str, CheckConfig]:
    """The checks a gate runs: the defaults, each overridden per key by params.yaml; unknown names or keys fail."""
    overrides = overrides or {}
    if not isinstance(overrides, dict):
        raise ValueError(f"expected a mapping of check names, got {overrides!r}")
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise ValueError(f"unknown check(s) {unknown}; expected some of {sorted(defaults)}")
    merged = {}
    for name, default in defaults.items():
        given = overrides.get(name) or {}
        if isinstance(given, CheckConfig):
            given = given.model_dump()
        if not isinstance(given, dict):
            raise ValueError(f"{name}: expected a mapping such as {default or {'blocking': True}}")
        allowed = set(default) | {"blocking", "enabled"}
        bad = sorted(set(given) - allowed)
        if bad:
            raise ValueError(f"{name}: unknown key(s) {bad}; expected some of {sorted(allowed)}")
        for key, value in given.items():
            if not (_finite(value) if key in default else isinstance(value, bool)):
                kind = "a finite number" if key in default else "true or false"
                raise ValueError(f"{name}.{key}: expected {kind}, got {value!r}")
        merged[name] = CheckConfig.model_validate({**default, **given})
    return merged


class DataGateConfig(_Strict):
    sample_rows: int = Field(10_000, gt=0)
    seed: int = Field(0, ge=0)  # every sampled check uses it: same inputs, same verdicts
    reference_rev: str = "HEAD"  # `previous` = the first parent of HEAD (what CI on main passes)
    checks: dict[str, CheckConfig] = Field(default_factory=dict, validate_default=True)

    @field_validator("checks", mode="before")
    @classmethod
    def _merge(cls, value: Any) -> dict[str, CheckConfig]:
        return merge_checks(value, DATA_CHECK_DEFAULTS)


class Margin(_Strict):
    margin: float = Field(ge=0, lt=1)  # how much worse than the champion a metric may be and still pass


class NonInferiorityConfig(_Strict):
    """This run's model against each champion (base branch, production) on the same test rows.

    Per metric, the paired bootstrap interval of the difference decides: its lower bound above -margin passes,
    its upper bound below -margin fails, anything else is "inconclusive: n too small" (blocking only when
    `inconclusive_blocks`). A fixed allowed drop cannot do this: two seeds of one model differ by more."""

    metrics: dict[str, Margin] | None = None  # None: the task's defaults (binary: pr_auc 0.02, roc_auc 0.01)
    confidence: float = Field(0.95, gt=0.5, lt=1)
    resamples: int = Field(1000, ge=100)
    seed: int = Field(0, ge=0)  # same rows, same seed: the same intervals, byte for byte
    inconclusive_blocks: bool = False

    def margins(self, task: Task) -> dict[str, float]:
        """The compared metrics and their margins: params.yaml's, else the task's defaults."""
        if self.metrics is None:
            return dict(task.compared)
        return {name: m.margin for name, m in self.metrics.items()}


class ExplainConfig(_Strict):
    """Permutation importance of this run's model and each champion on the same sampled test rows, repeated
    for an interval per feature. It informs the report and the card; it never blocks (docs/explanations.md)."""

    enabled: bool = True
    rows: int = Field(2000, gt=0)  # test rows sampled (seeded, by class): the cost is features x repeats x rows
    repeats: int = Field(5, ge=2, le=100)  # shuffles per feature: their spread is the interval
    seed: int = Field(0, ge=0)  # same rows and shuffles for every model: the comparison is paired
    confidence: float = Field(0.95, gt=0.5, lt=1)
    metric: str | None = None  # the score whose drop is a feature's importance; None: the task's headline metric
    top: int = Field(8, gt=0)  # features the report's chart shows


class _Behaviour(_Strict):
    name: str | None = None  # the check's name in the gate (default: <kind>_<column>)
    blocking: bool = True


class InvarianceCheck(_Behaviour):
    """Setting `column` to any of `values` (default: any value its contract allows) moves no prediction by
    more than `tolerance` (e.g. a protected attribute, an id-like code, a region)."""

    column: str
    values: list[str | int | float | None] | None = None
    tolerance: float = Field(0.01, ge=0)


class DirectionCheck(_Behaviour):
    """Raising the numeric `column` across its observed range never lowers (`increasing`) or never raises
    (`decreasing`) a row's prediction by more than `tolerance`, on more than `max_share` of the rows."""

    column: str
    direction: Literal["increasing", "decreasing"]
    tolerance: float = Field(0.0, ge=0)
    max_share: float = Field(0.0, ge=0, lt=1)


# Where golden cases live: the model_gate stage depends on this folder (dvc.yaml), so a new or edited case
# re-runs the gate without the project editing the template's dvc.yaml.
GOLDEN_DIR = Path("tests/project/golden")


class GoldenCheck(_Behaviour):
    """A CSV in the project (relative path) of feature rows with `expected` (a class) and/or `expected_min` /
    `expected_max` (a range of the prediction), checked exactly; `case` or the id column names a row."""

    file: Path

    @field_validator("file")
    @classmethod
    def _inside_project(cls, value: Path) -> Path:
        if value.is_absolute() or ".." in value.parts:
            raise ValueError(f"expected a path inside the project, relative to params.yaml, got '{value}'")
        if not value.is_relative_to(GOLDEN_DIR):
            raise ValueError(f"expected a file under {GOLDEN_DIR}/ (the model gate's dep), got '{value}'")
        return value


class BehaviourConfig(_Strict):
    """Behaviour the project declares of its model (none by default); each check blocks unless
    `blocking: false`, and is judged the same way for the champions."""

    rows: int = Field(1000, gt=0)  # test rows the invariance and direction checks perturb (seeded sample)
    seed: int = Field(0, ge=0)
    invariance: list[InvarianceCheck] = Field(default_factory=list)
    direction: list[DirectionCheck] = Field(default_factory=list)
    golden: list[GoldenCheck] = Field(default_factory=list)

    def checks(self) -> list[tuple[str, InvarianceCheck | DirectionCheck | GoldenCheck]]:
        """(name, check) of every declared check, in the order written."""
        named = [(c.name or f"invariance_{c.column}", c) for c in self.invariance]
        named += [(c.name or f"direction_{c.column}", c) for c in self.direction]
        return named + [(c.name or f"golden_{c.file.stem}", c) for c in self.golden]

    @model_validator(mode="after")
    def _unique_names(self) -> BehaviourConfig:
        names = [name for name, _ in self.checks()]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"check name(s) {twice} declared twice: give each a distinct `name`")
        return self


class ModelGateConfig(_Strict):
    thresholds: dict[str, float] = Field(default_factory=dict)
    baseline_margin: float = Field(0.1, ge=0, lt=1)  # the task's normalised lift over its trivial baseline
    max_overfit_gap: float = Field(0.15, ge=0)  # train - test of the task's headline metric
    non_inferiority: NonInferiorityConfig = NonInferiorityConfig()
    regression_metrics: list[str] | None = None  # what `monitor run` tracks; None: the task's (binary: pr_auc, roc_auc)
    sample_rows: int = Field(10_000, gt=0)  # rows of train and test the deepchecks model checks see
    checks: dict[str, CheckConfig] = Field(default_factory=dict, validate_default=True)
    explain: ExplainConfig = ExplainConfig()
    behaviour: BehaviourConfig = BehaviourConfig()

    @field_validator("checks", mode="before")
    @classmethod
    def _merge(cls, value: Any) -> dict[str, CheckConfig]:
        return merge_checks(value, MODEL_CHECK_DEFAULTS)

    def tracked(self, task: Task) -> list[str]:
        """The metrics `monitor run` recomputes from feedback."""
        return list(task.monitored) if self.regression_metrics is None else list(self.regression_metrics)


class GatesConfig(_Strict):
    data: DataGateConfig = DataGateConfig()
    model: ModelGateConfig = ModelGateConfig()


class CardConfig(_Strict):
    """What the model card says that no file can: its purpose, its known limits, the segments to report."""

    intended_use: str = (
        "Not stated yet: describe who uses the scores, for what decision (params.yaml card.intended_use)."
    )
    limitations: str = "Not stated yet: known gaps of the data and the model (params.yaml card.limitations)."
    segments: list[str] = Field(default_factory=list)  # categorical columns whose categories are scored apart


class MonitorConfig(_Strict):
    """Production monitoring: the prediction log the server writes and the checks `mlgate monitor run` applies."""

    log_uri: str = "monitoring"  # a local folder or any fsspec URI (s3://bucket/prefix: the DVC remote's credentials)
    storage_options: dict[str, Any] = Field(default_factory=dict)  # passed to fsspec (e.g. endpoint_url)
    sample_rate: float = Field(1.0, ge=0, le=1)  # share of scored rows logged
    batch_rows: int = Field(1000, gt=0)  # a batch file is written every batch_rows rows...
    flush_seconds: float = Field(10.0, gt=0)  # ...or every flush_seconds, whichever comes first
    queue_rows: int = Field(100_000, gt=0)  # bounded memory: rows beyond this are dropped and counted
    file_format: Literal["parquet", "jsonl"] = "parquet"
    window: str = "7d"  # how far back `mlgate monitor run` reads (30m, 24h, 7d)
    sample_rows: int = Field(10_000, gt=0)  # rows the drift checks see (seeded sample)
    seed: int = Field(0, ge=0)
    # Each limit is judged with the window's noise: drift must also be significant at 1 - confidence (a test at
    # the window's size, Bonferroni over the features), a performance drop must hold over its whole interval.
    confidence: float = Field(0.95, gt=0.5, lt=1)
    resamples: int = Field(1000, ge=100)  # bootstrap resamples of the performance intervals
    checks: dict[str, CheckConfig] = Field(
        default_factory=lambda: {
            "log_rows": CheckConfig(min_rows=500),
            "feature_drift": CheckConfig(max_score=0.2),
            "score_drift": CheckConfig(max_score=0.15),
            "performance": CheckConfig(max_drop=0.02, min_labels=1000),  # vs the evaluated metrics
            "estimated_performance": CheckConfig(max_drop=0.02),  # CBPE: expected from the scores
        }
    )


class Params(_Strict):
    data: DataConfig
    sample: SampleConfig | None = None
    card: CardConfig = CardConfig()
    schema_: SchemaConfig = Field(SchemaConfig(), alias="schema")
    prepare: PrepareConfig = PrepareConfig()
    train: TrainConfig = TrainConfig()
    evaluate: EvaluateConfig = EvaluateConfig()
    mlflow: MlflowConfig = MlflowConfig()
    gates: GatesConfig = GatesConfig()
    monitor: MonitorConfig = MonitorConfig()

    @model_validator(mode="after")
    def _not_features_are_columns(self) -> Params:
        data, columns = self.data, self.schema_.columns
        for name in data.not_features:
            if name in (data.target, data.id_column):
                raise ValueError(
                    f"data.not_features: '{name}' is the {'target' if name == data.target else 'id column'}"
                )
            if columns and name not in columns:
                raise ValueError(f"data.not_features: '{name}' is not a column of schema.columns")
        return self

    @model_validator(mode="after")
    def _behaviour_columns(self) -> Params:
        """A behaviour check names a feature of the contract; a direction check a numeric one."""
        columns = self.schema_.columns
        behaviour = self.gates.model.behaviour
        for kind in ("invariance", "direction"):
            for i, check in enumerate(getattr(behaviour, kind)):
                key = f"gates.model.behaviour.{kind}.{i}.column"
                if check.column in self.data.non_features:
                    raise ValueError(f"{key}: '{check.column}' is not a feature (target, id or data.not_features)")
                if columns and check.column not in columns:
                    raise ValueError(f"{key}: '{check.column}' is not a column of schema.columns")
                if kind == "direction" and columns and columns[check.column].type == "string":
                    raise ValueError(f"{key}: '{check.column}' is a string column: a direction needs a numeric one")
        return self

    @model_validator(mode="after")
    def _fits_the_task(self) -> Params:
        """Metric names and the built-in estimator are the task's (a regression has no pr_auc)."""
        task, model = self.data.kind, self.gates.model
        named = set(model.thresholds) | set(model.regression_metrics or ()) | set(model.non_inferiority.metrics or ())
        named |= {model.explain.metric} if model.explain.metric else set()
        unknown = sorted(named - set(task.metrics))
        if unknown:
            raise ValueError(
                f"gates.model: unknown metric(s) {unknown} for task {task.name}; expected some of {list(task.metrics)}"
            )
        if not self.train.is_factory and self.train.estimator not in task.estimators:
            raise ValueError(
                f"train.estimator: '{self.train.estimator}' is not for task {task.name}; "
                f"expected one of {list(task.estimators)} or module:function"
            )
        return self


def _describe(error: ValidationError, source: Path) -> str:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        return f"{source}: unknown key '{key}'"
    if first["type"] == "value_error":  # our validators' own messages name the key
        message = first["msg"].removeprefix("Value error, ")
        if key == "(top level)" or message.startswith(f"{key}:") or message.startswith(f"{key}."):
            return f"{source}: {message}"
        return f"{source}: {key}: {message}"
    got = first.get("input")
    return f"{source}: {key}: {first['msg']} (got {got!r})"


def load_params(path: Path | str = PARAMS_FILE) -> Params:
    """Read and validate params.yaml; raise MlgateError with the bad key on failure."""
    path = Path(path)
    if not path.is_file():
        raise MlgateError(f"{path}: file not found (expected the pipeline's params.yaml)")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise MlgateError(f"{path}: not valid YAML ({exc.__class__.__name__})") from exc
    if not isinstance(raw, dict):
        raise MlgateError(f"{path}: expected a mapping at the top level")
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        raise MlgateError(_describe(exc, path)) from exc


@lru_cache(maxsize=4)
def params(path: str = str(PARAMS_FILE)) -> Params:
    """The params of this run, loaded once per process."""
    return load_params(path)
