"""Static checks as tests: mpy-cross for the ESP32-S3, pyright and ruff.

pyright runs strict on the host and checks the firmware against the MicroPython ESP32 stubs.
A missing tool is a failure that says to run scripts/bootstrap.
"""

import subprocess
from pathlib import Path

import pytest
from tooling import FIRMWARE, MPY_STUBS, PYRIGHT, REPO, VENV_BIN, mpy_cross, require


@pytest.mark.parametrize(
    "module", sorted(str(p.relative_to(FIRMWARE)) for p in FIRMWARE.rglob("*.py"))
)
def test_firmware_compiles_for_esp32_s3(module: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [mpy_cross(), "-march=xtensawin", "-o", str(tmp_path / "out.mpy"), module],
        cwd=FIRMWARE,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def _pyright(*args: str) -> subprocess.CompletedProcess[str]:
    require(PYRIGHT, "pyright")
    return subprocess.run(
        [str(PYRIGHT), *args], cwd=REPO, capture_output=True, text=True, timeout=600, check=False
    )


def test_host_passes_pyright_strict() -> None:
    done = _pyright("-p", "pyrightconfig.json")
    assert done.returncode == 0, done.stdout[-5000:]


def test_firmware_type_checks_against_esp32_stubs() -> None:
    require(MPY_STUBS / "machine.pyi", "micropython-esp32-stubs")
    # --pythonpath to a non-interpreter: only the MicroPython stubs resolve, never CPython's stdlib.
    done = _pyright("-p", "tools/pyright/firmware.json", "--pythonpath", "/bin/false")
    assert done.returncode == 0, done.stdout[-5000:]


def test_ruff_is_clean() -> None:
    ruff = require(VENV_BIN / "ruff", "ruff")
    lint = subprocess.run(
        [ruff, "check", "."], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert lint.returncode == 0, lint.stdout[-5000:]
