"""A pretend pod on a pseudo-terminal: MicroPython's raw REPL as mpremote drives it.

`FakeBoard` owns a pty pair; mpremote opens the slave path (`board.port`) like a USB serial port
and a thread answers on the master: Ctrl-C, Ctrl-A (raw REPL), Ctrl-D (soft reboot, or end of
code), raw-paste mode (Ctrl-E A Ctrl-A, with flow-control windows), Ctrl-B. Code is executed by
CPython against stand-ins for the few modules provisioning uses (`os` on an in-memory LittleFS-like
filesystem with `statvfs`, `sys`, `gc`, `machine`, `esp32.Partition.find`), and errors come back
as MicroPython prints them, so mpremote's own error mapping (ENOSPC, ENOENT) is exercised.

`micropython=False` makes a board that never answers (a blank chip or other firmware).
"""

import builtins
import errno
import io
import os
import select
import struct
import threading
import traceback
import tty
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
XTENSAWIN_MPY = 6 | (3 << 8) | (10 << 10)
"""`sys.implementation._mpy` of MicroPython 1.23+ on an ESP32-S3."""


@dataclass
class FakeFilesystem:
    block_bytes: int = 4096
    total_blocks: int = 752  # 0x2F0000 bytes, the vfs of gaitchain's 8 MiB partition table
    files: dict[str, bytearray] = field(default_factory=dict[str, bytearray])
    dirs: set[str] = field(default_factory=lambda: {"/"})

    def used_blocks(self) -> int:
        file_blocks = sum(max(1, -(-len(d) // self.block_bytes)) for d in self.files.values())
        return 2 + file_blocks + 2 * (len(self.dirs) - 1)

    def free_blocks(self) -> int:
        return self.total_blocks - self.used_blocks()

    @staticmethod
    def norm(path: str) -> str:
        path = "/" + path.strip("/")
        return path

    def parent_exists(self, path: str) -> bool:
        return (path.rsplit("/", 1)[0] or "/") in self.dirs


def _oserror(code: int) -> OSError:
    return OSError(code, errno.errorcode[code])


class _File:
    def __init__(self, fs: FakeFilesystem, path: str, mode: str) -> None:
        self._fs, self._path, self._text = fs, path, "b" not in mode
        if "r" in mode:
            if path not in fs.files:
                raise _oserror(errno.ENOENT)
            self._buffer = io.BytesIO(bytes(fs.files[path]))
        else:
            if path in fs.dirs or not fs.parent_exists(path):
                raise _oserror(errno.EISDIR if path in fs.dirs else errno.ENOENT)
            if "a" not in mode or path not in fs.files:
                fs.files[path] = bytearray()
            self._buffer = None

    def write(self, data: bytes | str) -> int:
        raw = data.encode() if isinstance(data, str) else bytes(data)
        target = self._fs.files[self._path]
        before = max(1, -(-len(target) // self._fs.block_bytes))
        after = max(1, -(-(len(target) + len(raw)) // self._fs.block_bytes))
        if after - before > self._fs.free_blocks():
            raise _oserror(errno.ENOSPC)
        target.extend(raw)
        return len(raw)

    def read(self, size: int = -1) -> bytes | str:
        assert self._buffer is not None
        data = self._buffer.read(size)
        return data.decode() if self._text else data

    def readinto(self, buffer: bytearray) -> int:
        assert self._buffer is not None
        return self._buffer.readinto(buffer)

    def close(self) -> None:
        pass

    def __enter__(self) -> "_File":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class _Os:
    """The `os` functions mpremote and provisioning call, on the fake filesystem."""

    def __init__(self, board: "FakeBoard") -> None:
        self._board = board
        self._fs = board.fs

    def stat(self, path: str) -> tuple[int, ...]:
        path = self._fs.norm(path)
        if path in self._fs.dirs:
            return (0x4000, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        if path in self._fs.files:
            return (0x8000, 0, 0, 0, 0, 0, len(self._fs.files[path]), 0, 0, 0)
        raise _oserror(errno.ENOENT)

    def ilistdir(self, path: str = "/") -> list[tuple[str, int, int, int]]:
        path = self._fs.norm(path)
        if path not in self._fs.dirs:
            raise _oserror(errno.ENOENT)
        prefix = path.rstrip("/") + "/"
        entries: list[tuple[str, int, int, int]] = []
        for d in sorted(self._fs.dirs):
            if d != path and d.startswith(prefix) and "/" not in d[len(prefix) :]:
                entries.append((d[len(prefix) :], 0x4000, 0, 0))
        for f, data in sorted(self._fs.files.items()):
            if f.startswith(prefix) and "/" not in f[len(prefix) :]:
                entries.append((f[len(prefix) :], 0x8000, 0, len(data)))
        return entries

    def listdir(self, path: str = "/") -> list[str]:
        return [e[0] for e in self.ilistdir(path)]

    def mkdir(self, path: str) -> None:
        path = self._fs.norm(path)
        if path in self._fs.dirs or path in self._fs.files:
            raise _oserror(errno.EEXIST)
        if not self._fs.parent_exists(path):
            raise _oserror(errno.ENOENT)
        if self._fs.free_blocks() < 2:
            raise _oserror(errno.ENOSPC)
        self._fs.dirs.add(path)

    def remove(self, path: str) -> None:
        path = self._fs.norm(path)
        if path not in self._fs.files:
            raise _oserror(errno.ENOENT)
        del self._fs.files[path]

    def rename(self, old: str, new: str) -> None:
        old, new = self._fs.norm(old), self._fs.norm(new)
        if old not in self._fs.files:
            raise _oserror(errno.ENOENT)
        self._fs.files[new] = self._fs.files.pop(old)

    def statvfs(self, _path: str) -> tuple[int, ...]:
        fs = self._fs
        free = fs.free_blocks() + self._board.statvfs_overstates_blocks
        return (fs.block_bytes, fs.block_bytes, fs.total_blocks, free, free, 0, 0, 0, 0, 255)

    def uname(self) -> SimpleNamespace:
        return SimpleNamespace(
            sysname="esp32",
            nodename="esp32",
            release="1.27.0",
            version="v1.27.0 on 2026-01-01",
            machine=self._board.machine,
        )

    def sync(self) -> None:
        pass


class FakeBoard:
    """A pty whose far end behaves like MicroPython's REPL. Use as a context manager."""

    def __init__(
        self,
        *,
        micropython: bool = True,
        machine: str = "Seeed XIAO ESP32S3 with ESP32-S3-FN8",
        mpy: int = XTENSAWIN_MPY,
        heap_bytes: int = 8_000_000,
        total_blocks: int = 752,
        unique_id: bytes = b"\x34\x85\x18\x01\x02\xab",
        window: int = 64,
        raw_paste: bool = True,
        statvfs_overstates_blocks: int = 0,
        steplog_bytes: int = 0x200000,
    ) -> None:
        self.micropython = micropython
        self.machine = machine
        self.mpy = mpy
        self.heap_bytes = heap_bytes
        self.unique_id = unique_id
        self.window = window
        self.raw_paste = raw_paste
        self.steplog_bytes = steplog_bytes
        self.statvfs_overstates_blocks = statvfs_overstates_blocks
        self.fs = FakeFilesystem(total_blocks=total_blocks)
        self.executed: list[str] = []
        self.soft_reboots = 0
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._namespace: dict[str, Any] = {}

    def __enter__(self) -> "FakeBoard":
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        os.close(self._master)
        os.close(self._slave)

    # -- the serial line ------------------------------------------------------------------------

    def _bytes(self) -> Any:
        """Yield received bytes one at a time until stopped."""
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(self._master, 4096)
            except OSError:
                return
            yield from chunk

    def _send(self, data: bytes) -> None:
        os.write(self._master, data)

    def _serve(self) -> None:
        stream = self._bytes()
        raw = False
        code = bytearray()
        for byte in stream:
            if not self.micropython:
                continue  # a blank chip or other firmware: never answers
            if not raw:
                if byte == 0x01:
                    raw, code = True, bytearray()
                    self._send(RAW_BANNER + b">")
                elif byte == 0x03:
                    self._send(b"\r\n>>> ")
                continue
            if byte == 0x02:
                raw = False
                self._send(b"\r\nMicroPython v1.27.0; " + self.machine.encode() + b"\r\n>>> ")
            elif byte == 0x03:
                code = bytearray()
            elif byte == 0x05:
                if next(stream) == ord("A") and next(stream) == 0x01:
                    if not self.raw_paste:
                        self._send(b"R\x00")  # understood, not supported: plain raw REPL
                        continue
                    self._send(b"R\x01" + struct.pack("<H", self.window))
                    self._run(self._paste(stream))
            elif byte == 0x04:
                if not code:
                    self._soft_reboot()
                else:
                    self._send(b"OK")
                    self._run(bytes(code))
                    code = bytearray()
            else:
                code.append(byte)

    def _paste(self, stream: Any) -> bytes:
        """Receive raw-paste data, granting a new window each time one is used up."""
        data = bytearray()
        used = 0
        for byte in stream:
            if byte == 0x04:
                self._send(b"\x04")
                return bytes(data)
            data.append(byte)
            used += 1
            if used == self.window:
                used = 0
                self._send(b"\x01")
        return bytes(data)

    def _soft_reboot(self) -> None:
        self.soft_reboots += 1
        self._namespace = {}
        self._send(b"OK\r\nMPY: soft reboot\r\n" + RAW_BANNER + b">")

    # -- the interpreter ------------------------------------------------------------------------

    def _modules(self) -> dict[str, Any]:
        return {
            "os": _Os(self),
            "sys": SimpleNamespace(
                platform="esp32",
                implementation=SimpleNamespace(
                    name="micropython", version=(1, 27, 0), _mpy=self.mpy
                ),
            ),
            "gc": SimpleNamespace(
                mem_free=lambda: self.heap_bytes - 40_000, mem_alloc=lambda: 40_000
            ),
            "machine": SimpleNamespace(unique_id=lambda: self.unique_id),
            "esp32": SimpleNamespace(Partition=self._partition_class()),
        }

    def _partition_class(self) -> Any:
        board = self

        class Partition:
            TYPE_APP = 0
            TYPE_DATA = 1

            def __init__(self, label: str, size: int) -> None:
                self._label, self._size = label, size

            def info(self) -> tuple[int, int, int, int, str, bool]:
                return (1, 6, 0x600000, self._size, self._label, False)

            @staticmethod
            def find(kind: int = 0, subtype: int = 255, label: str | None = None) -> list[Any]:
                if kind == 1 and label == "steplog" and board.steplog_bytes:
                    return [Partition("steplog", board.steplog_bytes)]
                return []

        return Partition

    def _run(self, code: bytes) -> None:
        text = code.decode()
        self.executed.append(text)
        out = io.StringIO()
        modules = self._modules()

        def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
            if name in modules:
                return modules[name]
            raise ImportError(f"no module named '{name}'")

        def fake_print(*values: object, sep: str = " ", end: str = "\n") -> None:
            out.write(sep.join(str(v) for v in values) + end)

        def fake_open(path: str, mode: str = "r") -> _File:
            return _File(self.fs, self.fs.norm(path), mode)

        fake_builtins: dict[str, Callable[..., Any] | Any] = dict(vars(builtins))
        fake_builtins.update(__import__=fake_import, print=fake_print, open=fake_open)
        self._namespace["__builtins__"] = fake_builtins
        error = ""
        try:
            exec(compile(text, "<stdin>", "exec"), self._namespace)
        except OSError as exc:
            name = errno.errorcode.get(exc.errno or 0, str(exc.errno))
            error = f"OSError: [Errno {exc.errno}] {name}"
        except Exception as exc:
            error = "".join(traceback.format_exception_only(exc)).strip()
        stderr = b""
        if error:
            stderr = (
                'Traceback (most recent call last):\r\n  File "<stdin>", line 1, in <module>\r\n'
                + error
                + "\r\n"
            ).encode()
        self._send(out.getvalue().replace("\n", "\r\n").encode() + b"\x04" + stderr + b"\x04>")
