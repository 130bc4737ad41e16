"""The raw-data contract (params.yaml `schema:`) checked with pandera, reported as one gate check."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from mlgate.config import SchemaConfig
from mlgate.gates.result import CheckResult

DTYPES = {"int": "int64", "float": "float64", "string": "object"}


def build_schema(config: SchemaConfig) -> pa.DataFrameSchema:
    columns = {}
    for name, rule in config.columns.items():
        checks = []
        if rule.min is not None:
            checks.append(pa.Check.ge(rule.min))
        if rule.max is not None:
            checks.append(pa.Check.le(rule.max))
        if rule.allowed is not None:
            checks.append(pa.Check.isin(rule.allowed))
        dtype = DTYPES[rule.type]
        if rule.type == "float":
            dtype = None  # ints are valid floats; the numeric check below covers it
            checks.append(pa.Check(lambda s: pd.api.types.is_numeric_dtype(s), element_wise=False, name="is_numeric"))
        columns[name] = pa.Column(dtype, checks=checks, nullable=rule.nullable, unique=rule.unique)
    return pa.DataFrameSchema(columns, strict=config.strict)


def check_schema(frame: pd.DataFrame, config: SchemaConfig, blocking: bool = True) -> CheckResult:
    """Validate every row; the message names the first failing columns and what they broke."""
    condition = f"{len(config.columns)} columns: types, ranges, categories"
    try:
        build_schema(config).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        problems = _describe(exc.failure_cases)
        more = f"; +{len(problems) - 3} more" if len(problems) > 3 else ""
        return CheckResult(
            "schema", False, float(len(exc.failure_cases)), condition, "; ".join(problems[:3]) + more, blocking
        )
    return CheckResult("schema", True, 0.0, condition, f"{len(frame)} rows match the contract", blocking)


def _describe(cases: pd.DataFrame) -> list[str]:
    """One phrase per (column, check): structural problems first, then value problems."""
    structural, values = [], []
    for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=False):
        example = group["failure_case"].iloc[0]
        if check == "column_in_dataframe":
            structural.append(f"missing column '{example}'")
        elif check == "column_in_schema":
            structural.append(f"unexpected column '{example}'")
        elif str(check).startswith("dtype"):
            structural.append(f"{column}: expected {check.removeprefix('dtype(').rstrip(')')}, got {example}")
        else:
            values.append(f"{column}: {check} failed for {len(group)} rows (e.g. {example!r})")
    return structural + values
