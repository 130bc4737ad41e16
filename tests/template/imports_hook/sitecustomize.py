"""Imported by every Python process started with this folder on PYTHONPATH (the sample project's pipeline run in
tests/conftest.py): at exit it writes the process's argv and every source file it imported, so a test can hold
each DVC stage's deps to the code its command really runs."""

import atexit
import json
import os
import sys


def _record() -> None:
    folder = os.environ.get("MLGATE_RECORD_IMPORTS")
    if not folder:
        return
    files = sorted({f for m in list(sys.modules.values()) if isinstance(f := getattr(m, "__file__", None), str)})
    with open(os.path.join(folder, f"{os.getpid()}.json"), "w") as out:
        json.dump({"argv": sys.argv, "files": files}, out)


atexit.register(_record)
