"""The supported boards: `hardware/boards.json`, the one source of each board's pins and flash.

The firmware keeps the same pin maps built in (`firmware/pod/board.py`) as the fallback when a
pod's `/board.json` is missing or bad; a test keeps the two equal.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

REPO: Final = Path(__file__).resolve().parents[3]
BOARDS_FILE: Final = REPO / "hardware" / "boards.json"
ROLES: Final = ("sda", "scl", "int1", "led", "vbat")


@dataclass(frozen=True)
class BoardSpec:
    """One board: its pins by role (GPIO numbers) and the sizes that decide what fits."""

    key: str
    name: str
    chip: str
    flash_bytes: int
    psram_bytes: int
    filesystem_bytes: int
    pins: dict[str, int]
    led_active_low: bool
    machine_names: tuple[str, ...]
    """Text in MicroPython's `os.uname().machine` that only this board's own build reports."""

    def board_file(self) -> dict[str, Any]:
        """What `gaitchain pod flash` installs as `/board.json` (read by `pod.board.load`)."""
        return {
            "board": self.key,
            "pins": {role: self.pins[role] for role in ROLES},
            "led_active_low": self.led_active_low,
        }


def _int(entry: dict[str, Any], key: str, where: str) -> int:
    value = entry.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{where}: {key} must be a non-negative integer, not {value!r}")
    return value


def _bool(entry: dict[str, Any], key: str, where: str) -> bool:
    value = entry.get(key)
    if not isinstance(value, bool):
        raise ValueError(f"{where}: {key} must be true or false, not {value!r}")
    return value


def load_boards(path: Path = BOARDS_FILE) -> dict[str, BoardSpec]:
    """Every board in `path` by key. ValueError naming the file and entry if one is malformed."""
    try:
        data: Any = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(
            f"{path} is missing: run gaitchain from a checkout of the repository"
        ) from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not JSON: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("boards"), dict):  # pyright: ignore[reportUnknownMemberType]
        raise ValueError(f"{path} is not a gaitchain boards file (no boards object)")
    entries = cast(dict[str, Any], data["boards"])
    boards: dict[str, BoardSpec] = {}
    for key, entry in entries.items():
        where = f"{path.name}: board {key}"
        if not isinstance(entry, dict) or not isinstance(entry.get("pins"), dict):  # pyright: ignore[reportUnknownMemberType]
            raise ValueError(f"{where} must be an object with a pins object")
        typed = cast(dict[str, Any], entry)
        pins_raw = cast(dict[str, Any], typed["pins"])
        boards[key] = BoardSpec(
            key=key,
            name=str(typed.get("name", key)),
            chip=str(typed.get("chip", "")),
            flash_bytes=_int(typed, "flash_bytes", where),
            psram_bytes=_int(typed, "psram_bytes", where),
            filesystem_bytes=_int(typed, "filesystem_bytes", where),
            pins={role: _int(pins_raw, role, where) for role in ROLES},
            led_active_low=_bool(typed, "led_active_low", where),
            machine_names=tuple(str(n) for n in cast(list[Any], typed.get("machine_names", []))),
        )
    return boards


def default_board(path: Path = BOARDS_FILE) -> str:
    return str(json.loads(path.read_text())["default"])
