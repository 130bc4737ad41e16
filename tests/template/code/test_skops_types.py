"""skops' default allow-list comes from mlgate's snapshot only when it is exactly what skops computes: same
names for the installed versions, skops' own scan for any other versions; loading a model then imports the
model's classes, not every scikit-learn module."""

from __future__ import annotations

import json
import subprocess
import sys

from mlgate import _skops_snapshot as snapshot

# Modules only skops' scan (sklearn.utils.all_estimators) imports: no model of the pipeline needs them.
SCAN_ONLY = ("sklearn.utils._testing", "sklearn.semi_supervised", "sklearn.cross_decomposition", "pytest")


def _python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_the_snapshot_is_what_skops_computes_for_the_installed_versions():
    """Fails when skops, scikit-learn, numpy or scipy change without `python -m mlgate.skops_types`."""
    versions, names = json.loads(
        _python(
            "import json; from mlgate.skops_types import installed_versions, scan; "
            "print(json.dumps([installed_versions(), scan()]))"
        )
    )
    assert versions == snapshot.VERSIONS, "regenerate: python -m mlgate.skops_types"
    assert names == snapshot.NAMES, "regenerate: python -m mlgate.skops_types"
    assert "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier" in str(names)


LOAD = (
    "import sys, tempfile, pathlib; {setup}"
    "from mlgate.model_io import sio; "
    "from sklearn.linear_model import LogisticRegression; "
    "path = pathlib.Path(tempfile.mkdtemp()) / 'm.skops'; "
    "sio.dump(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), path); "
    "model = sio.load(path, trusted=sio.get_untrusted_types(file=path)); "
    "import json; print(json.dumps([m for m in {scan_only!r} if m in sys.modules]))"
)


def test_loading_a_model_does_not_import_every_estimator():
    imported = json.loads(_python(LOAD.format(setup="", scan_only=SCAN_ONLY)))
    assert imported == []


def test_other_versions_get_skops_own_scan():
    """A snapshot made for other versions is not used: skops computes its list (and imports what it scans)."""
    setup = "import mlgate._skops_snapshot as s; s.VERSIONS = {**s.VERSIONS, 'scikit-learn': '0.0'}; "
    imported = json.loads(_python(LOAD.format(setup=setup, scan_only=SCAN_ONLY)))
    assert imported == list(SCAN_ONLY)
