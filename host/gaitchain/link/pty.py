"""A pseudo-terminal pair for a virtual pod's USB serial link: the pod holds the master end as a
byte port (reads return at once, writes complete), the host opens `device` with pyserial as it
would open /dev/ttyACM0."""

import os
import select


class PtyPodPort:
    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        self.device = os.ttyname(self.slave)

    def read(self, n: int) -> bytes:
        ready, _, _ = select.select([self.master], [], [], 0)
        return os.read(self.master, n) if ready else b""

    def write(self, data: bytes | bytearray | memoryview) -> int:
        raw = bytes(data)
        done = 0
        while done < len(raw):
            done += os.write(self.master, raw[done:])
        return len(raw)

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)
