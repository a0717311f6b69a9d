"""Boards the firmware runs on: the pin map per board, read from flash, and the battery gauge.

`gaitchain pod flash` installs the pin map of the pod's board as `/board.json`:
`{"board": "xiao-esp32s3", "pins": {"sda": 5, ..., "vbat": 1}, "led_active_low": true}`, taken
from `hardware/boards.json`, the one source of every supported board's wiring. `load` reads it and
never raises: a missing, corrupt or unsafe file, or one for another board than the config names,
gives the built-in map of the config's board (`PINS`), `defaulted=True` and the problems, so the
pod boots and raises `CONFIG_DEFAULTED` instead of driving a pin the board uses for something else.

A test keeps `PINS` equal to `hardware/boards.json`.
"""

import json

from micropython import const

PINS = {
    "esp32-s3-devkitc-1": {"sda": 8, "scl": 9, "int1": 4, "led": 48, "vbat": 1},
    "xiao-esp32s3": {"sda": 5, "scl": 6, "int1": 4, "led": 21, "vbat": 1},
}
DEFAULT_BOARD = "xiao-esp32s3"
LED_ACTIVE_LOW = {"esp32-s3-devkitc-1": False, "xiao-esp32s3": True}
"""Whether the status LED lights when its pin is low (the XIAO's user LED does)."""
DEFAULT_PATH = "/board.json"
ROLES = ("sda", "scl", "int1", "led", "vbat")
"""I2C data and clock to the IMU, the IMU's INT1 (FIFO watermark), the status LED, the battery
divider's tap (an ADC input)."""
MAX_FILE_BYTES = const(512)

_GPIO_COUNT = const(49)
_RESERVED = (19, 20, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37)
"""ESP32-S3 GPIOs a pod may not use: 19/20 are USB D-/D+ (the REPL and provisioning link),
22-25 do not exist, 26-32 are the SPI flash and 33-37 the octal PSRAM of R8 modules."""
_ADC1_FIRST = const(1)
_ADC1_LAST = const(10)
"""The battery goes to ADC1 (GPIO 1-10); ADC2 is shared with the radio."""

_DIVIDER = const(2)
"""The battery is read through a 1:1 resistor divider (half the cell voltage at the ADC)."""
_CURVE_MV = (3300, 3500, 3600, 3700, 3750, 3800, 3850, 3900, 4000, 4100, 4200)
"""LiPo open-circuit voltage at 0, 10, ..., 100 % charge (typical single-cell curve)."""


def pins(board: str) -> dict:
    """The built-in pin map of `board` with its `led_active_low`; ValueError naming the known
    boards if there is none."""
    if board not in PINS:
        raise ValueError("unknown board %r; known: %s" % (board, ", ".join(PINS)))
    pin_map = dict(PINS[board])
    pin_map["led_active_low"] = LED_ACTIVE_LOW[board]
    return pin_map


def check_pins(pin_map: object) -> list:
    """Problems with a pin map, one string each; [] when every role has a safe, distinct GPIO."""
    if not isinstance(pin_map, dict):
        return ["pins must be a JSON object of role: GPIO number"]
    problems = []
    used = {}
    for role in ROLES:
        if role not in pin_map:
            problems.append("pin %s is missing" % role)
            continue
        gpio = pin_map[role]
        if not isinstance(gpio, int) or isinstance(gpio, bool) or not 0 <= gpio < _GPIO_COUNT:
            problems.append("pin %s must be a GPIO number 0 to 48, not %r" % (role, gpio))
        elif gpio in _RESERVED:
            problems.append("pin %s = GPIO%d is reserved (USB, flash or PSRAM)" % (role, gpio))
        elif role == "vbat" and not _ADC1_FIRST <= gpio <= _ADC1_LAST:
            problems.append("pin vbat = GPIO%d is not an ADC1 input (GPIO 1 to 10)" % gpio)
        elif gpio in used:
            problems.append("pin %s = GPIO%d is already pin %s" % (role, gpio, used[gpio]))
        else:
            used[gpio] = role
    return problems


def _read(path: str) -> tuple:
    """The decoded JSON in `path`, or (None, what went wrong)."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError:
        return None, "%s is missing" % path
    if len(raw) > MAX_FILE_BYTES:
        return None, "%s is larger than %d bytes" % (path, MAX_FILE_BYTES)
    try:
        return json.loads(raw.decode()), ""
    except Exception as error:  # any parse failure must boot on the built-in map
        return None, "%s is not JSON text (%s)" % (path, type(error).__name__)


def load(board: str, path: str = DEFAULT_PATH) -> tuple:
    """The pin map for `board`: (pins, defaulted, problems). Never raises for a bad file.

    `pins` (the roles' GPIO numbers and `led_active_low`) comes from the file when it names `board`
    and its map is safe, otherwise from `PINS` and `LED_ACTIVE_LOW`;
    `problems` then says why and `defaulted` is True. `board` itself must be in `PINS` (the config
    only accepts those), else ValueError.
    """
    fallback = pins(board)
    data, problem = _read(path)
    if problem:
        return fallback, True, [problem + "; using the built-in pins of " + board]
    if not isinstance(data, dict) or "pins" not in data:
        return fallback, True, ["%s holds no pin map; using the built-in pins" % path]
    if data.get("board") != board:
        problem = "%s is for board %r, the config says %r; using the built-in pins of %s" % (
            path,
            data.get("board"),
            board,
            board,
        )
        return fallback, True, [problem]
    problems = check_pins(data["pins"])
    active_low = data.get("led_active_low", fallback["led_active_low"])
    if not isinstance(active_low, bool):
        problems.append("led_active_low must be true or false, not %r" % (active_low,))
    if problems:
        return fallback, True, [p + "; using the built-in pins" for p in problems]
    pin_map = {"led_active_low": active_low}
    for role in ROLES:
        pin_map[role] = data["pins"][role]
    return pin_map, False, []


def percent_from_mv(mv: int) -> int:
    if mv <= _CURVE_MV[0]:
        return 0
    for i in range(1, len(_CURVE_MV)):
        if mv <= _CURVE_MV[i]:
            low = _CURVE_MV[i - 1]
            return (i - 1) * 10 + (mv - low) * 10 // (_CURVE_MV[i] - low)
    return 100


class Led:
    """The status LED whatever its polarity: `value(1)` lights it, `value()` reads it back."""

    def __init__(self, pin: object, active_low: bool) -> None:
        self._pin = pin
        self._invert = 1 if active_low else 0
        self.value(0)

    def value(self, level: int = -1) -> int:
        if level >= 0:
            self._pin.value(level ^ self._invert)  # type: ignore[attr-defined]
        return self._pin.value() ^ self._invert  # type: ignore[attr-defined]


class Battery:
    """Cell voltage from an ADC pin (`read_uv`, microvolts) through the divider."""

    def __init__(self, adc: object) -> None:
        self._adc = adc

    def read(self) -> tuple:
        mv = self._adc.read_uv() * _DIVIDER // 1000  # type: ignore[attr-defined]
        return percent_from_mv(mv), mv
