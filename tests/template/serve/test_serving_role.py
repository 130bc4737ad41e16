"""The serving image installs only the project's base dependencies (deploy/Dockerfile: `uv sync`, no extras): every
library `mlgate serve` and its prediction log import must be in that set, as uv.lock resolves it, or the log is
silently off in the container (tests/template/serve/test_container.py checks the image itself)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from tests.conftest import ROOT

SRC = ROOT / "src"
SERVING = ("mlgate.serve.server", "mlgate.serve.app", "mlgate.monitor.log", "mlgate.monitor.storage")
# Imported by name nowhere: pandas loads it to write the log's Parquet batches (monitor.file_format).
IMPLICIT = {"pyarrow"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _module_file(name: str) -> Path | None:
    base = SRC / Path(*name.split("."))
    return next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def serving_imports() -> set[str]:
    """Third-party top-level modules reachable from the serving modules (lazy imports included)."""
    todo, seen, found = list(SERVING), set(), set()
    while todo:
        module = todo.pop()
        if module in seen or (path := _module_file(module)) is None:
            seen.add(module)
            continue
        seen.add(module)
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "mlgate":
                todo.append(name)
            elif top not in sys.stdlib_module_names:
                found.add(top)
    return found | IMPLICIT


def base_closure() -> set[str]:
    """Every package uv.lock installs for the project without extras (markers ignored: a superset)."""
    packages = {p["name"]: p for p in tomllib.loads((ROOT / "uv.lock").read_text())["package"]}
    todo, seen = [d["name"] for d in packages["mlgate"]["dependencies"]], set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += [d["name"] for d in packages[name].get("dependencies", [])]
    return {_norm(n) for n in seen}


def test_the_serving_role_installs_everything_serve_and_its_log_import():
    dists = packages_distributions()
    needed = {module: {_norm(d) for d in dists.get(module, [module])} for module in serving_imports()}
    assert {"fsspec", "pyarrow", "fastapi", "uvicorn"} <= set(needed)
    installed = base_closure()
    missing = sorted(module for module, names in needed.items() if not names & installed)
    assert not missing, f"imported by mlgate serve but not in the base dependencies (pyproject.toml): {missing}"
