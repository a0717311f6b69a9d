"""USB serial framing of protocol messages: COBS(message + CRC-32 LE) then 0x00.

The same framing as the pod's `firmware/pod/serial_link.py` (docs/protocol.md, "USB serial
framing"), written independently so tests cross-check the two.
"""

import binascii
from typing import Final

MAX_MESSAGE_BYTES: Final = 512
CRC_BYTES: Final = 4
MAX_FRAME_BYTES: Final = 520
"""Encoded bytes of the longest frame before its delimiter: 516 plain bytes + COBS overhead."""
COBS_BLOCK: Final = 0xFF


def cobs_encode(data: bytes) -> bytes:
    """COBS encoding of `data` (no zero byte in the result, no delimiter)."""
    out = bytearray()
    block = bytearray()
    for byte in data:
        if byte == 0:
            out.append(len(block) + 1)
            out += block
            block.clear()
            continue
        block.append(byte)
        if len(block) == COBS_BLOCK - 1:
            out.append(COBS_BLOCK)
            out += block
            block.clear()
    out.append(len(block) + 1)
    out += block
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Inverse of `cobs_encode`; ValueError naming the problem for bytes that are not COBS."""
    out = bytearray()
    i = 0
    while i < len(data):
        code = data[i]
        if code == 0:
            raise ValueError(f"COBS frame has a zero byte at offset {i}")
        if i + code > len(data):
            raise ValueError(f"COBS block at offset {i} runs past the end of the frame")
        out += data[i + 1 : i + code]
        i += code
        if code < COBS_BLOCK and i < len(data):
            out.append(0)
    return bytes(out)


def encode_frame(message: bytes) -> bytes:
    """One message as a frame on the wire, delimiter included."""
    if len(message) > MAX_MESSAGE_BYTES:
        raise ValueError(
            f"a message is at most {MAX_MESSAGE_BYTES} bytes, this one is {len(message)}"
        )
    crc = binascii.crc32(message).to_bytes(CRC_BYTES, "little")
    return cobs_encode(message + crc) + b"\x00"


class FrameDecoder:
    """Bytes in (any chunking), whole CRC-checked messages out; bad frames are counted."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.bad_frames = 0
        self.last_error = ""

    def feed(self, data: bytes) -> list[bytes]:
        messages: list[bytes] = []
        self._buffer += data
        while True:
            end = self._buffer.find(0)
            if end < 0:
                if len(self._buffer) > MAX_FRAME_BYTES:  # no delimiter in sight: resynchronise
                    self._reject("a frame longer than 520 bytes")
                    self._buffer.clear()
                return messages
            frame = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            if frame:
                message = self._unframe(frame)
                if message is not None:
                    messages.append(message)

    def _unframe(self, frame: bytes) -> bytes | None:
        if len(frame) > MAX_FRAME_BYTES:
            self._reject(f"a frame of {len(frame)} bytes, over {MAX_FRAME_BYTES}")
            return None
        try:
            plain = cobs_decode(frame)
        except ValueError as error:
            self._reject(str(error))
            return None
        if len(plain) <= CRC_BYTES:
            self._reject(f"a frame of {len(plain)} bytes holds no message")
            return None
        message, crc = plain[:-CRC_BYTES], int.from_bytes(plain[-CRC_BYTES:], "little")
        if binascii.crc32(message) != crc:
            self._reject("a frame whose CRC-32 does not match")
            return None
        return message

    def _reject(self, why: str) -> None:
        self.bad_frames += 1
        self.last_error = why
