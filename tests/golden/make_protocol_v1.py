"""Write tests/golden/protocol_v1.json: the golden vectors of wire protocol 1.3.

Run once when the protocol changes (`python tests/golden/make_protocol_v1.py`), check the diff
against docs/protocol.md by hand, and commit it. The host decoder and the firmware encoder are
both tested against the committed file, so neither can drift from the other.
"""

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
from gaitchain.protocol import (
    Capability,
    Command,
    CommandCode,
    CommandResult,
    Echo,
    ErrorCode,
    ErrorReport,
    ImuChip,
    LogBlock,
    LogFlags,
    LogInfo,
    LogPolicy,
    Message,
    Ping,
    PodInfo,
    Reply,
    ResendRequest,
    ResendUnavailable,
    SampleBatch,
    SampleFlags,
    Segment,
    Side,
    Status,
    StatusFlags,
    StreamConfig,
    encode,
)

HOST_TO_POD = (Ping, ResendRequest, Command)


def _fields(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in vars(message).items():
        if isinstance(value, np.ndarray):
            out[name] = value.tolist()
        elif isinstance(value, bytes):
            out[name] = value.hex()
        elif isinstance(value, tuple):
            out[name] = list(value)  # pyright: ignore[reportUnknownArgumentType]
        elif value is not None:
            out[name] = int(value) if isinstance(value, int) else value
    return out


def _i16(rows: list[list[int]]) -> np.ndarray[Any, np.dtype[np.int16]]:
    return np.array(rows, dtype=np.int16)


def valid_messages() -> list[tuple[str, Message]]:
    rng = np.random.default_rng(20261123)
    full_acc = rng.integers(-32768, 32768, size=(18, 3)).astype(np.int16)
    full_gyr = rng.integers(-32768, 32768, size=(18, 3)).astype(np.int16)
    records = struct.pack("<HBBBB", 0, 160, 52, 24, 0) + struct.pack(
        "<HBBBB", 1_075, 158, 61, 30, 2
    )
    return [
        (
            "samples_two_six_axis",
            SampleBatch(
                0x0102,
                7,
                1_000_000,
                8_333_333,
                SampleFlags.NONE,
                _i16([[0, 0, 2048], [-1, 1, 2048]]),
                _i16([[0, 0, 0], [10, -10, 0]]),
            ),
        ),
        (
            "samples_default_batch",
            SampleBatch(3, 123_456, 987_654_321, 4_166_667, SampleFlags.NONE, full_acc, full_gyr),
        ),
        (
            "samples_mag_quat_resent_overrun",
            SampleBatch(
                0xFFFF,
                0xFFFFFFFE,
                (1 << 40) + 123,
                16_666_667,
                SampleFlags.RESENT | SampleFlags.OVERRUN | SampleFlags.MAG | SampleFlags.QUAT,
                _i16([[-32768, 32767, 0], [1, 2, 3], [4, 5, 6]]),
                _i16([[7, 8, 9], [-7, -8, -9], [32767, -32768, 1]]),
                _i16([[100, -200, 300], [101, -201, 301], [102, -202, 302]]),
                _i16([[16384, 0, 0, 0], [11585, 11585, 0, 0], [0, 0, 0, -16384]]),
            ),
        ),
        (
            "samples_mag_only",
            SampleBatch(
                9,
                1,
                0,
                2_083_333,
                SampleFlags.MAG,
                _i16([[1, -1, 2]]),
                _i16([[3, -3, 4]]),
                _i16([[-5, 5, -6]]),
            ),
        ),
        (
            "pod_info",
            PodInfo(
                0x0A0B,
                0,
                Capability.MAG
                | Capability.QUAT
                | Capability.CHIP_QUAT
                | Capability.STEP_LOG
                | Capability.BATTERY,
                0xDEADBEEF,
                0,
                3,
                12,
                Segment.SHANK,
                Side.LEFT,
                ImuChip.LSM6DSV16X,
            ),
        ),
        (
            "stream_config",
            StreamConfig(
                0x0A0B,
                1,
                120,
                0.0048828125,
                0.00030517578125,
                0.0625,
                SampleFlags.MAG | SampleFlags.QUAT,
                12,
            ),
        ),
        (
            "status",
            Status(
                0x0A0B,
                42,
                87,
                3_912,
                StatusFlags.STREAMING | StatusFlags.BONDED,
                2,
                37,
                215,
                1_000_100,
                3_600,
            ),
        ),
        (
            "status_battery_unknown",
            Status(5, 0, 255, 0, StatusFlags.CONFIG_DEFAULTED, 0, 0, 0, 0, 1),
        ),
        ("ping", Ping(0x0A0B, 77)),
        ("echo", Echo(0x0A0B, 77, (1 << 33) + 5_000_123)),
        ("resend_request", ResendRequest(0x0A0B, 78, 1_000, 1_017)),
        ("resend_unavailable", ResendUnavailable(0x0A0B, 78, 900, 999)),
        ("command_start", Command(0x0A0B, 79, CommandCode.START)),
        ("command_set_rate", Command(0x0A0B, 80, CommandCode.SET_RATE, (240,))),
        (
            "command_set_assignment",
            Command(0x0A0B, 81, CommandCode.SET_ASSIGNMENT, (Segment.FOOT, Side.RIGHT)),
        ),
        ("command_identify", Command(0x0A0B, 82, CommandCode.IDENTIFY, (5,))),
        ("command_get_info", Command(0x0A0B, 83, CommandCode.GET_INFO)),
        ("reply_not_bonded", Reply(0x0A0B, 80, CommandCode.SET_RATE, CommandResult.NOT_BONDED)),
        (
            "log_block",
            LogBlock(0x0A0B, 5, 12, 6, 1, records, 0x01020304, 1_795_000_000, 0x8000 | 250, 0, 2),
        ),
        (
            "log_block_part",
            LogBlock(0x0A0B, 6, 13, 6, 1, records[6:], 0x01020304, 3_600, 999, 34, 35),
        ),
        ("log_block_empty", LogBlock(0x0A0B, 7, 14, 6, 1, b"", 1, 0, 0, 0, 0)),
        (
            "log_info",
            LogInfo(
                0x0A0B,
                84,
                12,
                57,
                12,
                20_480,
                2_097_152,
                0,
                140,
                0x01020304,
                86_400_123,
                LogPolicy.OVERWRITE,
                LogFlags.LOGGING | LogFlags.WALL_TIME,
                1,
                6,
                0x00C0FFEE,
            ),
        ),
        ("command_log_info", Command(0x0A0B, 84, CommandCode.LOG_INFO)),
        ("command_log_read", Command(0x0A0B, 85, CommandCode.LOG_READ, (12, 0))),
        ("command_log_confirm", Command(0x0A0B, 86, CommandCode.LOG_CONFIRM, (57,))),
        ("command_set_time", Command(0x0A0B, 87, CommandCode.SET_TIME, (1_795_000_000, 250))),
        ("command_set_log_policy", Command(0x0A0B, 88, CommandCode.SET_LOG_POLICY, (1,))),
        ("command_set_max_batch", Command(0x0A0B, 89, CommandCode.SET_MAX_BATCH, (25,))),
        ("error", ErrorReport(0x0A0B, 3, ErrorCode.MALFORMED, "command 4: segment 9 unknown")),
    ]


def _direction(message: Message) -> str:
    return "host_to_pod" if isinstance(message, HOST_TO_POD) else "pod_to_host"


def build() -> dict[str, Any]:
    valid: list[dict[str, Any]] = []
    raw: dict[str, bytes] = {}
    for name, message in valid_messages():
        data = encode(message)
        raw[name] = data
        valid.append(
            {
                "name": name,
                "type": type(message).__name__,
                "direction": _direction(message),
                "hex": data.hex(),
                "fields": _fields(message),
            }
        )
    example = raw["samples_two_six_axis"]
    newer = bytes([0x14]) + example[1:] + b"\xaa\xbb"
    valid.append(
        {
            "name": "samples_from_newer_minor",
            "type": "SampleBatch",
            "direction": "pod_to_host",
            "decode_only": True,
            "hex": newer.hex(),
            "fields": valid[0]["fields"],
        }
    )
    ping_newer = bytes([0x14]) + raw["ping"][1:] + b"\x01"
    valid.append(
        {
            "name": "ping_from_newer_minor",
            "type": "Ping",
            "direction": "host_to_pod",
            "decode_only": True,
            "hex": ping_newer.hex(),
            "fields": next(v["fields"] for v in valid if v["name"] == "ping"),
        }
    )

    log = raw["log_block"]
    # A 1.0 pod sends LOG_BLOCK without the 1.1 fields: read as boot 0, time 0, whole block.
    old_block = bytes([0x10]) + log[1:-14]
    valid.append(
        {
            "name": "log_block_from_1_0",
            "type": "LogBlock",
            "direction": "pod_to_host",
            "decode_only": True,
            "hex": old_block.hex(),
            "fields": {
                "pod_id": 0x0A0B,
                "seq": 5,
                "block_index": 12,
                "records": log[20:-14].hex(),
                "boot_id": 0,
                "first_record": 0,
                "block_records": 2,
            },
        }
    )
    info = raw["log_info"]
    # A 1.1 pod's LOG_INFO has no log_id: read as 0 (the pod does not say).
    info_fields = next(dict(v["fields"]) for v in valid if v["name"] == "log_info")
    info_fields["log_id"] = 0
    valid.append(
        {
            "name": "log_info_from_1_1",
            "type": "LogInfo",
            "direction": "pod_to_host",
            "decode_only": True,
            "hex": (bytes([0x11]) + info[1:-4]).hex(),
            "fields": info_fields,
        }
    )
    bad_crc = bytearray(log)
    bad_crc[-15] ^= 0x01
    flags_at = 21
    reserved_flag = bytearray(example)
    reserved_flag[flags_at] |= 0x10
    zero_count = bytearray(example[:22])
    zero_count[20] = 0
    resend_back = bytearray(raw["resend_request"])
    struct.pack_into("<II", resend_back, 8, 10, 9)
    invalid: list[tuple[str, str, bytes]] = [
        ("short_header", "truncated", example[:5]),
        ("samples_cut_short", "truncated", example[:-1]),
        ("samples_trailing_byte", "oversized", example + b"\x00"),
        ("longer_than_512", "oversized", example + bytes(600)),
        ("major_version_2", "version", bytes([0x20]) + example[1:]),
        ("unknown_type_99", "unknown_type", bytes([0x10, 99]) + example[2:]),
        ("reserved_type_0", "corrupted", bytes([0x10, 0]) + example[2:]),
        ("samples_reserved_flag", "corrupted", bytes(reserved_flag)),
        ("samples_count_zero", "corrupted", bytes(zero_count)),
        ("log_block_bad_crc", "corrupted", bytes(bad_crc)),
        ("ping_trailing_byte", "oversized", raw["ping"] + b"\x00"),
        ("resend_backwards", "corrupted", bytes(resend_back)),
        ("command_set_rate_cut_short", "truncated", raw["command_set_rate"][:-1]),
        ("command_without_code", "truncated", raw["command_start"][:8]),
        ("log_block_without_1_1_fields", "truncated", log[:-14]),
        ("log_block_part_past_the_end", "corrupted", log[:-4] + struct.pack("<HH", 1, 2)),
        ("command_log_read_cut_short", "truncated", raw["command_log_read"][:-1]),
        ("log_info_1_2_without_log_id", "truncated", raw["log_info"][:-4]),
    ]
    host_to_pod_names = {
        "short_header",
        "longer_than_512",
        "major_version_2",
        "reserved_type_0",
        "ping_trailing_byte",
        "resend_backwards",
        "command_set_rate_cut_short",
        "command_without_code",
        "command_log_read_cut_short",
    }
    return {
        "protocol": "1.3",
        "about": "Golden vectors of docs/protocol.md; generated by make_protocol_v1.py.",
        "valid": valid,
        "invalid": [
            {
                "name": name,
                "kind": kind,
                "checked_by_pod": name in host_to_pod_names,
                "hex": data.hex(),
            }
            for name, kind, data in invalid
        ],
    }


if __name__ == "__main__":
    path = Path(__file__).with_name("protocol_v1.json")
    path.write_text(json.dumps(build(), indent=1) + "\n")
    print(f"wrote {path}")
