"""`mlgate init`: turn the template (with its demo sample) into the user's project, in place.

Everything is decided and checked before anything is written, so a bad file or a bad option
leaves the project as it was. params.yaml is edited, not regenerated: its comments and any
settings the user already made stay.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml as yaml_1_1
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from mlgate.adopt.infer import (
    OVERRIDE,
    check_classes,
    choose_positive,
    defaults,
    infer_schema,
    infer_task,
    integrity_limits,
    not_features,
    read_table,
)
from mlgate.config import DataConfig, load_params
from mlgate.data.io import read_raw
from mlgate.errors import MlgateError

PARAMS = Path("params.yaml")
DATA_DIR = Path("data")
DVC_FILE = Path("data.dvc")
LOCK_FILE = Path("dvc.lock")
BUILTIN_DEFAULT = "hist_gradient_boosting"
MIN_LABELED_ROWS = 50  # 20 % of them for the test split: the drift checks refuse fewer than 10 rows
_YAML_1_1 = yaml_1_1.resolver.Resolver()  # how params.yaml's loader (PyYAML) types a plain scalar


@dataclass(frozen=True)
class Adopted:
    data_path: Path
    rows: int
    labeled: int
    prevalence: float
    positive: Any
    features: int
    name: str
    removed: list[str]
    not_features: dict[str, str]  # column -> why init left it out of the features
    min_minority_ratio: float | None = None  # written when the data's rarer class is below the gate's default
    task: str = "binary"
    task_reason: str = ""
    classes: int = 2
    limits: dict[str, tuple[str, float, float]] | None = None  # check -> (key, measured share, limit written)


def project_name(name: str | None, root: Path) -> str:
    """--name, or the project folder's name, as a lowercase slug (MLflow experiment and model name)."""
    slug = re.sub(r"[^a-z0-9]+", "-", (name or root.resolve().name).lower()).strip("-")
    if not slug:
        raise MlgateError(f"--name {name!r}: needs at least one letter or digit")
    return slug


def _float(representer, value: float):
    """1e-05 as 1.0e-05: PyYAML, which loads params.yaml, reads a float only with a dot in it."""
    text = repr(value)
    mantissa, _, exponent = text.partition("e")
    if exponent and "." not in mantissa:
        text = f"{mantissa}.0e{exponent}"
    return representer.represent_scalar("tag:yaml.org,2002:float", text)


def _str(representer, value: str):
    """'Yes', 'NO', 'on', '~', '0x1F' quoted: PyYAML, which loads params.yaml, reads them plain as booleans, null
    or numbers (YAML 1.1), so a Yes/No label would become True/False and no row would match it."""
    if _YAML_1_1.resolve(yaml_1_1.ScalarNode, value, (True, False)) != "tag:yaml.org,2002:str":
        return representer.represent_scalar("tag:yaml.org,2002:str", value, style="'")
    return representer.represent_str(value)


def _yaml() -> YAML:
    yaml = YAML()
    yaml.representer.add_representer(float, _float)
    yaml.representer.add_representer(str, _str)
    yaml.preserve_quotes = True
    yaml.width = 120
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _flow(rule: dict) -> CommentedMap:
    node = CommentedMap(rule)
    node.fa.set_flow_style()
    return node


def _section(raw: CommentedMap, *keys: str) -> CommentedMap:
    node = raw
    for key in keys:
        if not isinstance(node.get(key), dict):
            node[key] = CommentedMap()
        node = node[key]
    return node


def _stage_csv(frame, target: str, id_column: str | None, source: Path, workdir: Path) -> tuple[Path, Any]:
    """Write the CSV the pipeline will read and read it back as the pipeline does (types as the gate sees them)."""
    staged = workdir / f"{source.stem}.csv"
    frame.to_csv(staged, index=False, lineterminator="\n")
    return staged, read_raw(DataConfig(path=staged, target=target, id_column=id_column))


