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
