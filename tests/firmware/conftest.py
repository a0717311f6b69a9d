"""Firmware tests under CPython: the firmware tree, the MicroPython stand-ins (`micropython`,
`bluetooth` from gaitchain's sim/mpshim, `machine` from fakes/) and these helpers on sys.path."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHIMS = HERE.parents[1] / "host" / "gaitchain" / "sim" / "mpshim"
for path in (HERE.parents[1] / "firmware", SHIMS, HERE / "fakes", HERE):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

collect_ignore = ["runner.py", "fwtest.py"]
