"""USB serial framing on the host: golden frames, round trips, resynchronisation."""

import json
from pathlib import Path

from gaitchain.link.framing import FrameDecoder, cobs_decode, cobs_encode, encode_frame
from hypothesis import given
from hypothesis import strategies as st

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "framing_v1.json"


def test_golden_frames_encode_and_decode() -> None:
    frames = json.loads(GOLDEN.read_text())["frames"]
    decoder = FrameDecoder()
    for case in frames:
        message, frame = bytes.fromhex(case["message"]), bytes.fromhex(case["frame"])
        assert encode_frame(message) == frame, case["name"]
        assert decoder.feed(frame) == [message]
    assert decoder.bad_frames == 0


@given(st.binary(max_size=512), st.lists(st.integers(1, 64), min_size=1, max_size=20))
def test_any_message_survives_any_chunking(message: bytes, cuts: list[int]) -> None:
    wire = encode_frame(message) + encode_frame(b"next")
    decoder = FrameDecoder()
    got: list[bytes] = []
    at = 0
    for size in cuts * 100:
        if at >= len(wire):
            break
        got += decoder.feed(wire[at : at + size])
        at += size
    got += decoder.feed(wire[at:])
    assert got == ([message] if message else []) + [b"next"]  # an empty frame carries nothing


@given(st.binary(max_size=1100))
def test_cobs_round_trip(data: bytes) -> None:
    encoded = cobs_encode(data)
    assert 0 not in encoded
    assert cobs_decode(encoded) == data


@given(st.binary(min_size=1, max_size=600))
def test_garbage_never_raises_and_the_next_good_frame_is_read(garbage: bytes) -> None:
    decoder = FrameDecoder()
    decoder.feed(garbage)
    assert decoder.feed(b"\x00" + encode_frame(b"\x11\x05ok"))[-1:] == [b"\x11\x05ok"]
