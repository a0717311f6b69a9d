"""The pod's `/config.json` as the host writes it: the same keys, defaults and allowed values as
`firmware/pod/config.py` (a test keeps the two equal), so a bad value is refused on the host with
the reason instead of being replaced by its default on the pod.
"""

import json
from typing import Final, cast

from .boards import BoardSpec

ConfigValue = int | str | bool
PodConfig = dict[str, ConfigValue]

SEGMENTS: Final = ("unassigned", "pelvis", "thigh", "shank", "foot")
SIDES: Final = ("center", "left", "right")

_POD_ID: Final = "pod_id"
KEYS: Final[tuple[tuple[str, ConfigValue, tuple[ConfigValue, ...] | None], ...]] = (
    (_POD_ID, 0, None),
    ("segment", "unassigned", SEGMENTS),
    ("side", "center", SIDES),
    ("rate_hz", 120, (60, 120, 240, 480)),
    ("acc_range_g", 16, (2, 4, 8, 16)),
    ("gyr_range_dps", 2000, (125, 250, 500, 1000, 2000, 4000)),
    ("log_when_disconnected", False, (False, True)),
    ("log_full_policy", "stop", ("overwrite", "stop")),
    ("board", "xiao-esp32s3", ("esp32-s3-devkitc-1", "xiao-esp32s3")),
    ("stream_orientation", False, (False, True)),
)
"""Every key in file order: (key, default, allowed values; None for pod_id's 0-65535)."""
KEY_NAMES: Final = tuple(key for key, _default, _allowed in KEYS)


def defaults() -> PodConfig:
    return {key: default for key, default, _allowed in KEYS}


def _allowed(key: str) -> tuple[ConfigValue, ...] | None:
    for name, _default, allowed in KEYS:
        if name == key:
            return allowed
    raise ValueError(f"unknown config key {key!r}; keys: {', '.join(KEY_NAMES)}")


def check(key: str, value: object) -> str:
    """What is wrong with `value` for `key` ("" when allowed); unknown keys raise ValueError."""
    allowed = _allowed(key)
    if allowed is None:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0xFFFF:
            return ""
        return f"{key} must be an integer 0 to 65535, not {value!r}"
    for choice in allowed:
        if type(value) is type(choice) and value == choice:
            return ""
    return f"{key} must be one of {', '.join(repr(c) for c in allowed)}, not {value!r}"


def parse_value(key: str, text: str) -> ConfigValue:
    """A value typed on the command line for `key`: `true`, `240`, `0x0102`, `shank`.

    ValueError naming the key and its allowed values if the value is not allowed.
    """
    allowed = _allowed(key)
    example: ConfigValue = 0 if allowed is None else allowed[0]
    value: ConfigValue
    if isinstance(example, bool):
        value = {"true": True, "false": False}.get(text.strip().lower(), text)
    elif isinstance(example, int):
        try:
            value = int(text, 0)
        except ValueError:
            value = text
    else:
        value = text.strip()
    problem = check(key, value)
    if problem:
        raise ValueError(problem)
    return value


def from_device(data: object, boards: dict[str, BoardSpec]) -> tuple[PodConfig, list[str]]:
    """The config a pod holds, completed with defaults: (config, what was missing or bad)."""
    config = defaults()
    problems: list[str] = []
    if not isinstance(data, dict):
        return config, ["/config.json is missing or not a JSON object; defaults shown"]
    held = cast(dict[str, ConfigValue], data)
    for key, default, _allowed_values in KEYS:
        if key not in held:
            problems.append(f"{key} is missing (the pod uses {default!r})")
            continue
        problem = check(key, held[key])
        if problem:
            problems.append(f"{problem} (the pod uses {default!r})")
        else:
            config[key] = held[key]
    if config["board"] not in boards:
        problems.append(f"board {config['board']!r} is not in hardware/boards.json")
    return config, problems


def text(config: PodConfig) -> bytes:
    """The file's bytes: every key in order, one per line (as the firmware writes it)."""
    problems = [p for key in KEY_NAMES if (p := check(key, config.get(key)))]
    if problems:
        raise ValueError("invalid config: " + "; ".join(problems))
    lines = [f'  "{key}": {json.dumps(config[key])}' for key in KEY_NAMES]
    return ("{\n" + ",\n".join(lines) + "\n}\n").encode()
