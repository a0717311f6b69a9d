"""`gaitchain pod flash / info / config`: what to install on a pod, checked before anything is
written, then installed.

Order of `flash_pod`: open the port (a clear error if there is none); enter the raw REPL; if no
MicroPython answers, or it cannot load this firmware's `.mpy` files, install MicroPython with
esptool (only with an image given, and only with `reflash=True` when a working MicroPython would be
erased); check the chip is an ESP32-S3; compile the firmware; check the free space covers the
firmware with room to spare; then copy the firmware, `/board.json` and `/config.json`
(written last, through a temporary file and a rename), and read each file's size back.
Nothing on the pod is written before every check has passed, and only firmware files, the board
file and the config are ever replaced (other files, and the step log on its own partition, are
left alone).
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from .boards import BOARDS_FILE, BoardSpec, default_board, load_boards
from .build import (
    FIRMWARE_DIR,
    FirmwareFile,
    blocks,
    build_firmware,
    directories,
)
from .device import Device, NoMicroPythonError, ProvisionError, open_device
from .flasher import DOWNLOAD_URL, Runner, flash_micropython, run_subprocess
from .partitions import STEPLOG_BYTES, STEPLOG_LABEL
from .podconfig import PodConfig, text
from .podstate import (
    BOARD_PATH,
    CONFIG_PATH,
    device_mpy,
    filesystem,
    heap_bytes,
    incompatible_mpy,
    is_esp32_s3,
    read_config,
    steplog_bytes,
    uname,
    unique_id,
)

FS_SPARE_BYTES: Final = 64 * 1024
"""Filesystem space left free after an install, for config saves and the next install."""
REPL_ATTEMPTS_AFTER_FLASH: Final = 10

Opener = Callable[[str, float], Device]


@dataclass
class FlashReport:
    port: str
    flashed_micropython: bool = False
    esptool_commands: list[str] = field(default_factory=list[str])
    written: dict[str, int] = field(default_factory=dict[str, int])
    removed: list[str] = field(default_factory=list[str])
    firmware_bytes: int = 0
    free_after_bytes: int = 0
    config: PodConfig = field(default_factory=dict[str, Any])
    warnings: list[str] = field(default_factory=list[str])


def space_needed_blocks(device: Device, files: list[FirmwareFile], block_bytes: int) -> int:
    """Blocks the install needs beyond what the files it replaces free."""
    need = 0
    for f in files:
        need += blocks(len(f.data), block_bytes)
        old = device.size(f.device_path)
        if old is not None and old >= 0:
            need -= blocks(old, block_bytes)
    for directory in directories([f.device_path for f in files]):
        if device.size(directory) is None:
            need += 2
    return need


def _connect_after_flash(
    port: str, opener: Opener, sleep: Callable[[float], None], timeout_s: float
) -> Device:
    for _attempt in range(REPL_ATTEMPTS_AFTER_FLASH):
        try:
            return opener(port, timeout_s)
        except ProvisionError:
            sleep(1.0)  # the pod reboots and its USB port comes back
    raise ProvisionError(
        f"MicroPython was written but no raw REPL answered on {port} afterwards; press RESET on "
        "the pod and run the command again"
    )


def _pod_id(requested: int | None, existing: PodConfig, unique_id: str) -> int:
    if requested is not None:
        return requested
    if int(existing["pod_id"]) != 0:
        return int(existing["pod_id"])
    return int(unique_id[-4:], 16) if unique_id else 0


def _running(device: Device, files: list[FirmwareFile]) -> tuple[str, str]:
    """(the pod's `os.uname().machine`, why it cannot load `files` or "")."""
    machine, _release = uname(device)
    problem = incompatible_mpy(device_mpy(device), files)
    if not problem and steplog_bytes(device) < STEPLOG_BYTES:
        problem = (
            f"it has no {STEPLOG_BYTES // 1048576} MiB '{STEPLOG_LABEL}' partition for the step "
            "log (MicroPython's own partition table)"
        )
    return machine, problem


def needs_micropython(
    port: str, found: tuple[str, str] | None, image: Path | None, reflash: bool
) -> bool:
    """Whether to write MicroPython first, from what answered on the raw REPL: None (nothing), or
    (machine, why the firmware cannot run on it or ""). ProvisionError when the pod cannot be
    provisioned as asked, saying what to do.
    """
    if found is None:
        if image is None:
            raise ProvisionError(
                f"no MicroPython answered on {port}: the pod has none yet; download the "
                f"ESP32-S3 image (SPIRAM_OCT variant for boards with PSRAM) from {DOWNLOAD_URL} "
                "and pass it with --micropython FILE.bin"
            )
        return True
    machine, problem = found
    if not is_esp32_s3(machine):
        raise ProvisionError(
            f"the board on {port} is {machine!r}, not an ESP32-S3; pods need an ESP32-S3 board "
            "(hardware/bom.md)"
        )
    if not problem:
        return False
    if image is None or not reflash:
        raise ProvisionError(
            f"the pod on {port} cannot run this firmware: {problem}. Installing a newer "
            "MicroPython (with gaitchain's partition table) erases the pod's flash, step log "
            "included: sync the log first, "
            "then run again with --micropython FILE.bin --reflash"
        )
    return True


def flash_pod(
    port: str,
    segment: str,
    side: str,
    *,
    board: str | None = None,
    pod_id: int | None = None,
    image: Path | None = None,
    reflash: bool = False,
    firmware_dir: Path = FIRMWARE_DIR,
    boards_file: Path = BOARDS_FILE,
    runner: Runner = run_subprocess,
    opener: Opener = open_device,
    sleep: Callable[[float], None] = time.sleep,
    repl_timeout_s: float = 3.0,
) -> FlashReport:
    """Provision the pod on `port` as `segment`/`side`. See the module docstring.

    `board` (a key of `boards_file`) defaults to the board the pod's MicroPython names, else the
    file's default; a pod whose MicroPython names another board than `board` is refused.
    """
    boards = load_boards(boards_file)
    if board is not None and board not in boards:
        raise ValueError(
            f"board {board!r} is not in {boards_file.name}; known: {', '.join(boards)}"
        )
    files = build_firmware(firmware_dir)
    report = FlashReport(port=port)

    device: Device | None
    try:
        device = opener(port, repl_timeout_s)
    except NoMicroPythonError:
        device = None
    found = None if device is None else _running(device, files)
    try:
        flash = needs_micropython(port, found, image, reflash)
    except ProvisionError:
        if device is not None:
            device.close()
        raise
    if flash:
        if device is not None:
            device.close()
        assert image is not None  # needs_micropython refuses to flash without one
        report.esptool_commands = flash_micropython(port, image, runner)
        report.flashed_micropython = True
        device = _connect_after_flash(port, opener, sleep, repl_timeout_s)
        machine, problem = _running(device, files)
        if not is_esp32_s3(machine) or problem:
            device.close()
            raise ProvisionError(
                f"the MicroPython just written on {port} ({machine!r}) cannot run this firmware"
                + (f": {problem}" if problem else ": not an ESP32-S3")
            )
    assert device is not None
    with device:
        machine, _release = uname(device)
        spec = boards[_choose_board(machine, board, boards, default_board(boards_file))]
        _install(device, spec, boards, files, segment, side, pod_id, report)
    return report


def _choose_board(
    machine: str, requested: str | None, boards: dict[str, BoardSpec], default: str
) -> str:
    named = [key for key, spec in boards.items() if any(n in machine for n in spec.machine_names)]
    if requested is None:
        return named[0] if named else default
    if named and requested not in named:
        raise ProvisionError(
            f"the pod reports {machine!r}, which is board {named[0]}, not {requested}; run "
            f"again with --board {named[0]} (or without --board)"
        )
    return requested


def _install(
    device: Device,
    spec: BoardSpec,
    boards: dict[str, BoardSpec],
    files: list[FirmwareFile],
    segment: str,
    side: str,
    pod_id: int | None,
    report: FlashReport,
) -> None:
    existing, _problems = read_config(device, boards)
    unique = unique_id(device)
    config = dict(existing)
    config.update(
        segment=segment, side=side, board=spec.key, pod_id=_pod_id(pod_id, existing, unique)
    )
    config_bytes = text(config)  # ValueError for a bad segment or side, before anything is written
    board_bytes = (json.dumps(spec.board_file(), indent=1) + "\n").encode()
    everything = [
        *files,
        FirmwareFile(BOARD_PATH, board_bytes),
        FirmwareFile(CONFIG_PATH + ".tmp", config_bytes),
    ]

    fs = filesystem(device)
    need = space_needed_blocks(device, everything, fs.block_bytes)
    spare = blocks(FS_SPARE_BYTES, fs.block_bytes)
    if need + spare > fs.free_blocks:
        raise ProvisionError(
            f"the pod's filesystem has {fs.free_bytes // 1024} KiB free; the firmware needs "
            f"{max(need, 0) * fs.block_bytes // 1024} KiB more and {FS_SPARE_BYTES // 1024} KiB "
            "must stay free. Nothing was written. Remove files you do not need (gaitchain pod "
            "info lists them)"
        )
    heap = heap_bytes(device)
    if spec.psram_bytes and heap < 1024 * 1024:
        report.warnings.append(
            f"the MicroPython heap is {heap // 1024} KiB: the PSRAM of the {spec.name} is not in "
            "use (flash the SPIRAM_OCT build), so 240 and 480 Hz keep less than 30 s of backlog"
        )

    for directory in directories([f.device_path for f in everything]):
        if device.size(directory) is None:
            device.run(f"import os\nos.mkdir({directory!r})")
    for f in everything:
        stale = f.device_path[: -len(".mpy")] + ".py" if f.device_path.endswith(".mpy") else ""
        if stale and device.size(stale) is not None:
            device.run(f"import os\nos.remove({stale!r})")  # a .py would shadow the new .mpy
            report.removed.append(stale)
        device.write_file(f.device_path, f.data)
        if device.size(f.device_path) != len(f.data):
            raise ProvisionError(
                f"{f.device_path} did not arrive whole on the pod; run the command again"
            )
        report.written[f.device_path] = len(f.data)
    _commit_config(device)
    report.written[CONFIG_PATH] = report.written.pop(CONFIG_PATH + ".tmp")
    report.firmware_bytes = sum(len(f.data) for f in files)
    report.free_after_bytes = filesystem(device).free_bytes
    report.config = config
    device.run("import os\ntry:\n os.sync()\nexcept AttributeError:\n pass")


def _commit_config(device: Device) -> None:
    """Move the written temporary config over the old one (LittleFS renames atomically, as the
    firmware's own `config.save` does), so a pod never holds half a config."""
    device.run(f"import os\nos.rename({CONFIG_PATH + '.tmp'!r}, {CONFIG_PATH!r})")


def set_config(device: Device, boards: dict[str, BoardSpec], changes: PodConfig) -> PodConfig:
    """Apply `changes` to the pod's config and write it atomically; returns the new config."""
    config, _problems = read_config(device, boards)
    config.update(changes)
    data = text(config)
    device.write_file(CONFIG_PATH + ".tmp", data)
    _commit_config(device)
    if "board" in changes:
        spec = boards[str(config["board"])]
        device.write_file(BOARD_PATH, (json.dumps(spec.board_file(), indent=1) + "\n").encode())
    return config
