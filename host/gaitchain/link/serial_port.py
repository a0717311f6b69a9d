"""A pod on a USB serial port (CDC ACM), through pyserial, framed as `framing` says."""

import serial

from .framing import FrameDecoder, encode_frame
from .transport import LinkLostError

BAUD_RATE = 921_600
"""USB CDC ignores the rate; it matters only for a UART bridge."""
READ_CHUNK_BYTES = 4096


class SerialTransport:
    """`MessageTransport` over a serial port name (`/dev/ttyACM0`, `COM5`) or an open port."""

    def __init__(self, port: "str | serial.Serial") -> None:
        if isinstance(port, str):
            try:
                port = serial.Serial(port, BAUD_RATE, timeout=0)
            except serial.SerialException as error:
                raise OSError(
                    f"cannot open serial port {port}: {error}; check the cable and that no other "
                    "program has the port open"
                ) from error
        self.port = port
        self.decoder = FrameDecoder()

    def send(self, message: bytes) -> None:
        try:
            self.port.write(encode_frame(message))
            self.port.flush()
        except (serial.SerialException, OSError) as error:
            raise LinkLostError(f"serial port {self.port.port}: {error}") from error

    def receive(self, timeout_s: float) -> list[bytes]:
        self.port.timeout = timeout_s
        try:
            first = self.port.read(1)
            if not first:
                return []
            self.port.timeout = 0
            data = first + self.port.read(READ_CHUNK_BYTES)
        except (serial.SerialException, OSError) as error:
            raise LinkLostError(f"serial port {self.port.port}: {error}") from error
        return self.decoder.feed(data)

    def close(self) -> None:
        self.port.close()
