"""How `make test` spreads the suite over xdist workers (`--dist loadgroup`): the hooks, kept free of heavy
imports so a probe session can load them alone (tests/template/code/test_suite_groups.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Module fixtures that own a deployment world on the one Docker engine, each with its own container names and
# ports: each world's tests run in order in one worker, beside the other worlds. Longest first.
ENGINE_WORLDS = ("world", "side_world", "stack", "tracked_world")
SHARED = ("module", "class")  # fixture scopes whose tests stay in one worker


def pytest_itemcollected(item: pytest.Item) -> None:
    """tests/project is marked `project`. xdist groups (`--dist loadgroup`): one group per deployment world;
    every other test of the engine in one more group (fixed names: tests/template/serve); tests sharing a module-scoped
    fixture (a pipeline run, a server) stay in one worker so it is built once. Marked as each item is
    collected: xdist's worker turns the groups into node ids in its own collection_modifyitems."""
    if item.path.is_relative_to(ROOT / "tests/project"):
        item.add_marker(pytest.mark.project)
    if (rank := _engine_rank(item)) is not None:
        item.add_marker(pytest.mark.xdist_group("-".join(["docker", *ENGINE_WORLDS[rank : rank + 1]])))
    elif (shared := _module_fixtures(item)) is not None:
        item.add_marker(pytest.mark.xdist_group(item.module.__name__ + shared))


def _engine_rank(item: pytest.Item) -> int | None:
    """Where a test of the Docker engine starts: the worlds first, longest first; None for the others."""
    if not ({"container", "workflows"} & {m.name for m in item.iter_markers()} or "engine" in item.fixturenames):
        return None
    return next((i for i, f in enumerate(ENGINE_WORLDS) if f in item.fixturenames), len(ENGINE_WORLDS))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The worlds are scheduled first (`make test` passes --no-loadscope-reorder): they take longest."""
    items.sort(key=lambda item: rank if (rank := _engine_rank(item)) is not None else len(ENGINE_WORLDS) + 1)


def _module_fixtures(item: pytest.Item) -> str | None:
    """None when the test uses no module- or class-scoped fixture; else what tells its instances apart: the
    parameters of such fixtures by index ("-adopted1"; xdist reads a group name ending in "]" as no group), so
    each dataset's pipeline is a group of its own and the datasets run side by side, not one after the other."""
    definitions = getattr(item, "_fixtureinfo", None)
    if definitions is None:
        return None
    shared = [name for name, defs in definitions.name2fixturedefs.items() if defs and defs[-1].scope in SHARED]
    if not shared:
        return None
    indices = getattr(getattr(item, "callspec", None), "indices", {})
    return "".join(f"-{name}{indices[name]}" for name in shared if name in indices)
