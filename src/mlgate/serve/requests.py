"""Request models built from the feature schema: names, types, ranges and categories, nothing extra."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, create_model

from mlgate.data.schema import Feature, FeatureSchema


def _integral(value: Any) -> Any:
    """3.0 is the integer 3: JSON Schema's `integer` is any number without a fraction, and clients (pandas, MLflow)
    send integer columns as doubles; 3.5, "3" and true stay refused."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


Integer = Annotated[int, BeforeValidator(_integral)]


def _field(feature: Feature) -> tuple[Any, dict[str, Any]]:
    """The type of one feature's value and the Field arguments that bound it, stated in the JSON Schema exactly
    as they are enforced (the OpenAPI document is the contract a generated client follows)."""
    if feature.kind == "category":
        kind: Any = Literal[tuple(feature.categories or [])]  # type: ignore[misc]
        spec: dict[str, Any] = {"description": f"one of {feature.categories}"}
    elif feature.kind == "boolean":
        kind, spec = bool, {"description": "true or false"}
    elif feature.values is not None:
        integer = feature.kind == "integer"
        values = [int(v) if integer and v.is_integer() else v for v in feature.values]
        allowed = frozenset(values)

        def one_of(value: float) -> float:
            if value not in allowed:
                raise ValueError(f"expected one of {values}")
            return value

        enum = Field(json_schema_extra={"enum": values})  # on the value's own schema: a nullable one stays nullable
        kind = Annotated[Integer if integer else float, AfterValidator(one_of), enum]
        spec = {"description": f"{feature.kind}, one of {values}"}
    else:
        kind = Integer if feature.kind == "integer" else float
        spec = {
            "ge": feature.minimum,
            "le": feature.maximum,
            "description": f"{feature.kind} in [{feature.minimum}, {feature.maximum}]",
        }
    return (kind | None if feature.nullable else kind), spec


MAX_ID_LENGTH = 200
RowId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)] | Integer
# Columns are fields by alias: a column may be named `_id` or `model_config`, which pydantic refuses as names.
BY_COLUMN = ConfigDict(serialize_by_alias=True, validate_by_name=False, validate_by_alias=True)


def id_field(column: str) -> tuple[Any, Any]:
    """The row key: optional, a string or an integer, echoed as sent."""
    about = "the record's row key (echoed and logged, never a feature)"
    return RowId | None, Field(None, alias=column, description=about)


def record_model(
    schema: FeatureSchema, strict: bool = True, name: str = "Record", id_column: str | None = None
) -> type[BaseModel]:
    """One record: every feature required (nullable ones may be null), the model's id column and the data's
    other columns optional (the latter ignored), anything else rejected.

    Strict for /predict ("12" is not a number); lax for /invocations, whose MLflow signature
    declares integers as doubles (3.0 is a valid hour there)."""
    config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=strict, **BY_COLUMN)
    fields: dict[str, Any] = {}
    for i, feature in enumerate(schema.features):
        kind, spec = _field(feature)
        fields[f"feature_{i}"] = (kind, Field(alias=feature.name, **spec))
    if id_column and id_column not in schema.names:
        fields["row_id"] = id_field(id_column)
    about = "a column of the data that is not a feature (the label, data.not_features): accepted and ignored"
    for i, column in enumerate(c for c in schema.ignored if c != id_column and c not in schema.names):
        fields[f"ignored_{i}"] = (Any, Field(None, alias=column, exclude=True, description=about))
    return create_model(name, __config__=config, **fields)


def predict_request_model(record: type[BaseModel], max_batch: int) -> type[BaseModel]:
    return create_model(
        "PredictRequest",
        __config__=ConfigDict(extra="forbid"),
        records=(
            list[record],
            Field(
                min_length=1,
                max_length=max_batch,  # type: ignore[valid-type]
                description=f"1 to {max_batch} records",
            ),
        ),
    )
