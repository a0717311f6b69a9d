"""Installing MicroPython on an ESP32-S3 with esptool.

esptool runs as a subprocess (`python -m esptool`), through an injectable runner: its command line
is the documented, stable interface (the Python API changed shape in esptool 5), a subprocess
keeps its console output and `sys.exit` out of gaitchain, and tests replace the runner instead of
flashing. `--chip esp32s3` makes esptool itself refuse any other chip before it erases anything.
"""

import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .device import ProvisionError

CHIP: Final = "esp32s3"
BAUD: Final = 460800
DOWNLOAD_URL: Final = "https://micropython.org/download/ESP32_GENERIC_S3/"


@dataclass(frozen=True)
class RunResult:
    returncode: int
    output: str


Runner = Callable[[Sequence[str]], RunResult]


def run_subprocess(argv: Sequence[str]) -> RunResult:
    done = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    return RunResult(done.returncode, done.stdout + done.stderr)


def esptool_commands(port: str, image: Path) -> list[list[str]]:
    """The esptool calls that put `image` on the pod: erase everything, then write at 0."""
    base = [sys.executable, "-m", "esptool", "--chip", CHIP, "--port", port, "--baud", str(BAUD)]
    return [[*base, "erase-flash"], [*base, "write-flash", "0", str(image)]]


def check_image(image: Path) -> None:
    """ValueError unless `image` looks like a full ESP32-S3 MicroPython image (written at 0)."""
    if not image.is_file():
        raise ValueError(
            f"MicroPython image {image} does not exist; download it from {DOWNLOAD_URL}"
        )
    head = image.read_bytes()[:16]
    # An image written at offset 0 starts with the bootloader's ESP image header (magic 0xE9);
    # chip id 9 (ESP32-S3) is at byte 12 of the extended header.
    if len(head) < 16 or head[0] != 0xE9:
        raise ValueError(
            f"{image} is not an ESP image written at offset 0 (it must start with 0xE9); use "
            f"the .bin from {DOWNLOAD_URL}, not the .app-bin"
        )
    if int.from_bytes(head[12:14], "little") != 9:
        raise ValueError(f"{image} is not built for the ESP32-S3; use the .bin from {DOWNLOAD_URL}")


def flash_micropython(port: str, image: Path, runner: Runner = run_subprocess) -> list[str]:
    """Erase the pod's flash and write `image`. Returns the commands run.

    ProvisionError when esptool fails, saying whether the chip is not an ESP32-S3 or the pod
    is not in download mode.
    """
    check_image(image)
    ran: list[str] = []
    for argv in esptool_commands(port, image):
        result = runner(argv)
        ran.append(" ".join(argv))
        if result.returncode == 0:
            continue
        text = result.output
        last = text.strip().splitlines()[-1] if text.strip() else "no output"
        if "Wrong --chip" in text or "not ESP32-S3" in text or "not an ESP32-S3" in text:
            raise ProvisionError(
                f"the chip on {port} is not an ESP32-S3 (esptool: {last}); pods need an ESP32-S3 "
                "board, see hardware/bom.md"
            )
        if "Failed to connect" in text or "No serial data received" in text:
            raise ProvisionError(
                f"esptool could not reach the bootloader on {port} ({last}); hold BOOT, press and "
                "release RESET, release BOOT, and run the command again"
            )
        raise ProvisionError(f"esptool failed on {port} (exit {result.returncode}): {last}")
    return ran
