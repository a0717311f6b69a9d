"""Helpers for firmware tests; runs under CPython and under MicroPython (WASM port)."""

import json
import sys

IS_MICROPYTHON = sys.implementation.name == "micropython"


def _tests_dir() -> str:
    return __file__.replace("\\", "/").rsplit("/", 2)[0]


def golden() -> dict:
    with open(_tests_dir() + "/golden/protocol_v1.json") as f:
        return json.load(f)


def unhex(text: str) -> bytes:
    return bytes(int(text[i : i + 2], 16) for i in range(0, len(text), 2))


def tohex(data: object) -> str:
    return "".join("%02x" % b for b in bytes(data))  # type: ignore[arg-type]


def raises(exception: "type[BaseException]", function: object, *args: object) -> BaseException:
    """Call `function(*args)` and return the exception of type `exception` it raised."""
    try:
        function(*args)  # type: ignore[operator]
    except exception as error:
        return error
    raise AssertionError("expected %s" % exception.__name__)
