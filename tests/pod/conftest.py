"""Pod firmware under CPython against the host's emulators: `firmware/` and the firmware fakes
(`micropython`, `machine`) on sys.path, as tests/firmware/conftest.py does."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHIMS = REPO / "host" / "gaitchain" / "sim" / "mpshim"
for path in (REPO / "firmware", SHIMS, REPO / "tests" / "firmware" / "fakes"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
