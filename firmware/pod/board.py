"""Boards the firmware runs on: pins by board name, and the battery gauge.

The pin map per board is data (`PINS`); the hardware documentation lists the same pins and a test
keeps the two in step.
"""

from micropython import const

PINS = {
    "esp32-s3-devkitc-1": {"sda": 8, "scl": 9, "int1": 4, "led": 48, "vbat": 1},
    "xiao-esp32s3": {"sda": 5, "scl": 6, "int1": 4, "led": 21, "vbat": 1},
}
DEFAULT_BOARD = "xiao-esp32s3"

_DIVIDER = const(2)
"""The battery is read through a 1:1 resistor divider (half the cell voltage at the ADC)."""
_CURVE_MV = (3300, 3500, 3600, 3700, 3750, 3800, 3850, 3900, 4000, 4100, 4200)
"""LiPo open-circuit voltage at 0, 10, ..., 100 % charge (typical single-cell curve)."""


def pins(board: str) -> dict:
    if board not in PINS:
        raise ValueError("unknown board %r; known: %s" % (board, ", ".join(PINS)))
    return PINS[board]


def percent_from_mv(mv: int) -> int:
    if mv <= _CURVE_MV[0]:
        return 0
    for i in range(1, len(_CURVE_MV)):
        if mv <= _CURVE_MV[i]:
            low = _CURVE_MV[i - 1]
            return (i - 1) * 10 + (mv - low) * 10 // (_CURVE_MV[i] - low)
    return 100


class Battery:
    """Cell voltage from an ADC pin (`read_uv`, microvolts) through the divider."""

    def __init__(self, adc: object) -> None:
        self._adc = adc

    def read(self) -> tuple:
        mv = self._adc.read_uv() * _DIVIDER // 1000  # type: ignore[attr-defined]
        return percent_from_mv(mv), mv
