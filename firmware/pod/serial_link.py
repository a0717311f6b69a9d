"""USB serial link: the protocol's messages in COBS frames with a CRC-32 (docs/protocol.md, "USB
serial framing").

A frame is COBS(message + CRC-32 of the message, little-endian) followed by one 0x00 byte. COBS
removes every zero byte from the encoded part, so 0x00 only ever ends a frame and a receiver that
starts mid-stream, or loses bytes, finds the next frame at the next 0x00. A frame whose CRC does
not match, that is too long, or that does not decode is counted in `bad_frames` and dropped.

`SerialLink` has the interface of `BleLink` the controller uses (`connected`, `bonded`, `mtu`,
`send`, `take_write`), so the same commands, log sync and wired streaming run over USB. The port
is any object with `read(n)` that returns at once (bytes, or None / b"" when nothing is waiting)
and `write(buf)`: on the pod, USB CDC through `sys.stdin.buffer` / `sys.stdout.buffer` polled
with `select.poll` (see main.py); in tests, a pseudo-terminal or a byte queue. A USB cable means
physical access to the pod, so the wired link counts as bonded.
"""

from binascii import crc32

from micropython import const

MAX_MESSAGE_BYTES = const(512)
MAX_FRAME_BYTES = const(520)  # message, CRC and COBS overhead (1 byte per 254)
_READ_CHUNK = const(256)
_MAX_PENDING = const(8)


def cobs_encode(src: object, n: int, dst: bytearray) -> int:
    """COBS-encode `src[0:n]` into `dst`; return the encoded length (no trailing zero)."""
    code_at = 0
    out = 1
    code = 1
    for i in range(n):
        b = src[i]  # type: ignore[index]
        if b == 0:
            dst[code_at] = code
            code_at = out
            out += 1
            code = 1
        else:
            dst[out] = b
            out += 1
            code += 1
            if code == 0xFF:
                dst[code_at] = code
                code_at = out
                out += 1
                code = 1
    dst[code_at] = code
    return out


def cobs_decode(src: object, n: int, dst: bytearray) -> int:
    """Decode COBS `src[0:n]` (no zero inside) into `dst`; return the length, -1 if malformed."""
    i = 0
    out = 0
    while i < n:
        code = src[i]  # type: ignore[index]
        if code == 0 or i + code > n:
            return -1
        i += 1
        for _ in range(code - 1):
            if out >= len(dst):
                return -1
            dst[out] = src[i]  # type: ignore[index]
            out += 1
            i += 1
        if code < 0xFF and i < n:
            if out >= len(dst):
                return -1
            dst[out] = 0
            out += 1
    return out


class SerialLink:
    def __init__(self, port: object) -> None:
        self._port = port
        self.connected = True
        self.bonded = True
        self.advertising = True
        self.mtu = MAX_MESSAGE_BYTES + 3  # the controller takes 3 off, as for an ATT notification
        self._tx = bytearray(MAX_MESSAGE_BYTES + 4)
        self._frame = bytearray(MAX_FRAME_BYTES + 1)
        self._rx = bytearray(MAX_FRAME_BYTES)
        self._rx_len = 0
        self._rx_overflow = False
        self._plain = bytearray(MAX_MESSAGE_BYTES + 4)
        self.writes: list = []
        self.bad_frames = 0
        self.frames_in = 0
        self.frames_out = 0

    def send(self, message: object) -> bool:
        """Frame and write one message; False (nothing written) when the port refuses it."""
        n = len(message)  # type: ignore[arg-type]
        if n > MAX_MESSAGE_BYTES:
            return False
        tx = self._tx
        tx[0:n] = message  # type: ignore[index]
        crc = crc32(memoryview(tx)[:n])
        tx[n] = crc & 0xFF
        tx[n + 1] = (crc >> 8) & 0xFF
        tx[n + 2] = (crc >> 16) & 0xFF
        tx[n + 3] = (crc >> 24) & 0xFF
        size = cobs_encode(tx, n + 4, self._frame)
        self._frame[size] = 0
        try:
            written = self._port.write(memoryview(self._frame)[: size + 1])  # type: ignore[attr-defined]
        except OSError:
            return False
        if written is not None and written != size + 1:
            return False
        self.frames_out += 1
        return True

    def take_write(self) -> "bytes | None":
        """The next whole, CRC-checked message from the host, or None."""
        if not self.writes:
            self._poll()
        return self.writes.pop(0) if self.writes else None

    def _poll(self) -> None:
        try:
            data = self._port.read(_READ_CHUNK)  # type: ignore[attr-defined]
        except OSError:
            return
        if not data:
            return
        for b in data:
            if b == 0:
                self._end_frame()
            elif self._rx_len < MAX_FRAME_BYTES:
                self._rx[self._rx_len] = b
                self._rx_len += 1
            else:
                self._rx_overflow = True

    def _end_frame(self) -> None:
        size = self._rx_len
        overflow = self._rx_overflow
        self._rx_len = 0
        self._rx_overflow = False
        if size == 0:
            return  # an empty frame (a leading delimiter) is allowed and means nothing
        n = -1 if overflow else cobs_decode(self._rx, size, self._plain)
        if n < 5:
            self.bad_frames += 1
            return
        plain = self._plain
        crc = plain[n - 4] | (plain[n - 3] << 8) | (plain[n - 2] << 16) | (plain[n - 1] << 24)
        message = bytes(plain[: n - 4])
        if crc32(message) != crc or len(self.writes) >= _MAX_PENDING:
            self.bad_frames += 1
            return
        self.frames_in += 1
        self.writes.append(message)

    # The BleLink calls the controller makes; a wire needs none of them.
    def request_mtu(self) -> None:
        pass

    def set_status(self, message: object) -> None:
        pass
