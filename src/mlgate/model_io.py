"""Loading the model (skops, never pickle) with an allow-list that mlgate owns, not the model file.

A skops file names the types it needs; the MLmodel file next to it lists "trusted" types too, but both
are written by whoever made the file, so neither decides. A type loads when it is a class from the
libraries we ship (sklearn, numpy, scipy) or is named in params.yaml `train.trusted_types` (the repo
owner's own estimator classes); functions and everything else (os.system, builtins.exec, unknown
modules) are refused. Every model goes through `load_model`: the pipeline's, the server's, production's.
"""

from __future__ import annotations

import importlib
import json
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mlgate.bundle import SKOPS, is_model_dir
from mlgate.errors import MlgateError
from mlgate.skops_types import import_skops

sio = import_skops()  # skops' default allow-list without its scan of every scikit-learn module

LIBRARIES = ("sklearn", "numpy", "scipy")
# Never loadable, even when listed: they run code or touch the system with what the file says.
FORBIDDEN = ("builtins.", "posix.", "nt.", "os.", "subprocess.", "sys.", "importlib.", "pickle.", "shutil.", "io.")
TRUSTED_ENV = "MLGATE_TRUSTED_TYPES"  # the server's copy of train.trusted_types, baked in at image build


class UntrustedModel(MlgateError):
    """The model file needs a type outside the allow-list."""


def _library_class(name: str) -> bool:
    """True when `name` is a class defined in one of the shipped libraries (imported only from there)."""
    parts = name.split(".")
    # A dunder segment is never a class's path, and importing it may run a script (numpy.f2py.__main__).
    if parts[0] not in LIBRARIES or any(part.startswith("__") for part in parts):
        return False
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        except (Exception, SystemExit):  # a module that fails or exits on import names no class
            return False
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return isinstance(obj, type) and obj.__module__.split(".")[0] in LIBRARIES
    return False


def allowed(name: str, extra: Iterable[str] = ()) -> bool:
    if name.startswith(FORBIDDEN):
        return False
    return name in set(extra) or _library_class(name)


def configured_types() -> list[str]:
    """The repo's extra trusted types as the server sees them (comma-separated, from the image build)."""
    return [t.strip() for t in os.environ.get(TRUSTED_ENV, "").split(",") if t.strip()]


def check_types(types: Iterable[str], extra: Iterable[str] = (), where: str = "model") -> list[str]:
    """The types, if every one is allowed; else one line naming the refused ones."""
    types, extra = list(types), list(extra)
    refused = sorted(t for t in types if not allowed(t, extra))
    if refused:
        raise UntrustedModel(
            f"{where}: refusing to load types outside mlgate's allow-list: {', '.join(refused)} "
            "(classes from sklearn/numpy/scipy load; list your own classes in params.yaml train.trusted_types)"
        )
    return types


def trusted_types(model: Any, extra: Iterable[str] = ()) -> list[str]:
    """The non-default types in `model` (what MLflow asks for when saving); refused ones raise."""
    return check_types(sio.get_untrusted_types(data=sio.dumps(model)), extra, "trained model")


def load_model(model_dir: Path, extra: Iterable[str] | None = None) -> Any:
    """Load the sklearn model of an MLflow model dir with skops and mlgate's allow-list (pickle is off)."""
    model_dir = Path(model_dir)
    extra = configured_types() if extra is None else list(extra)
    if not is_model_dir(model_dir):
        raise MlgateError(f"{model_dir}: no MLmodel file (expected an MLflow model directory)")
    path = model_dir / SKOPS
    if not path.is_file():
        raise MlgateError(f"{path}: missing (mlgate loads skops models only; pickle is refused)")
    try:
        types = sio.get_untrusted_types(file=path)
    except Exception as exc:  # not a skops zip, broken schema
        raise MlgateError(f"{path}: not a readable skops file ({exc.__class__.__name__}: {exc})") from exc
    check_types(types, extra, str(path))
    try:
        return sio.load(path, trusted=types)
    except Exception as exc:  # any corruption inside an allowed file
        raise MlgateError(f"{model_dir}: model cannot be loaded ({exc.__class__.__name__}: {exc})") from exc


def canonical_skops(path: Path) -> None:
    """Rewrite a skops file so the same model gives the same bytes (and fingerprint) on every run.

    skops names objects and their .npy members by `id()` (a memory address) and stamps each zip member with the
    time; the ids are renumbered in order of appearance and the times fixed, which loads to the same model."""
    path = Path(path)
    with zipfile.ZipFile(path) as archive:
        schema = json.loads(archive.read("schema.json"))
        members = {info.filename: (archive.read(info), info.compress_type) for info in archive.infolist()}
    ids: dict[int, int] = {}

    def renumber(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                renumber(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key == "__id__" and isinstance(value, int):
                    node[key] = ids.setdefault(value, len(ids))
                elif key == "file" and isinstance(value, str) and value.removesuffix(".npy").isdigit():
                    node[key] = f"{ids.setdefault(int(value.removesuffix('.npy')), len(ids))}.npy"
                else:
                    renumber(value)

    renumber(schema)
    renamed = {"schema.json": (json.dumps(schema, indent=2).encode(), members.pop("schema.json")[1])}
    for name, member in members.items():
        stem = name.removesuffix(".npy")
        renamed[f"{ids[int(stem)]}.npy" if stem.isdigit() and int(stem) in ids else name] = member
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w") as archive:
        for name in sorted(renamed):
            data, compression = renamed[name]
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type, info.external_attr = compression, 0o644 << 16
            archive.writestr(info, data)
    tmp.replace(path)
