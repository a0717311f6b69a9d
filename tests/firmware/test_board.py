"""The board pin map on flash (CPython and MicroPython): a bad file never drives a wrong pin."""

import json

import machine
from fwtest import Scratch, raises
from pod import board

_XIAO = {"sda": 5, "scl": 6, "int1": 4, "led": 21, "vbat": 1}
_XIAO_MAP = {"sda": 5, "scl": 6, "int1": 4, "led": 21, "vbat": 1, "led_active_low": True}


def _load(name: str, data: bytes, for_board: str = "xiao-esp32s3") -> tuple:
    scratch = Scratch(name)
    try:
        return board.load(for_board, scratch.write("board.json", data))
    finally:
        scratch.close()


def _file(pins: object, name: str = "xiao-esp32s3", **extra: object) -> bytes:
    data: dict = {"board": name, "pins": pins}
    data.update(extra)
    return json.dumps(data).encode()


def _with(**changes: object) -> dict:
    pins: dict = dict(_XIAO)
    pins.update(changes)
    return pins


def test_built_in_maps_are_safe():
    assert board.DEFAULT_BOARD in board.PINS
    assert sorted(board.LED_ACTIVE_LOW) == sorted(board.PINS)
    for name, pins in board.PINS.items():
        assert board.check_pins(pins) == [], name
        assert sorted(pins) == sorted(board.ROLES), name
    assert board.pins("xiao-esp32s3") == _XIAO_MAP


def test_a_valid_file_gives_its_pins():
    rewired = _with(int1=7, led=2)
    pins, defaulted, problems = _load("valid", _file(rewired, led_active_low=False))
    expected = dict(rewired)
    expected["led_active_low"] = False
    assert (pins, defaulted, problems) == (expected, False, [])
    pins, defaulted, problems = _load("no-polarity", _file(rewired))
    assert pins["led_active_low"] is True  # the board's own LED polarity


def test_unknown_keys_in_the_file_are_ignored():
    data = json.dumps({"board": "xiao-esp32s3", "pins": _with(buzzer=3), "rev": 2}).encode()
    pins, defaulted, problems = _load("extra", data)
    assert (pins, defaulted, problems) == (_XIAO_MAP, False, [])


def test_a_missing_file_gives_the_built_in_map():
    pins, defaulted, problems = board.load("esp32-s3-devkitc-1", "/no/such/dir/board.json")
    assert pins == board.pins("esp32-s3-devkitc-1")
    assert pins["led_active_low"] is False
    assert defaulted
    assert len(problems) == 1 and "missing" in problems[0], problems


def test_garbage_gives_the_built_in_map():
    for name, data in (
        ("binary", b"\xff\xfe\x00"),
        ("empty", b""),
        ("not-object", b"[5, 6]"),
        ("no-pins", b'{"board": "xiao-esp32s3"}'),
        ("oversized", _file(_XIAO) + b" " * 600),
    ):
        pins, defaulted, problems = _load(name, data)
        assert (pins, defaulted) == (_XIAO_MAP, True), name
        assert len(problems) == 1, (name, problems)


def test_a_file_for_another_board_is_not_used():
    devkit = board.PINS["esp32-s3-devkitc-1"]
    pins, defaulted, problems = _load("other", _file(devkit, "esp32-s3-devkitc-1"))
    assert (pins, defaulted) == (_XIAO_MAP, True)
    assert "'esp32-s3-devkitc-1'" in problems[0] and "'xiao-esp32s3'" in problems[0], problems


def test_unsafe_pins_are_refused_with_the_reason():
    cases = (
        (_with(sda=20), "pin sda = GPIO20 is reserved"),
        (_with(led=30), "pin led = GPIO30 is reserved"),
        (_with(int1=35), "pin int1 = GPIO35 is reserved"),
        (_with(scl=49), "pin scl must be a GPIO number 0 to 48, not 49"),
        (_with(scl=-1), "pin scl must be a GPIO number 0 to 48"),
        (_with(led="21"), "pin led must be a GPIO number"),
        (_with(led=True), "pin led must be a GPIO number"),
        (_with(vbat=11), "pin vbat = GPIO11 is not an ADC1 input"),
        (_with(int1=5), "pin int1 = GPIO5 is already pin sda"),
    )
    for pin_map, expected in cases:
        pins, defaulted, problems = _load("unsafe", _file(pin_map))
        assert (pins, defaulted) == (_XIAO_MAP, True), pin_map
        assert len(problems) == 1 and problems[0].startswith(expected), (expected, problems)
    missing = dict(_XIAO)
    del missing["vbat"]
    assert board.check_pins(missing) == ["pin vbat is missing"]
    assert board.check_pins([5, 6]) == ["pins must be a JSON object of role: GPIO number"]


def test_a_bad_led_polarity_is_refused():
    pins, defaulted, problems = _load("polarity", _file(_XIAO, led_active_low=1))
    assert (pins, defaulted) == (_XIAO_MAP, True)
    assert problems == ["led_active_low must be true or false, not 1; using the built-in pins"]


def test_led_lights_whatever_its_polarity():
    machine.clear()  # pyright: ignore[reportAttributeAccessIssue]  (test hook of the fake)
    for active_low, dark, lit in ((True, 1, 0), (False, 0, 1)):
        pin = machine.Pin(21, machine.Pin.OUT, value=lit)
        led = board.Led(pin, active_low)
        assert (pin.value(), led.value()) == (dark, 0), active_low  # dark when made
        led.value(1)
        assert (pin.value(), led.value()) == (lit, 1), active_low


def test_an_unknown_board_is_a_value_error():
    error = raises(ValueError, board.load, "arduino-uno", "/no/such/board.json")
    assert "xiao-esp32s3" in str(error), error
