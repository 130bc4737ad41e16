"""Imported by every Python process started with this folder on PYTHONPATH (the sample project's pipeline run in
tests/conftest.py): at exit it writes the process's argv, every source file it imported and how many objects it
froze out of the exit collections, so a test can hold each DVC stage's deps to the code its command really runs.
Registered first, it runs after the command's own exit handlers."""

import atexit
import gc
import json
import os
import sys


def _record() -> None:
    folder = os.environ.get("MLGATE_RECORD_IMPORTS")
    if not folder:
        return
    files = sorted({f for m in list(sys.modules.values()) if isinstance(f := getattr(m, "__file__", None), str)})
    with open(os.path.join(folder, f"{os.getpid()}.json"), "w") as out:
        json.dump({"argv": sys.argv, "files": files, "frozen": gc.get_freeze_count()}, out)


atexit.register(_record)
