"""`gaitchain pod ...`: provision a pod over USB (flash), show what it holds (info), read and set
its config (config)."""

import argparse
import json
from pathlib import Path
from typing import Final

from ..calibration_records import parse_pod_id
from ..power_budget import budgets, load_table, markdown
from ..provision.boards import BOARDS_FILE, load_boards
from ..provision.build import FIRMWARE_DIR
from ..provision.device import open_device
from ..provision.podconfig import KEY_NAMES, SEGMENTS, SIDES, PodConfig, parse_value
from ..provision.podstate import PodInfo, read_config, read_info
from ..provision.provision import flash_pod, set_config
from .common import Commands

DEFAULT_PORT: Final = "/dev/ttyACM0"


def _add_port(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port", default=DEFAULT_PORT, help=f"the pod's USB serial port (default {DEFAULT_PORT})"
    )


def register(commands: Commands) -> None:
    pod = commands.add_parser("pod", help="provision a pod over USB and read or set its config")
    actions = pod.add_subparsers(dest="action", required=True, metavar="ACTION")

    flash = actions.add_parser(
        "flash",
        help="install MicroPython (if needed), the compiled firmware, the pin map and the config",
    )
    _add_port(flash)
    flash.add_argument("--segment", required=True, choices=SEGMENTS[1:])
    flash.add_argument("--side", required=True, choices=SIDES)
    flash.add_argument(
        "--board",
        default=None,
        help="a board of hardware/boards.json (default: the one the pod's MicroPython names, "
        "else the file's default)",
    )
    flash.add_argument(
        "--pod-id", default=None, help="0-65535 or 0x0102 (default: keep, or from the chip's MAC)"
    )
    flash.add_argument(
        "--micropython",
        type=Path,
        default=None,
        metavar="FILE.bin",
        help="MicroPython image for the ESP32-S3, written with esptool when the pod needs it",
    )
    flash.add_argument(
        "--reflash",
        action="store_true",
        help="allow replacing a MicroPython that cannot run the firmware (erases the pod's flash)",
    )
    flash.add_argument("--firmware", type=Path, default=FIRMWARE_DIR, help=argparse.SUPPRESS)
    flash.set_defaults(run=_flash)

    info = actions.add_parser("info", help="show the pod's MicroPython, flash, config and files")
    _add_port(info)
    info.set_defaults(run=_info)

    config = actions.add_parser(
        "config", help="print the pod's config, or keys of it (KEY), or set them (KEY=VALUE)"
    )
    _add_port(config)
    config.add_argument("items", nargs="*", metavar="KEY[=VALUE]", help=", ".join(KEY_NAMES))
    config.set_defaults(run=_config)

    power = actions.add_parser(
        "power", help="battery life per mode from hardware/power-budget.json (no pod needed)"
    )
    power.add_argument("--capacity-mah", type=float, default=None, help="another battery")
    power.add_argument(
        "--markdown", action="store_true", help="print the tables of hardware/power-budget.md"
    )
    power.set_defaults(run=_power)


def _flash(args: argparse.Namespace) -> int:
    side = str(args.side)
    segment = str(args.segment)
    if (segment == "pelvis") != (side == "center"):
        raise ValueError(
            f"--side {side} does not fit --segment {segment}: the pelvis pod is --side center, "
            "every other pod left or right"
        )
    board = str(args.board) if args.board else None
    pod_id = None if args.pod_id is None else parse_pod_id(str(args.pod_id))
    report = flash_pod(
        str(args.port),
        segment,
        side,
        board=board,
        pod_id=pod_id,
        image=args.micropython,
        reflash=bool(args.reflash),
        firmware_dir=Path(args.firmware),
    )
    if report.flashed_micropython:
        print(f"MicroPython written ({len(report.esptool_commands)} esptool commands)")
    for path in report.removed:
        print(f"removed {path} (an old source file that would shadow its .mpy)")
    print(f"wrote {len(report.written)} files, firmware {report.firmware_bytes} bytes")
    print(f"free on the pod: {report.free_after_bytes / 1048576:.2f} MiB")
    config = report.config
    print(
        f"pod 0x{int(config['pod_id']):04x}: {config['segment']} {config['side']} on "
        f"{config['board']}; reset the pod (or unplug it) to start the firmware"
    )
    for warning in report.warnings:
        print(f"warning: {warning}")
    return 0


def _print_info(info: PodInfo) -> None:
    fs = info.filesystem
    print(f"port: {info.port}")
    print(f"machine: {info.machine}, MicroPython {info.release}, mpy ABI {info.mpy}")
    print(f"unique id: {info.unique_id}, heap {info.heap_bytes // 1024} KiB")
    print(f"filesystem: {fs.free_bytes / 1048576:.2f} of {fs.total_bytes / 1048576:.2f} MiB free")
    print(
        f"step-log partition: {info.steplog_bytes / 1048576:.2f} MiB"
        if info.steplog_bytes
        else "step-log partition: none (flash with --micropython FILE.bin --reflash)"
    )
    print("config: " + json.dumps(info.config))
    for problem in info.config_problems:
        print(f"  problem: {problem}")
    print("board file: " + (json.dumps(info.board_file) if info.board_file else "missing"))
    for path, size in sorted(info.files.items()):
        print(f"  {size:9d}  {path}")


def _info(args: argparse.Namespace) -> int:
    boards = load_boards(BOARDS_FILE)
    with open_device(str(args.port)) as device:
        _print_info(read_info(device, boards))
    return 0


def _config(args: argparse.Namespace) -> int:
    boards = load_boards(BOARDS_FILE)
    items = [str(item) for item in args.items]
    changes: PodConfig = {}
    wanted: list[str] = []
    for item in items:
        key, equals, value = item.partition("=")
        if key not in KEY_NAMES:
            raise ValueError(f"unknown config key {key!r}; keys: {', '.join(KEY_NAMES)}")
        if equals:
            changes[key] = parse_value(key, value)
        else:
            wanted.append(key)
    with open_device(str(args.port)) as device:
        if changes:
            config = set_config(device, boards, changes)
            print("set " + ", ".join(f"{k}={json.dumps(v)}" for k, v in changes.items()))
            print("reset the pod for the change to take effect")
        else:
            config, problems = read_config(device, boards)
            for problem in problems:
                print(f"problem: {problem}")
    for key in wanted or ([] if changes else list(KEY_NAMES)):
        print(f"{key}={json.dumps(config[key])}")
    return 0


def _power(args: argparse.Namespace) -> int:
    table = load_table()
    if args.markdown:
        print(markdown(table), end="")
        return 0
    capacity = None if args.capacity_mah is None else float(args.capacity_mah)
    if capacity is not None and not 10 <= capacity <= 10000:
        raise ValueError(f"capacity-mah = {capacity:g} is outside 10 to 10000")
    for mode in budgets(table, capacity):
        print(f"{mode.name}: {mode.average_ma:.2f} mA, {mode.life_h:.1f} h")
    return 0
