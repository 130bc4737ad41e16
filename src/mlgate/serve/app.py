"""The model server (no `from __future__ import annotations`: FastAPI reads the dynamic body types).

Strict validation, micro-batched predictions, health, version and Prometheus metrics.

Bad input always gets a 4xx naming the field and what was expected; a missing or corrupt
model keeps /ready at 503 instead of crashing the process.
"""

import gc
import json
import logging
import os
import re
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlgate.bundle import CARD_JSON, CARD_MD, read_serving
from mlgate.data.schema import FeatureSchema
from mlgate.serve.batcher import Batcher, Busy
from mlgate.serve.loaded import LoadedModel, load
from mlgate.serve.requests import BY_COLUMN, id_field, predict_request_model, record_model

MAX_BODY_BYTES = int(os.environ.get("MLGATE_MAX_BODY_BYTES", 1_000_000))
MAX_BATCH = int(os.environ.get("MLGATE_MAX_BATCH", 1000))
MAX_QUEUE_ROWS = int(os.environ.get("MLGATE_MAX_QUEUE_ROWS", 4096))  # rows waiting for the model, then 503
RETRY_AFTER = "1"  # seconds, with a 503: the queue drains in milliseconds
NOT_JSON = "body is not valid JSON"
logger = logging.getLogger(__name__)
POST_PATHS = frozenset({"/predict", "/invocations"})  # the routes that read a body; any other POST gets 405
KNOWN_PATHS = POST_PATHS | {"/health", "/ready", "/version", "/card", "/metrics", "/docs", "/openapi.json"}
DESCRIPTION = (
    "Scores records with the trained model; inputs are checked against the training data's schema, exactly as "
    "this document states it. POST /invocations (the MLflow scoring protocol: dataframe_split, dataframe_records, "
    "inputs) takes the same records but is not described here: two of its formats tie values to columns by "
    "position, which JSON Schema cannot state."
)


class Prediction(BaseModel):
    score: float = Field(description="probability of the positive class")
    positive: bool = Field(description="score >= threshold")


class ClassPrediction(BaseModel):
    label: str | int | float | bool = Field(description="the most probable class")
    score: float = Field(description="its probability")
    probabilities: dict[str, float] = Field(description="each class's probability")


class ValuePrediction(BaseModel):
    value: float = Field(description="the predicted value")


ANSWERS: dict[str, type[BaseModel]] = {
    "binary": Prediction,
    "multiclass": ClassPrediction,
    "regression": ValuePrediction,
}


class PredictResponse(BaseModel):
    predictions: list[Prediction]
    threshold: float
    model_version: str
    request_id: str = Field(description="this request's id in the prediction log (the feedback key without an id)")


def _response_model(id_column: str | None, task: str = "binary") -> type[PredictResponse]:
    """PredictResponse with the task's prediction (ANSWERS), echoing the record's id column when the model has
    one."""
    answer = ANSWERS.get(task, Prediction)
    if not id_column and answer is Prediction:
        return PredictResponse
    if id_column:
        answer = create_model(answer.__name__, __base__=answer, __config__=BY_COLUMN, row_id=id_field(id_column))
    return create_model("PredictResponse", __base__=PredictResponse, predictions=(list[answer], ...))


def _task(model_dir: Path) -> str:
    """The bundle's task (serving.json; binary for bundles from before tasks, or when unreadable)."""
    try:
        return str(read_serving(model_dir).get("task", "binary"))
    except Exception:
        return "binary"


class Problem(BaseModel):
    """Every error body: one line saying what was wrong and what was expected."""

    detail: str


class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    status: Literal["ready"]


class Version(BaseModel):
    """What /version always says (a bundle may say more)."""

    model_config = ConfigDict(extra="allow")
    model_name: str | None
    model_version: str
    mlflow_run_id: str | None
    data_md5: str | None
    git_sha: str
    build_time: str
    threshold: float