def adopt(
    data_file: Path,
    target: str,
    positive: str | None = None,
    id_column: str | None = None,
    name: str | None = None,
    force: bool = False,
    root: Path = Path("."),
    task: str | None = None,
) -> Adopted:
    """Adopt `data_file` as the project's dataset; see the module docstring. Raises MlgateError on bad input."""
    params_path = root / PARAMS
    if not params_path.is_file() or not (root / "dvc.yaml").is_file():
        raise MlgateError(f"{root.resolve()}: no params.yaml and dvc.yaml here (run mlgate init in the project root)")
    yaml = _yaml()
    raw = yaml.load(params_path.read_text())
    if "sample" not in raw and not force:
        raise MlgateError(
            f"{params_path}: this project already has its own data (no `sample:` block); "
            "pass --force to replace data/ and the inferred settings"
        )
    slug = project_name(name, root)
    original = read_table(data_file)
    if id_column is not None:
        if id_column not in original.columns:
            raise MlgateError(f"{data_file}: --id column '{id_column}' not found")
        if id_column == target:
            raise MlgateError(f"--id '{id_column}' is the target; a row key must be another column")
        duplicates = int(original[id_column].duplicated().sum())
        if duplicates:
            raise MlgateError(
                f"{data_file}: --id column '{id_column}' has {duplicates} duplicate values (a key is unique)"
            )
    task, reason = infer_task(original, target, task, data_file)  # the label checks, on the user's own file
    if task == "binary":
        choose_positive(original, target, positive, data_file)
    elif positive is not None:
        raise MlgateError(f"--positive is for a binary target; '{target}' is {task} ({reason})")
    labeled = int(original[target].notna().sum())
    if labeled < MIN_LABELED_ROWS:
        raise MlgateError(
            f"{data_file}: {labeled} labeled rows; the gates need at least {MIN_LABELED_ROWS} "
            "(a test split of 10 rows or more: the drift checks' minimum)"
        )
    if task != "regression":
        check_classes(original, target, data_file)

    with tempfile.TemporaryDirectory() as tmp:
        staged, frame = _stage_csv(original, target, id_column, data_file, Path(tmp))
        chosen = choose_positive(frame, target, positive, data_file) if task == "binary" else None
        labels = frame[target].dropna().unique().tolist()
        excluded = not_features(frame, target, id_column)
        data = DataConfig(
            path=DATA_DIR / staged.name,
            target=target,
            task=task,
            id_column=id_column,
            not_features=list(excluded),
            **({"positive": chosen} if task == "binary" else {}),
        )
        encoded = data.kind.encode(frame[target], data).dropna()
        # binary: the positive share; else the rarest class's share (regression: none)
        prevalence = float(encoded.mean()) if task == "binary" else 0.5
        if task == "multiclass":
            prevalence = float(encoded.value_counts(normalize=True).min())
        plain = [x.item() if hasattr(x, "item") else x for x in labels]
        schema = infer_schema(frame, target, id_column, None if task == "regression" else plain)
        settings = defaults(len(encoded), prevalence, task=task)
        limits = integrity_limits(frame, data)

        _write_params(raw, data, schema, settings, slug, len(labels), limits)
        written = Path(tmp) / PARAMS.name
        with written.open("w") as out:
            yaml.dump(raw, out)
        load_params(written)  # what init writes must load: never leave a params.yaml the pipeline rejects
        shutil.copyfile(written, params_path)

        data_dir = root / DATA_DIR
        if data_dir.exists():
            shutil.rmtree(data_dir)
        data_dir.mkdir()
        shutil.copy2(staged, data_dir / staged.name)

    removed = _remove_results(root, raw)
    _dvc(root, "add", str(DATA_DIR))
    _merge_driver(root)
    return Adopted(
        data_path=data.path,
        rows=len(frame),
        labeled=len(encoded),
        prevalence=prevalence,
        positive=chosen,
        features=len(frame.columns) - len(data.non_features),
        name=slug,
        removed=removed,
        not_features=excluded,
        min_minority_ratio=settings.min_minority_ratio,
        task=task,
        task_reason=reason,
        classes=len(labels),
        limits=limits,
    )


def _write_params(
    raw: CommentedMap, data: DataConfig, schema: dict, settings, slug: str, classes: int, limits: dict
) -> None:
    """Only the project's own settings: data, task, contract, names and the data-dependent defaults and limits."""
    section = _section(raw, "data")
    section["path"] = str(data.path)
    section["target"] = data.target
    _set_after(section, "target", "task", data.task)
    if data.kind.threshold_applies:
        _set_after(section, "task", "positive", data.positive)
    else:
        section.pop("positive", None)
    section["id_column"] = data.id_column
    section["not_features"] = CommentedSeq(data.not_features)
    section["not_features"].fa.set_flow_style()
    raw.pop("sample", None)
    contract = _section(raw, "schema")
    contract["strict"] = True
    contract["columns"] = CommentedMap((column, _flow(rule)) for column, rule in schema.items())
    train = _section(raw, "train")
    if train.get("estimator", BUILTIN_DEFAULT) == BUILTIN_DEFAULT:
        train["estimator"] = BUILTIN_DEFAULT
        train["hyperparams"] = CommentedMap(settings.hyperparams)
    if data.kind.threshold_applies:  # other tasks ignore it (dvc.yaml still lists the key)
        _section(raw, "evaluate")["threshold"] = settings.threshold
    names = _section(raw, "mlflow")
    names["experiment"] = slug
    names["model_name"] = slug
    # The sample's absolute floors were tuned on the sample; the project starts from a PR-AUC floor above what a
    # constant guess scores on its own prevalence, and adds its own floors here.
    model_gate = _section(raw, "gates", "model")
    floors = CommentedMap(settings.floors(data.task, classes))
    if settings.max_overfit_gap is not None:
        model_gate["max_overfit_gap"] = settings.max_overfit_gap
    if isinstance(model_gate.get("thresholds"), CommentedMap):
        model_gate["thresholds"].clear()
        model_gate["thresholds"].update(floors)
    else:
        model_gate["thresholds"] = floors
    if settings.min_minority_ratio is not None and data.task != "regression":
        _section(raw, "gates", "data", "checks", "class_balance")["min_minority_ratio"] = settings.min_minority_ratio
    for check, (key, _, limit) in limits.items():  # the adopted data is the reference: its own shares, with a margin
        _section(raw, "gates", "data", "checks", check)[key] = limit
    checks = _section(raw, "gates", "data")
    if isinstance(checks.get("checks"), dict) and checks["checks"]:
        checks["checks"].fa.set_block_style()


