"""A pod's MicroPython raw REPL over USB serial, through mpremote's `SerialTransport`.

mpremote's Python API rather than its command line: provisioning needs values back (free space,
`os.uname()`, the `.mpy` ABI, file contents) and does many small steps on one connection, which the
command line would answer as text to parse and with one reconnect (and raw-REPL entry) per call.
The API is not declared stable, so pyproject.toml bounds the version (1.29 to 1.x) and everything
goes through this one module.
"""

import ast
import contextlib
import errno
import io
from pathlib import Path
from typing import Any, Final, Protocol, cast

from mpremote.transport import TransportError  # pyright: ignore[reportMissingTypeStubs]
from mpremote.transport_serial import SerialTransport  # pyright: ignore[reportMissingTypeStubs]

READ_TIMEOUT_S: Final = 1.0
"""Longest wait for bytes the pod owes (mpremote's default is forever, which hangs on a pod that
stops answering). A read returns as soon as its bytes are there, so this costs nothing normally."""


class ProvisionError(OSError):
    """Something about the pod stops provisioning; the message says what to do."""


class NoMicroPythonError(ProvisionError):
    """The port opened but no MicroPython raw REPL answered."""


class _Transport(Protocol):
    def enter_raw_repl(self, soft_reset: bool = ..., timeout_overall: float = ...) -> None: ...
    def exit_raw_repl(self) -> None: ...
    def exec(self, command: str | bytes) -> bytes: ...
    def fs_readfile(self, src: str) -> bytearray: ...
    def fs_writefile(self, dest: str, data: bytes) -> None: ...
    def close(self) -> None: ...


class Device:
    """One open pod in raw REPL. Use as a context manager; `close` leaves the raw REPL."""

    def __init__(self, port: str, transport: _Transport) -> None:
        self.port = port
        self._transport = transport

    def __enter__(self) -> "Device":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._transport.exit_raw_repl()
        finally:
            self._transport.close()

    def run(self, code: str) -> str:
        """Run `code` on the pod and return what it printed; ProvisionError with the pod's
        traceback if it raised."""
        try:
            return self._transport.exec(code).decode(errors="replace")
        except TransportError as error:
            raise ProvisionError(
                f"the pod on {self.port} failed running {code!r}: {error}"
            ) from None

    def value(self, expression: str, setup: str = "") -> Any:
        """The Python literal `repr(expression)` gives on the pod."""
        printed = self.run(
            f"{setup}\nprint(repr({expression}))" if setup else f"print(repr({expression}))"
        )
        try:
            return ast.literal_eval(printed.strip())
        except (ValueError, SyntaxError):
            raise ProvisionError(
                f"the pod on {self.port} answered {printed!r} to {expression}"
            ) from None

    def read_file(self, path: str) -> bytes | None:
        """The file's bytes, or None if it does not exist."""
        if self.size(path) is None:
            return None
        try:
            return bytes(self._transport.fs_readfile(path))
        except (TransportError, OSError) as error:
            raise ProvisionError(
                f"cannot read {path} from the pod on {self.port}: {error}"
            ) from None

    def write_file(self, path: str, data: bytes) -> None:
        try:
            self._transport.fs_writefile(path, data)
        except (TransportError, OSError) as error:
            if isinstance(error, OSError) and error.errno == errno.ENOSPC:
                raise ProvisionError(
                    f"the pod's filesystem filled up while writing {path}; remove files you do "
                    "not need (gaitchain pod info lists them) and run the command again"
                ) from None
            raise ProvisionError(
                f"cannot write {path} on the pod on {self.port}: {error}"
            ) from None

    def size(self, path: str) -> int | None:
        """Size of a file, -1 for a directory, None if nothing is there."""
        stat = self.value(
            "s", f"import os\ntry:\n s=os.stat({path!r})\n s=(s[0],s[6])\nexcept OSError:\n s=None"
        )
        if stat is None:
            return None
        mode, size = cast(tuple[int, int], stat)
        return -1 if mode & 0x4000 else size


def open_device(port: str, timeout_s: float = 3.0) -> Device:
    """Open `port` and enter the raw REPL (with a soft reset, which does not run main.py).

    OSError if there is no such port, NoMicroPythonError if nothing answered as MicroPython.
    """
    if port.startswith("/dev/") and not Path(port).exists():
        raise ProvisionError(
            f"no serial device at {port}: plug the pod in by USB (a data cable, not charge-only) "
            "and give its port, e.g. --port /dev/ttyACM0 (list ports with "
            "python -m serial.tools.list_ports)"
        )
    try:
        raw: Any = SerialTransport(port, baudrate=115200, timeout=READ_TIMEOUT_S)
    except TransportError as error:
        raise ProvisionError(f"cannot open {port}: {error}; is another program using it?") from None
    transport = cast(_Transport, raw)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # mpremote prints what it got on failure
            transport.enter_raw_repl(soft_reset=True, timeout_overall=timeout_s)
    except (TransportError, OSError) as error:
        transport.close()
        raise NoMicroPythonError(
            f"no MicroPython raw REPL answered on {port} within {timeout_s:g} s ({error})"
        ) from None
    return Device(port, transport)
