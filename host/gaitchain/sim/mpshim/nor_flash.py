# pyright: basic
"""MicroPython's `esp32.Partition`, emulated as NOR flash that can lose power at any write.

Runs under CPython and MicroPython (firmware tests, virtual pods). It follows the block-device
protocol of `esp32.Partition`: `readblocks(block, buf, offset)`, `writeblocks(block, buf, offset)`
(with an offset: program only, no erase, as the extended protocol defines), `ioctl(op, arg)` with
4 block count, 5 block size, 6 erase one block. Flash semantics as on the ESP32's SPI NOR flash:
erased bytes read 0xFF, programming can only clear bits (the result is `old & new`), and only an
erase sets them again, a whole 4096-byte sector at a time.

Fault injection: `cut_power_after(units)` arms a power cut. Every programmed byte counts one unit
and every sector erase one unit; when the armed count runs out the operation in progress is left
half done (the bytes before the cut programmed, the byte at the cut with only some of its bits
cleared; an erase with a pseudo-random part of the sector erased and the rest as it was) and
`PowerCut` is raised. Until `power_on()` every access raises `PowerCut` too, as a dead chip would.
`units_done` counts units since construction, so a test can count a workload's write path first
and then cut it at any point.
"""

BLOCK_BYTES = 4096
IOCTL_BLOCK_COUNT = 4
IOCTL_BLOCK_SIZE = 5
IOCTL_ERASE = 6


class PowerCut(Exception):
    """Power was lost during (or before) this flash operation."""


class Partition:
    """An emulated flash partition of `block_count` sectors of 4096 bytes, erased at the start."""

    RUNNING = 0
    BOOT = 0
    TYPE_APP = 0
    TYPE_DATA = 1

    def __init__(self, label: object = "steplog", block_count: int = 512, seed: int = 1) -> None:
        self.label = label
        self.block_count = block_count
        self.data = bytearray(b"\xff" * (block_count * BLOCK_BYTES))
        self.units_done = 0
        self.erases = 0
        self.programmed_bytes = 0
        self._cut_at = -1
        self._dead = False
        self._rand = seed & 0x7FFFFFFF or 1

    # -- fault injection --------------------------------------------------------------------
    def cut_power_after(self, units: int) -> None:
        """Lose power once `units` more bytes programmed or sectors erased have happened."""
        self._cut_at = self.units_done + units

    def power_on(self) -> None:
        """Power back: the flash keeps what it held; no cut is armed."""
        self._dead = False
        self._cut_at = -1

    def _next_random(self) -> int:
        self._rand = (self._rand * 1103515245 + 12345) & 0x7FFFFFFF
        return self._rand >> 8

    def _check_alive(self) -> None:
        if self._dead:
            raise PowerCut("the flash has no power")

    # -- the block-device protocol ------------------------------------------------------------
    def readblocks(self, block: int, buf: object, offset: int = 0) -> None:
        self._check_alive()
        start = block * BLOCK_BYTES + offset
        size = len(buf)  # type: ignore[arg-type]
        if start < 0 or start + size > len(self.data):
            raise OSError(22, "read outside the partition")
        buf[:] = self.data[start : start + size]  # type: ignore[index]

    def writeblocks(self, block: int, buf: object, offset: object = None) -> None:
        self._check_alive()
        raw = bytes(buf)  # type: ignore[call-overload]
        if offset is None:  # the basic protocol: erase whole blocks, then program them
            for k in range((len(raw) + BLOCK_BYTES - 1) // BLOCK_BYTES):
                self.ioctl(IOCTL_ERASE, block + k)
            offset = 0
        start = block * BLOCK_BYTES + offset  # type: ignore[operator]
        if start < 0 or start + len(raw) > len(self.data):
            raise OSError(22, "write outside the partition")
        end = start + len(raw)
        cut_inside = self.units_done <= self._cut_at < self.units_done + len(raw)
        if not cut_inside and self.data[start:end] == b"\xff" * len(raw):
            self.data[start:end] = raw  # fast path: programming erased bytes
            self.units_done += len(raw)
            self.programmed_bytes += len(raw)
            return
        for i in range(len(raw)):
            if self.units_done == self._cut_at:
                keep = raw[i] | (self._next_random() & 0xFF)  # some bits cleared, others not
                self.data[start + i] &= keep
                self._dead = True
                raise PowerCut("power lost while programming byte %d" % (start + i))
            self.data[start + i] &= raw[i]
            self.units_done += 1
            self.programmed_bytes += 1

    def ioctl(self, op: int, arg: int) -> object:
        if op == IOCTL_BLOCK_COUNT:
            return self.block_count
        if op == IOCTL_BLOCK_SIZE:
            return BLOCK_BYTES
        if op == IOCTL_ERASE:
            self._check_alive()
            if not 0 <= arg < self.block_count:
                raise OSError(22, "erase outside the partition")
            start = arg * BLOCK_BYTES
            if self.units_done == self._cut_at:
                first = self._next_random() % BLOCK_BYTES
                last = first + self._next_random() % (BLOCK_BYTES - first)
                for i in range(start + first, start + last):
                    self.data[i] = 0xFF
                self._dead = True
                raise PowerCut("power lost while erasing block %d" % arg)
            self.data[start : start + BLOCK_BYTES] = b"\xff" * BLOCK_BYTES
            self.units_done += 1
            self.erases += 1
            return 0
        return None
