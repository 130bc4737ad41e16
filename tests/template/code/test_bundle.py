"""One module owns the model bundle's file names (mlgate/bundle.py): the pipeline and the gates need nothing
from the server for them, and no other module spells one."""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from mlgate import bundle
from tests.conftest import ROOT

SRC = ROOT / "src/mlgate"
# Every file name of the bundle, and a gate verdict's (the same in reports/ and the bundle's gates/).
NAMES = {
    bundle.MLMODEL,
    bundle.SKOPS,
    bundle.INPUT_EXAMPLE,
    bundle.FEATURE_SCHEMA,
    bundle.SERVING,
    bundle.SMOKE,
    bundle.RUN,
    bundle.CARD_JSON,
    bundle.CARD_MD,
    *(bundle.verdict_file(g) for g in ("data", "model")),
}
VERDICT_SUFFIX = bundle.verdict_file("")


def _module(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _stage_modules() -> list[str]:
    return sorted(_module(p) for folder in ("pipeline", "gates") for p in (SRC / folder).rglob("*.py"))


def _imports(module: str) -> set[str]:
    """The mlgate modules `module` names in any import statement, in functions too (lazy imports count)."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, module
    package = module if spec.submodule_search_locations else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(Path(spec.origin).read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = importlib.util.resolve_name("." * node.level + base, package)
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names if _is_module(f"{base}.{a.name}")}  # from pkg import mod
    return {name for name in found if name.split(".")[0] == "mlgate"}


def _is_module(name: str) -> bool:
    if name.split(".")[0] != "mlgate":
        return False
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a name inside a module, not a module
        return False


def _reachable(start: str) -> dict[str, str]:
    """Every mlgate module `start` can import, eagerly or lazily, each with the module that imports it."""
    seen, todo = {start: ""}, [start]
    while todo:
        current = todo.pop()
        for name in _imports(current):
            parts = name.split(".")
            for end in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__
                prefix = ".".join(parts[:end])
                if prefix not in seen:
                    seen[prefix] = current
                    todo.append(prefix)
    return seen


def test_the_pipeline_and_the_gates_reach_no_serving_module_not_even_lazily():
    offenders = {
        module: f"{name} (imported by {by})"
        for module in _stage_modules()
        for name, by in _reachable(module).items()
        if name == "mlgate.serve" or name.startswith("mlgate.serve.")
    }
    assert not offenders, offenders


def test_a_fresh_interpreter_importing_the_pipeline_and_the_gates_loads_no_serving_module():
    probe = (
        "import importlib, json, sys\n"
        f"for name in {_stage_modules()!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(n for n in sys.modules if n.split('.')[:2] == ['mlgate', 'serve'])))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    assert json.loads(done.stdout) == []


def _spelled(tree: ast.AST) -> list[tuple[int, str]]:
    """Where a tree spells a bundle file name: as a whole string, as an f-string's `_gate.json`, or the
    verdicts folder as a path part (`x / "gates"`; "gates" is also a params.yaml section)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.value in NAMES:
            found.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            found += [
                (node.lineno, part.value)
                for part in node.values
                if isinstance(part, ast.Constant) and str(part.value).endswith(VERDICT_SUFFIX)
            ]
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            found += [
                (node.lineno, side.value)
                for side in (node.left, node.right)
                if isinstance(side, ast.Constant) and side.value == bundle.VERDICTS
            ]
    return found


def test_no_module_but_bundle_spells_a_bundle_file_name():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {name!r}"
        for path in sorted(SRC.rglob("*.py"))
        if path != SRC / "bundle.py"
        for line, name in _spelled(ast.parse(path.read_text()))
    ]
    assert not offenders, "import the name from mlgate.bundle:\n" + "\n".join(offenders)


def test_the_spelling_check_sees_each_way_a_name_was_spelled():
    """The check above can fail: each form the old code used is found."""
    old = 'a = d / "serving.json"\nb = d / "gates" / f"{g}_gate.json"\nc = {"x": "gates"}\nSKOPS_FILE = "model.skops"\n'
    assert sorted(_spelled(ast.parse(old))) == [
        (1, "serving.json"),
        (2, "_gate.json"),
        (2, "gates"),
        (4, "model.skops"),
    ]
