"""Installing MicroPython on an ESP32-S3 with esptool.

esptool runs as a subprocess (`python -m esptool`), through an injectable runner: its command line
is the documented, stable interface (the Python API changed shape in esptool 5), a subprocess
keeps its console output and `sys.exit` out of gaitchain, and tests replace the runner instead of
flashing. `--chip esp32s3` makes esptool itself refuse any other chip before it erases anything.
"""

import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .device import ProvisionError
from .partitions import TABLE_OFFSET, app_partition_bytes, table_bytes

CHIP: Final = "esp32s3"
BAUD: Final = 460800
APP_OFFSET: Final = 0x10000
"""Where the app starts in a MicroPython image written at 0 (bootloader and table come first)."""
DOWNLOAD_URL: Final = "https://micropython.org/download/ESP32_GENERIC_S3/"


@dataclass(frozen=True)
class RunResult:
    returncode: int
    output: str


Runner = Callable[[Sequence[str]], RunResult]


def run_subprocess(argv: Sequence[str]) -> RunResult:
    done = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    return RunResult(done.returncode, done.stdout + done.stderr)


def esptool_commands(port: str, image: Path, table: Path) -> list[list[str]]:
    """The esptool calls that put `image` on the pod: erase everything, write the image at 0,
    then the partition table with the step-log partition (`table`) over the image's own."""
    base = [sys.executable, "-m", "esptool", "--chip", CHIP, "--port", port, "--baud", str(BAUD)]
    return [
        [*base, "erase-flash"],
        [*base, "write-flash", "0", str(image)],
        [*base, "write-flash", hex(TABLE_OFFSET), str(table)],
    ]


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
    app_bytes = image.stat().st_size - APP_OFFSET
    if app_bytes > app_partition_bytes():
        raise ValueError(
            f"{image} holds a {app_bytes} byte app, larger than the pod's "
            f"{app_partition_bytes()} byte app partition"
        )


def flash_micropython(port: str, image: Path, runner: Runner = run_subprocess) -> list[str]:
    """Erase the pod's flash, write `image` and the partition table with the step-log partition.
    Returns the commands run.

    ProvisionError when esptool fails, saying whether the chip is not an ESP32-S3 or the pod
    is not in download mode.
    """
    check_image(image)
    ran: list[str] = []
    with tempfile.TemporaryDirectory(prefix="gaitchain-flash-") as scratch:
        table = Path(scratch) / "partitions-gaitchain-8MiB.bin"
        table.write_bytes(table_bytes())
        for argv in esptool_commands(port, image, table):
            _run(runner, argv, port)
            ran.append(" ".join(argv))
    return ran


def _run(runner: Runner, argv: list[str], port: str) -> None:
    result = runner(argv)
    if result.returncode == 0:
        return
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
