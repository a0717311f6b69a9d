"""The host codec against the golden vectors that the firmware suite reads too."""

import math
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
from gaitchain.protocol import Message, ProtocolError, SampleBatch, decode, encode, spec


def _as_plain(value: object) -> object:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple):
        return list(cast(tuple[object, ...], value))
    return value


def _assert_fields(message: Message, fields: dict[str, Any]) -> None:
    for name, expected in fields.items():
        actual = _as_plain(getattr(message, name))
        if isinstance(expected, float):
            assert math.isclose(float(actual), expected, rel_tol=1e-7), name  # type: ignore[arg-type]
        else:
            assert actual == expected, name
    if isinstance(message, SampleBatch):
        assert (message.mag_counts is None) == ("mag_counts" not in fields)
        assert (message.quat_q14 is None) == ("quat_q14" not in fields)


def test_every_message_type_has_a_golden_vector(golden: dict[str, Any]) -> None:
    types = {vector["type"] for vector in golden["valid"]}
    assert types == {
        "PodInfo",
        "StreamConfig",
        "SampleBatch",
        "Status",
        "Ping",
        "Echo",
        "ResendRequest",
        "ResendUnavailable",
        "Command",
        "Reply",
        "LogBlock",
        "ErrorReport",
        "LogInfo",
    }


def test_decode_gives_the_golden_fields(golden: dict[str, Any]) -> None:
    for vector in golden["valid"]:
        message = decode(bytes.fromhex(vector["hex"]))
        assert type(message).__name__ == vector["type"], vector["name"]
        _assert_fields(message, vector["fields"])


def test_encode_gives_the_golden_bytes(golden: dict[str, Any]) -> None:
    for vector in golden["valid"]:
        if vector.get("decode_only"):
            continue
        data = bytes.fromhex(vector["hex"])
        assert encode(decode(data)) == data, vector["name"]


def test_invalid_vectors_raise_the_named_kind(golden: dict[str, Any]) -> None:
    for vector in golden["invalid"]:
        with pytest.raises(ProtocolError) as caught:
            decode(bytes.fromhex(vector["hex"]))
        assert caught.value.kind == vector["kind"], vector["name"]
        assert len(str(caught.value)) > 30, "the message must say what was wrong"


def test_spec_example_bytes_are_the_first_golden_vector(golden: dict[str, Any]) -> None:
    """docs/protocol.md spells this message out byte by byte; keep the page and the file in step."""
    page = (Path(__file__).resolve().parents[3] / "docs" / "protocol.md").read_text()
    block = page.split("## Example: one `SAMPLES` message, byte by byte")[1].split("```")[1]
    vector = next(v for v in golden["valid"] if v["name"] == "samples_two_six_axis")
    dumped = "".join("".join(line.split("  ")[0].split()) for line in block.strip().splitlines())
    assert dumped == vector["hex"]


def test_batch_size_follows_the_mtu() -> None:
    assert spec.DEFAULT_SAMPLES_PER_BATCH == 18
    assert spec.samples_per_notification(185) == 13
    assert spec.samples_per_notification(247, spec.SampleFlags.MAG | spec.SampleFlags.QUAT) == 8
    assert spec.samples_per_notification(37) == 1
    assert spec.samples_per_notification(23) == 0
    assert spec.samples_per_notification(1000) == (512 - 22) // 12
