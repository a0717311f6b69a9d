"""USB serial framing on the pod: golden frames from the host, round trips, bad frames."""

import json

from fwtest import unhex
from pod.serial_link import SerialLink, cobs_decode, cobs_encode


def _frames() -> list:
    path = __file__.replace("\\", "/").rsplit("/", 2)[0] + "/golden/framing_v1.json"
    with open(path) as f:
        return json.load(f)["frames"]


class BytePort:
    """A port whose reads return what the test queued, a few bytes at a time."""

    def __init__(self, chunk: int = 7) -> None:
        self.incoming = bytearray()
        self.written = bytearray()
        self.chunk = chunk

    def read(self, n: int) -> bytes:
        take = min(n, self.chunk, len(self.incoming))
        out = bytes(self.incoming[:take])
        self.incoming = self.incoming[take:]
        return out

    def write(self, data: object) -> int:
        self.written += bytes(data)  # type: ignore[call-overload]
        return len(bytes(data))  # type: ignore[call-overload]


def _take_all(link: SerialLink) -> list:
    out = []
    for _ in range(1000):
        message = link.take_write()
        if message is None and not link._port.incoming:  # type: ignore[attr-defined]
            return out
        if message is not None:
            out.append(message)
    return out


def test_pod_frames_messages_exactly_as_the_golden_frames() -> None:
    checked = 0
    for case in _frames():
        port = BytePort()
        link = SerialLink(port)
        assert link.send(unhex(case["message"]))
        assert bytes(port.written) == unhex(case["frame"]), case["name"]
        checked += 1
    assert checked >= 6


def test_pod_reads_golden_frames_in_any_chunking() -> None:
    for chunk in (1, 5, 300):
        port = BytePort(chunk)
        link = SerialLink(port)
        for case in _frames():
            port.incoming += unhex(case["frame"])
        got = _take_all(link)
        assert got == [unhex(c["message"]) for c in _frames()]
        assert link.bad_frames == 0


def test_cobs_round_trip_edge_cases() -> None:
    out = bytearray(1200)
    back = bytearray(1200)
    for data in (b"", b"\x00", b"\x00\x00", b"\x01", bytes(range(1, 255)), bytes(600)):
        n = cobs_encode(data, len(data), out)
        assert all(out[k] for k in range(n))  # no zero byte
        m = cobs_decode(out, n, back)
        assert bytes(back[:m]) == data


def test_damaged_frames_are_counted_and_the_next_frame_is_read() -> None:
    port = BytePort()
    link = SerialLink(port)
    frames = [unhex(c["frame"]) for c in _frames()]
    damaged = bytearray(frames[1])
    damaged[3] ^= 0x40  # a flipped bit: the CRC fails
    port.incoming += b"\x13\x37garbage-before-sync\x00" + damaged + frames[0]
    port.incoming += bytes([0x05]) * 600 + b"\x00" + frames[2]  # an over-long frame
    got = _take_all(link)
    assert got == [unhex(_frames()[0]["message"]), unhex(_frames()[2]["message"])]
    assert link.bad_frames == 3
