"""What a pod holds, read over its raw REPL: flash, chip, MicroPython's `.mpy` ABI, heap, config,
pin map file and files. Nothing here writes to the pod.
"""

import json
from dataclasses import dataclass
from typing import Any, Final, cast

from .boards import BoardSpec
from .build import FirmwareFile, mpy_abi
from .device import Device
from .partitions import STEPLOG_LABEL
from .podconfig import PodConfig, from_device

CONFIG_PATH: Final = "/config.json"
BOARD_PATH: Final = "/board.json"


@dataclass(frozen=True)
class Filesystem:
    block_bytes: int
    total_blocks: int
    free_blocks: int

    @property
    def free_bytes(self) -> int:
        return self.block_bytes * self.free_blocks

    @property
    def total_bytes(self) -> int:
        return self.block_bytes * self.total_blocks


@dataclass(frozen=True)
class PodInfo:
    port: str
    machine: str
    release: str
    mpy: int
    heap_bytes: int
    unique_id: str
    filesystem: Filesystem
    steplog_bytes: int
    config: PodConfig
    config_problems: list[str]
    board_file: dict[str, Any] | None
    files: dict[str, int]


def filesystem(device: Device) -> Filesystem:
    stat = cast(tuple[int, ...], device.value("os.statvfs('/')", "import os"))
    return Filesystem(block_bytes=stat[0], total_blocks=stat[2], free_blocks=stat[4])


def uname(device: Device) -> tuple[str, str]:
    uname = cast(
        tuple[str, str], device.value("(os.uname().machine, os.uname().release)", "import os")
    )
    return uname[0], uname[1]


def heap_bytes(device: Device) -> int:
    """MicroPython's heap: megabytes when the board's PSRAM is in use."""
    return int(device.value("gc.mem_free()+gc.mem_alloc()", "import gc"))


def unique_id(device: Device) -> str:
    """The chip's unique id (its MAC) in hex."""
    return str(device.value("machine.unique_id().hex()", "import machine"))


def steplog_bytes(device: Device) -> int:
    """Size of the pod's step-log partition, 0 when it has none."""
    return int(
        device.value(
            "p[0].info()[3] if p else 0",
            "import esp32\n"
            f"p=esp32.Partition.find(esp32.Partition.TYPE_DATA, label={STEPLOG_LABEL!r})",
        )
    )


def is_esp32_s3(machine: str) -> bool:
    return "ESP32S3" in machine.upper().replace("-", "").replace("_", "")


def device_mpy(device: Device) -> int:
    return int(device.value("getattr(sys.implementation, '_mpy', 0)", "import sys"))


def incompatible_mpy(device_mpy: int, files: list[FirmwareFile]) -> str:
    """Why the pod's MicroPython cannot import these `.mpy` files ("" when it can)."""
    version, sub, arch = device_mpy & 0xFF, (device_mpy >> 8) & 3, device_mpy >> 10
    for f in files:
        if not f.device_path.endswith(".mpy"):
            continue
        file_version, file_sub, file_arch = mpy_abi(f.data)
        if file_version != version:
            return (
                f"its MicroPython loads .mpy version {version}, the firmware is version "
                f"{file_version}"
            )
        if file_arch and (file_arch != arch or file_sub != sub):
            return f"{f.device_path} holds native code for another MicroPython ABI"
    return ""


def read_json(device: Device, path: str) -> object:
    raw = device.read_file(path)
    if raw is None:
        return None
    try:
        return json.loads(raw.decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def read_info(device: Device, boards: dict[str, BoardSpec]) -> PodInfo:
    """Everything `gaitchain pod info` shows, read from an open pod."""
    machine, release = uname(device)
    config, problems = read_config(device, boards)
    board_file = read_json(device, BOARD_PATH)
    files = cast(
        dict[str, int],
        device.value(
            "r",
            "import os\nr={}\ndef w(d):\n for e in os.ilistdir(d):\n"
            "  p=(d.rstrip('/')+'/'+e[0])\n  if e[1]==0x4000:\n   w(p)\n  else:\n"
            "   r[p]=os.stat(p)[6]\nw('/')",
        ),
    )
    heap = heap_bytes(device)
    unique = unique_id(device)
    return PodInfo(
        port=device.port,
        machine=machine,
        release=release,
        mpy=device_mpy(device),
        heap_bytes=heap,
        unique_id=unique,
        filesystem=filesystem(device),
        steplog_bytes=steplog_bytes(device),
        config=config,
        config_problems=problems,
        board_file=cast(dict[str, Any], board_file) if isinstance(board_file, dict) else None,
        files=files,
    )


def read_config(device: Device, boards: dict[str, BoardSpec]) -> tuple[PodConfig, list[str]]:
    """The pod's config completed with defaults, and what was missing or bad in it."""
    return from_device(read_json(device, CONFIG_PATH), boards)
