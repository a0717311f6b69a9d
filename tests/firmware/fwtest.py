"""Helpers for firmware tests; runs under CPython and under MicroPython (WASM port)."""

import json
import os
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


class Scratch:
    """A fresh, empty directory for one test, removed (with its files) by `close`."""

    def __init__(self, name: str) -> None:
        if IS_MICROPYTHON:
            self.path = "/tmp/gaitchain-" + name
            os.mkdir(self.path)
        else:
            import tempfile  # type: ignore[import-not-found]

            self.path = tempfile.mkdtemp(prefix="gaitchain-")  # type: ignore[attr-defined]

    def file(self, name: str) -> str:
        return self.path + "/" + name

    def write(self, name: str, data: bytes) -> str:
        with open(self.file(name), "wb") as f:
            f.write(data)
        return self.file(name)

    def read(self, name: str) -> bytes:
        with open(self.file(name), "rb") as f:
            return f.read()

    def names(self) -> list:
        return sorted(os.listdir(self.path))

    def close(self) -> None:
        for name in os.listdir(self.path):
            path = self.file(name)
            try:
                os.remove(path)
            except OSError:
                os.rmdir(path)
        os.rmdir(self.path)


G_COUNTS = 2049  # 1 g at the accelerometer's 16 g range (0.488 mg per count)
STRIDE_SAMPLES = 257  # 1.07 s at 240 Hz
IC_AT = 100  # initial contact: the first impact sample within each stride
TOE_OFF_AT = 250


def stride_z(k: int) -> int:
    """Vertical accelerometer counts of sample k of a synthetic stride at 240 Hz: swing, a heel
    strike (5 g peak at IC_AT + 1), settling, a quiet stance at 1 g and a push-off at TOE_OFF_AT."""
    g = G_COUNTS
    if k < 20:
        return g * 12 // 10
    if k < 60:
        return g * 19 // 10
    if k < IC_AT:
        return g * 4 // 10
    if k < IC_AT + 3:
        return (4 * g, 5 * g, 3 * g)[k - IC_AT]
    if k < 115:
        return g * 15 // 10
    if k < TOE_OFF_AT:
        return g + (k % 5) * 10 - 20  # at rest, a little noise
    if k < TOE_OFF_AT + 2:
        return 3 * g
    return g * 13 // 10
