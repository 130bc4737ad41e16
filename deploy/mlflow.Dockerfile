# MLflow tracking server for the compose stack, at the version the pipeline uses (uv.lock).
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
ENV UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/opt/mlflow PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=secret,id=pipca \
    if [ -s /run/secrets/pipca ]; then export PIP_CERT=/run/secrets/pipca SSL_CERT_FILE=/run/secrets/pipca; fi; \
    python3 -m venv /opt/uv && /opt/uv/bin/pip install -q --no-cache-dir uv==0.12.4 \
    && /opt/uv/bin/uv sync --frozen --no-install-project --no-cache --extra tracking-server --python python3 \
    && rm -rf /opt/uv /src/*
ENV PATH=/opt/mlflow/bin:$PATH
RUN useradd --system --uid 10002 mlflow 2>/dev/null || adduser --system --uid 10002 mlflow
USER 10002
EXPOSE 5000