def _text(media_type: str, about: str) -> dict[str, Any]:
    return {"description": about, "content": {media_type: {"schema": {"type": "string"}}}}


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _describe(errors: list[dict]) -> str:
    """'records.2.age: Input should be greater than or equal to 0 (got -5)'; at most three."""
    parts = []
    for err in errors[:3]:
        where = ".".join(str(p) for p in err["loc"] if p != "body") or "body"
        got = f" (got {err['input']!r})" if "input" in err and err["type"] != "missing" else ""
        parts.append(f"{where}: {err['msg']}{got}"[:300])
    more = f"; +{len(errors) - 3} more" if len(errors) > 3 else ""
    return "; ".join(parts) + more


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("mlgate_requests_total", "Requests", ["path", "status"], registry=self.registry)
        self.latency = Histogram(
            "mlgate_request_seconds",
            "Request latency",
            ["path"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.errors = Counter(
            "mlgate_errors_total", "Responses with status >= 400", ["path", "status"], registry=self.registry
        )
        self.scores = Histogram(
            "mlgate_score",
            "Predicted positive-class scores",
            registry=self.registry,
            buckets=(0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0),
        )

    def observe(self, path: str, status: int, seconds: float) -> None:
        """One request: counted, timed, and counted again as an error when status >= 400."""
        path = path if path in KNOWN_PATHS else "other"
        self.requests.labels(path, str(status)).inc()
        self.latency.labels(path).observe(seconds)
        if status >= 400:
            self.errors.labels(path, str(status)).inc()


def _schema_for_docs(model_dir: Path) -> FeatureSchema | None:
    try:
        return FeatureSchema.load(model_dir)
    except Exception:
        return None


def _id_column(model_dir: Path) -> str | None:
    """The bundle's id column (serving.json); none when unreadable (then /ready says why) or clashing with an
    answer field."""
    try:
        column = read_serving(model_dir).get("id_column")
    except Exception:
        return None
    return column if isinstance(column, str) and column and column not in Prediction.model_fields else None


def create_app(model_dir: Path | str | None = None, prediction_log: Any = None) -> FastAPI:
    """The ASGI app for one model directory (env MLGATE_MODEL_DIR by default).

    `prediction_log` (mlgate.monitor.log.PredictionLog, opened by `mlgate serve`) gets a sample of the
    scored records off the request path; its written/dropped counters join /metrics."""
    model_dir = Path(model_dir or os.environ.get("MLGATE_MODEL_DIR", "outputs/model"))
    state: dict[str, Any] = {"model": None, "error": "starting"}
    metrics = Metrics()
    if prediction_log is not None:
        prediction_log.register_metrics(metrics.registry)
    schema = _schema_for_docs(model_dir) or FeatureSchema(features=[])
    id_column = _id_column(model_dir)
    record = record_model(schema, id_column=id_column)
    lax_record = record_model(schema, strict=False, name="LaxRecord", id_column=id_column)
    predict_request = predict_request_model(record, MAX_BATCH)
    predict_response = _response_model(id_column, _task(model_dir))
    lax_rows = TypeAdapter(list[lax_record])  # type: ignore[valid-type]

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        try:
            loaded = load(model_dir)
            state["model"], state["error"] = loaded, None
            state["batcher"] = Batcher(loaded.scores, max_pending_rows=MAX_QUEUE_ROWS)
            state["batcher"].start()
        except Exception as exc:  # stay alive, never ready: the orchestrator sees a failed rollout
            state["error"] = _load_error(exc, model_dir)
            logger.error("model not loaded from %s: %r", model_dir, exc)  # the path for the operator, not the client
        # What is held now lives as long as the process: keep it out of full collections, which walked it for
        # ~100 ms each with the event loop stopped (the latency tail); the last collection at shutdown sees it.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
        if "batcher" in state:
            await state["batcher"].stop()
        if prediction_log is not None:
            prediction_log.close()

    app = FastAPI(
        title="mlgate model server",
        version="1",
        lifespan=lifespan,
        description=DESCRIPTION,
    )

    app.add_middleware(Guard, state=state, metrics=metrics)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e["type"] == "json_invalid" for e in errors):
            return _error(400, NOT_JSON)
        return _error(422, _describe(errors))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI's 400 for a body json.loads could not parse for other reasons (nested too deeply).
        detail = f"{NOT_JSON} (or nested too deeply)" if exc.status_code == 400 else exc.detail
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Busy)
    async def busy(request: Request, exc: Busy) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": RETRY_AFTER})

    def ready_model() -> LoadedModel | JSONResponse:
        if state["model"] is None:
            return _error(503, state["error"])
        return state["model"]

    async def score(records: list[dict]) -> list:
        """The task's prediction per record (a score, a probability row, a value); scores and top-class
        probabilities join the score histogram."""
        loaded = state["model"]
        values = await state["batcher"].score(records)
        if loaded.task.smoke_field == "score":
            for v in values:
                metrics.scores.observe(loaded.task.smoke_value(v))
        return list(values)

    async def score_and_log(loaded: LoadedModel, rows: list[dict]) -> tuple[list[float], list, str]:
        """Scores of the rows without their ids, the ids taken off (None where not sent), the request id; the
        rows go to the prediction log with their ids as text (non-blocking, never raises)."""
        ids = [row.pop(id_column, None) for row in rows] if id_column else []
        values = await score(rows)
        request_id = uuid.uuid4().hex
        if prediction_log is not None:
            logged = [{**row, id_column: _key(i)} for row, i in zip(rows, ids, strict=True)] if id_column else rows
            kept = [loaded.task.logged(v, loaded.classes, loaded.threshold) for v in values]
            scores, decisions, columns = ([k[i] for k in kept] for i in range(3))
            prediction_log.record(logged, scores, decisions, loaded.info["model_version"], request_id, columns)
        return values, ids, request_id

    responses: dict[int | str, dict[str, Any]] = {
        status: {"model": Problem} for status in (400, 411, 413, 415, 422, 503)
    }
    responses[503]["headers"] = {"Retry-After": {"schema": {"type": "string"}, "description": "when the queue is full"}}

    @app.post("/predict", response_model=predict_response, response_model_exclude_unset=True, responses=responses)
    async def predict(body: predict_request):  # type: ignore[valid-type]
        """Score 1..MAX_BATCH records; every field is checked against the feature schema. The model's id column,
        when a record carries it, is echoed in its prediction and logged, never scored."""
        loaded = ready_model()
        if isinstance(loaded, JSONResponse):
            return loaded
        values, ids, request_id = await score_and_log(loaded, [r.model_dump() for r in body.records])
        predictions = [loaded.answer(v) for v in values]
        for prediction, row_id in zip(predictions, ids, strict=False):
            if row_id is not None:  # echoed when sent (unset fields are left out of the answer)
                prediction[id_column] = row_id
        return {
            "predictions": predictions,
            "threshold": loaded.threshold,
            "model_version": loaded.info["model_version"],
            "request_id": request_id,
        }

    @app.post("/invocations", responses=responses, include_in_schema=False)
    async def invocations(request: Request):
        """MLflow scoring protocol: dataframe_split, dataframe_records or inputs; answers as MLflow's own server does
        for this model: predict_proba rows for a classifier, predicted values for a regressor (logged like
        /predict's)."""
        loaded = ready_model()
        if isinstance(loaded, JSONResponse):
            return loaded
        try:
            payload = json.loads(await request.body())
        except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            return _error(400, f"{NOT_JSON} (or nested too deeply)")
        records = _mlflow_records(payload)
        if isinstance(records, str):
            return _error(422, records)
        if not 1 <= len(records) <= MAX_BATCH:
            return _error(422, f"expected 1 to {MAX_BATCH} rows, got {len(records)}")
        try:
            clean = [r.model_dump() for r in lax_rows.validate_python(records)]
        except ValidationError as exc:
            return _error(422, _describe([{**e, "loc": ("rows", *e["loc"])} for e in exc.errors()]))
        values, _, _ = await score_and_log(loaded, clean)
        return {"predictions": [loaded.task.invocation(v) for v in values]}

    @app.get("/health", response_model=Health)
    async def health() -> dict:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/ready", response_model=Ready, responses={503: {"model": Problem}})
    async def ready():
        """Readiness: the model loaded and scored its own input example."""
        loaded = ready_model()
        return loaded if isinstance(loaded, JSONResponse) else {"status": "ready"}

    @app.get("/version", response_model=Version, responses={503: {"model": Problem}})
    async def version():
        """Model name and version, MLflow run id, git sha, data hash, build time."""
        loaded = ready_model()
        return loaded if isinstance(loaded, JSONResponse) else loaded.info

    card_answers: dict[int | str, dict[str, Any]] = {
        200: {
            "description": "The card: Markdown, or JSON with ?format=json",
            "content": {
                "text/markdown": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}},
            },
        },
        404: {"model": Problem},
        422: {"model": Problem},
    }

    @app.get("/card", response_class=Response, responses=card_answers)
    async def card(format: Literal["markdown", "json"] = "markdown"):
        """The model card baked into the image (`mlgate card`): Markdown, or its facts with ?format=json."""
        path = model_dir / (CARD_JSON if format == "json" else CARD_MD)
        if not path.is_file():
            return _error(404, "no model card in this model directory (run `mlgate card` before building the image)")
        if format == "json":
            return JSONResponse(json.loads(path.read_text()))
        return Response(path.read_text(), media_type="text/markdown; charset=utf-8")

    @app.get("/metrics", response_class=Response, responses={200: _text("text/plain", "Prometheus text format")})
    async def prometheus() -> Response:
        """Prometheus metrics: requests, latency histogram, errors, score histogram."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


def _key(row_id: str | int | None) -> str | None:
    """Row keys are logged as text: one column type across requests (a join key, not a number)."""
    return None if row_id is None else str(row_id)


def _load_error(exc: Exception, model_dir: Path) -> str:
    """Why the model is not loaded, for /ready: files named relative to the model directory, no path of the host."""
    message = f"{exc.__class__.__name__}: {exc}"
    for prefix in {str(model_dir.resolve()), str(model_dir)}:
        message = message.replace(prefix + "/", "").replace(prefix, "model directory")
    message = re.sub(r"(?:[A-Za-z]:)?(?:[\\/][^\s:'\"()\\/]+)+[\\/]([^\s:'\"()\\/]+)", r"\1", message)
    return f"model not loaded: {message}"[:500]


class Guard:
    """Refuses a POST the app must not read (no model, wrong type, no or too large length), and measures.

    A plain ASGI middleware (Starlette's BaseHTTPMiddleware costs a task and a stream per request).
    A refused body is read and dropped before the answer: a client still sending would otherwise be cut
    off by the close and never see its 413 (the server's body deadline bounds the reading)."""

    def __init__(self, app: ASGIApp, state: dict[str, Any], metrics: Metrics) -> None:
        self.app, self.state, self.metrics = app, state, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        headers = Headers(scope=scope)
        problem = None
        if scope["method"] == "POST" and scope["path"] in POST_PATHS:  # elsewhere the router answers 405
            problem = _error(503, self.state["error"]) if self.state["model"] is None else _check_post(headers)
        if problem is None:
            await self.app(scope, receive, send_and_note)
        else:
            if headers.get("expect", "").lower() != "100-continue":  # else the client waits, sends nothing
                await _drain(receive)
            await problem(scope, receive, send_and_note)
        self.metrics.observe(scope["path"], status, time.perf_counter() - start)


async def _drain(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return


def _check_post(headers: Headers) -> JSONResponse | None:
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return _error(415, f"content-type must be application/json, got {content_type or 'none'!r}")
    length = headers.get("content-length")
    if length is None:
        return _error(411, "content-length header required")
    if not length.isdigit() or int(length) > MAX_BODY_BYTES:
        return _error(413, f"body larger than {MAX_BODY_BYTES} bytes")
    return None


def _mlflow_records(payload: Any) -> list[dict] | str:
    """Rows from the three MLflow input formats, or a message saying what was expected."""
    if not isinstance(payload, dict):
        return "expected a JSON object with one of dataframe_split, dataframe_records, inputs"
    keys = [k for k in ("dataframe_split", "dataframe_records", "inputs", "instances") if k in payload]
    if len(keys) != 1:
        return "expected exactly one of dataframe_split, dataframe_records, inputs"
    data = payload[keys[0]]
    if keys[0] == "dataframe_split":
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("columns"), list)
            or not isinstance(data.get("data"), list)
        ):
            return "dataframe_split: expected {'columns': [...], 'data': [[...], ...]}"
        columns = data["columns"]
        rows = data["data"]
        if not all(isinstance(c, str) for c in columns) or len(set(columns)) != len(columns):
            return "dataframe_split.columns: expected unique column names (strings)"
        if not all(isinstance(r, list) and len(r) == len(columns) for r in rows):
            return f"dataframe_split.data: every row must be a list of {len(columns)} values"
        return [dict(zip(columns, r, strict=True)) for r in rows]
    if isinstance(data, dict):  # inputs as {column: [values]}
        lengths = {len(v) if isinstance(v, list) else -1 for v in data.values()}
        if len(lengths) != 1 or -1 in lengths:
            return f"{keys[0]}: columns must be lists of equal length"
        return [dict(zip(data, values, strict=True)) for values in zip(*data.values(), strict=True)]
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        return data
    return f"{keys[0]}: expected a list of records"
