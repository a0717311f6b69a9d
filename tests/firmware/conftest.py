"""Firmware tests under CPython: the firmware tree, its fakes and these helpers on sys.path."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for path in (HERE.parents[1] / "firmware", HERE / "fakes", HERE):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

collect_ignore = ["runner.py", "fwtest.py"]
