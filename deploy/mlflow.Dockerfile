# MLflow tracking server for the compose stack, at the version the pipeline uses (constraints.txt).
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
COPY constraints.txt /tmp/constraints.txt
RUN --mount=type=secret,id=pipca \
    if [ -s /run/secrets/pipca ]; then export PIP_CERT=/run/secrets/pipca; fi; \
    python3 -m venv /opt/mlflow \
    && /opt/mlflow/bin/pip install --no-cache-dir -q -c /tmp/constraints.txt mlflow psycopg2-binary \
    && rm /tmp/constraints.txt
ENV PATH=/opt/mlflow/bin:$PATH
RUN useradd --system --uid 10002 mlflow 2>/dev/null || adduser --system --uid 10002 mlflow
USER 10002
EXPOSE 5000
