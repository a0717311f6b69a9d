"""The pod's settings, kept on flash as a small JSON object (default `/config.json`).

`load` never raises: a missing, unreadable or corrupt file, or a bad value in it, gives the default
for what is wrong, `defaulted=True` and a list of problems, so the pod boots, raises
`STATUS.flags` bit 2 (`CONFIG_DEFAULTED`) and can be reconfigured instead of boot-looping. `save`
validates first and replaces the file atomically (write a temporary file, then `os.rename` over
the old one), so a failed write leaves the old file as it was.

Keys (any other key in the file is ignored, and not written back):

| key | allowed | default |
|---|---|---|
| `pod_id` | int 0-65535 | 0 |
| `segment` | `SEGMENTS`, as in `POD_INFO.segment` | "unassigned" |
| `side` | `SIDES`, as in `POD_INFO.side` | "center" |
| `rate_hz` | 60, 120, 240, 480 | 120 |
| `acc_range_g` | 2, 4, 8, 16 (full scale, ± g) | 16 |
| `gyr_range_dps` | 125, 250, 500, 1000, 2000, 4000 (full scale, ± °/s) | 2000 |
| `log_when_disconnected` | true, false | false |
| `log_full_policy` | "overwrite" (drop the oldest), "stop" (keep the oldest) | "stop" |
| `board` | a board of `pod.board.PINS` | `pod.board.DEFAULT_BOARD` |

The IMU driver still checks the ranges against its chip (not every chip has ±4000 °/s).
"""

import json
import os

from micropython import const

from .board import DEFAULT_BOARD, PINS

DEFAULT_PATH = "/config.json"
MAX_FILE_BYTES = const(1024)

SEGMENTS = ("unassigned", "pelvis", "thigh", "shank", "foot")
SIDES = ("center", "left", "right")
RATES_HZ = (60, 120, 240, 480)
ACC_RANGES_G = (2, 4, 8, 16)
GYR_RANGES_DPS = (125, 250, 500, 1000, 2000, 4000)
LOG_FULL_POLICIES = ("overwrite", "stop")
_BOOLS = (False, True)
_BOARDS = tuple(sorted(PINS))

# Every key in file order, with its default and its allowed values (None: pod_id's 0-65535).
_KEYS = (
    ("pod_id", 0, None),
    ("segment", "unassigned", SEGMENTS),
    ("side", "center", SIDES),
    ("rate_hz", 120, RATES_HZ),
    ("acc_range_g", 16, ACC_RANGES_G),
    ("gyr_range_dps", 2000, GYR_RANGES_DPS),
    ("log_when_disconnected", False, _BOOLS),
    ("log_full_policy", "stop", LOG_FULL_POLICIES),
    ("board", DEFAULT_BOARD, _BOARDS),
    ("stream_orientation", False, _BOOLS),
)


def defaults() -> dict:
    """A new dict holding the default of every key."""
    config = {}
    for key, default, _allowed in _KEYS:
        config[key] = default
    return config


def _same_kind(value: object, example: object) -> bool:
    # bool is a subclass of int in CPython (not in MicroPython): never let True pass for 1.
    if isinstance(example, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(example, bool)
    if isinstance(example, int):
        return isinstance(value, int)
    return isinstance(value, str)


def _check(key: str, value: object, allowed: tuple | None) -> str:
    """What is wrong with `value` for `key`, or "" when it is allowed."""
    if allowed is None:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0xFFFF:
            return ""
        return "%s must be an integer 0 to 65535, not %r" % (key, value)
    for choice in allowed:
        if _same_kind(value, choice) and value == choice:
            return ""
    return "%s must be one of %s, not %r" % (key, ", ".join(repr(c) for c in allowed), value)


def validate(config: dict) -> list[str]:
    """Problems with `config`, one string per missing or invalid key; [] when it is valid.

    Keys this firmware does not know are not problems.
    """
    problems = []
    for key, _default, allowed in _KEYS:
        if key not in config:
            problems.append("%s is missing" % key)
        else:
            problem = _check(key, config[key], allowed)
            if problem:
                problems.append(problem)
    return problems


def _read(path: str) -> tuple[object, str]:
    """The decoded JSON in `path`, or (None, what went wrong)."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        try:
            os.stat(path)
        except OSError:
            return None, "%s is missing" % path
        return None, "%s cannot be read (%r)" % (path, error)
    if len(raw) > MAX_FILE_BYTES:
        return None, "%s is larger than %d bytes" % (path, MAX_FILE_BYTES)
    try:
        return json.loads(raw.decode()), ""
    except Exception as error:  # any parse failure (even RecursionError) must boot on defaults
        return None, "%s is not JSON text (%s)" % (path, type(error).__name__)


def load(path: str = DEFAULT_PATH) -> tuple[dict, bool, list[str]]:
    """Read the config: (config, defaulted, problems). Never raises.

    `config` always holds every key with a valid value. Whatever the file lacks or gets wrong is
    replaced by its default, `defaulted` is then True and `problems` says what was wrong and
    which default is used, for the log and the status flag.
    """
    config = defaults()
    data, problem = _read(path)
    if problem:
        return config, True, [problem + "; using the defaults"]
    if not isinstance(data, dict):
        kind = type(data).__name__
        return (
            config,
            True,
            ["%s holds a JSON %s, not an object; using the defaults" % (path, kind)],
        )
    problems = []
    for key, default, allowed in _KEYS:
        if key not in data:
            problems.append("%s is missing; using %r" % (key, default))
            continue
        problem = _check(key, data[key], allowed)
        if problem:
            problems.append("%s; using %r" % (problem, default))
        else:
            config[key] = data[key]
    return config, bool(problems), problems


def _text(config: dict) -> bytes:
    lines = ['  "%s": %s' % (key, json.dumps(config[key])) for key, _default, _allowed in _KEYS]
    return ("{\n" + ",\n".join(lines) + "\n}\n").encode()


def save(config: dict, path: str = DEFAULT_PATH) -> None:
    """Validate `config` and write it to `path` atomically.

    Raises ValueError naming each bad key and its allowed values (nothing is written), or the
    OSError of a failed write (the old file is left as it was). Unknown keys are not written.
    """
    problems = validate(config)
    if problems:
        raise ValueError("invalid config: " + "; ".join(problems))
    data = _text(config)
    temporary = path + ".tmp"
    try:
        with open(temporary, "wb") as f:
            written = f.write(data)
            if written is not None and written != len(data):
                raise OSError(28, "short write: %d of %d bytes" % (written, len(data)))
        os.rename(temporary, path)
    except OSError:
        try:
            os.remove(temporary)
        except OSError:
            pass
        raise