def _set_after(section: CommentedMap, after: str, key: str, value: Any) -> None:
    """Set `key`, placed after `after` when new (params.yaml reads in order: target, task, positive)."""
    if key in section:
        section[key] = value
    else:
        section.insert(list(section).index(after) + 1, key, value)


def _remove_results(root: Path, raw: CommentedMap) -> list[str]:
    """The sample's committed results, so the first run has no baseline from another dataset."""
    evaluate = raw.get("evaluate") or {}
    targets = [
        root / str(evaluate.get("metrics_file", "metrics/metrics.json")),
        root / str(evaluate.get("plots_dir", "plots")),
        root / LOCK_FILE,
    ]
    removed = []
    for path in targets:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.is_file():
            path.unlink()
        else:
            continue
        removed.append(str(path.relative_to(root)))
    return removed


def dvc_bin() -> str:
    """The dvc installed next to this Python: works when the venv is not on PATH."""
    beside = Path(sys.executable).parent / "dvc"
    return str(beside) if beside.is_file() else "dvc"


def _dvc(root: Path, *args: str) -> None:
    try:
        done = subprocess.run([dvc_bin(), *args], cwd=root, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise MlgateError("dvc: not installed (make install, or pip install dvc)") from exc
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()
        raise MlgateError(f"dvc {' '.join(args)} failed: {last[-1] if last else done.returncode}")


def _merge_driver(root: Path) -> bool:
    """`merge=ours` in .gitattributes needs this once per clone: the user's results win template merges."""
    done = subprocess.run(
        ["git", "config", "merge.ours.driver", "true"], cwd=root, capture_output=True, text=True, check=False
    )
    return done.returncode == 0


def next_steps(adopted: Adopted) -> str:
    share = f"{adopted.prevalence:.1%} of {adopted.labeled} labeled rows"
    label = {
        "binary": f"positive label {adopted.positive!r} ({share})",
        "multiclass": f"{adopted.classes} classes (the rarest {share})",
        "regression": f"{adopted.labeled} labeled rows",
    }[adopted.task]
    limits = [
        f"{check}: {measured:.2%} in this data, so gates.data.checks.{check}.{key} {limit} (its own share with a "
        "margin: the adopted data is the reference; edit it to tighten)"
        for check, (key, measured, limit) in (adopted.limits or {}).items()
    ]
    written = "evaluate.threshold, " if adopted.task == "binary" else ""
    return "\n".join(
        [
            f"task: {adopted.task} ({'inferred: ' if 'given' not in adopted.task_reason else ''}"
            f"{adopted.task_reason}; {OVERRIDE})",
            f"adopted {adopted.data_path}: {adopted.rows} rows, {adopted.features} features, {label}",
            f"wrote params.yaml (data, schema, train, {written}mlflow names '{adopted.name}', "
            "gates.model.thresholds) and data.dvc"
            + (f"; removed the sample's results: {', '.join(adopted.removed)}" if adopted.removed else ""),
            *(
                [
                    f"the rarer class is {min(adopted.prevalence, 1 - adopted.prevalence):.2%} of the labeled rows: "
                    f"gates.data.checks.class_balance.min_minority_ratio {adopted.min_minority_ratio} (half of it)"
                ]
                if adopted.min_minority_ratio is not None
                else []
            ),
            *limits,
            *(
                [
                    "not features (data.not_features; edit it to change): "
                    + ", ".join(f"{name} ({why})" for name, why in adopted.not_features.items())
                ]
                if adopted.not_features
                else []
            ),
            "",
            "next steps (docs/adopting.md):",
            "  1. git add -A && git commit -m 'Adopt my data'   # first: the gates compare with the data at HEAD",
            "  2. make run                                      # first run: no baseline yet; commit its results",
            "  3. dvc remote add -d storage s3://BUCKET/PATH      # or gs://, azure://; then: dvc push",
            "  4. GitHub: secrets DVC_REMOTE_ACCESS_KEY_ID, DVC_REMOTE_SECRET_ACCESS_KEY (and MLFLOW_TRACKING_URI)",
            "  template updates: git merge the template's main; your params.yaml, data.dvc, dvc.lock, metrics/ and",
            "  plots/ stay yours (.gitattributes merge=ours: set in this clone; in another clone run",
            "  `git config merge.ours.driver true`)",
        ]
    )
