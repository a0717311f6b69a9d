"""Constants of wire protocol 1.3: message types, flags, enums, struct layouts, GATT UUIDs.

The normative text is docs/protocol.md; the golden vectors in tests/golden/protocol_v1.json pin
this module and the firmware's encoder to it.
"""

import struct
from enum import IntEnum, IntFlag
from typing import Final

VERSION_MAJOR: Final = 1
VERSION_MINOR: Final = 3
VERSION_BYTE: Final = (VERSION_MAJOR << 4) | VERSION_MINOR

MAX_MESSAGE_BYTES: Final = 512
"""Longest message: the longest ATT attribute value."""

DEFAULT_MTU: Final = 247
NOTIFY_OVERHEAD_BYTES: Final = 3
"""ATT opcode and handle in front of each notified value."""

HEADER: Final = struct.Struct("<BBHI")
SAMPLES_HEAD: Final = struct.Struct("<QIBB")
SAMPLES_PREFIX_BYTES: Final = HEADER.size + SAMPLES_HEAD.size

ACC_GYR_RECORD_BYTES: Final = 12
MAG_RECORD_BYTES: Final = 6
QUAT_RECORD_BYTES: Final = 8
QUAT_ONE: Final = 16384
"""Q14 fixed point: this count is 1.0."""

MAX_SAMPLES_PER_BATCH: Final = 255


class MessageType(IntEnum):
    """The `type` byte of the common header; 0 is reserved."""

    POD_INFO = 1
    STREAM_CONFIG = 2
    SAMPLES = 3
    STATUS = 4
    PING = 5
    ECHO = 6
    RESEND_REQUEST = 7
    RESEND_UNAVAILABLE = 8
    COMMAND = 9
    REPLY = 10
    LOG_BLOCK = 11
    ERROR = 12
    LOG_INFO = 13  # since 1.1


class SampleFlags(IntFlag):
    """Flags of a SAMPLES batch; bits 4-7 are reserved in 1.0."""

    NONE = 0
    MAG = 1 << 0
    QUAT = 1 << 1
    RESENT = 1 << 2
    OVERRUN = 1 << 3


SAMPLE_FLAGS_KNOWN: Final = 0x0F


class Capability(IntFlag):
    """POD_INFO capability bits; unknown bits are ignored."""

    NONE = 0
    MAG = 1 << 0
    QUAT = 1 << 1
    CHIP_QUAT = 1 << 2
    STEP_LOG = 1 << 3
    PEDOMETER = 1 << 4
    SERIAL = 1 << 5
    BATTERY = 1 << 6


CAPABILITIES_KNOWN: Final = 0x7F


class StatusFlags(IntFlag):
    """STATUS flag bits; unknown bits are ignored."""

    NONE = 0
    STREAMING = 1 << 0
    LOGGING = 1 << 1
    CONFIG_DEFAULTED = 1 << 2
    LOW_BATTERY = 1 << 3
    CHARGING = 1 << 4
    LOG_FULL = 1 << 5
    BONDED = 1 << 6
    LOG_ASLEEP = 1 << 7
    """Logging with the IMU inactive (no motion: accelerometer at 15 Hz, the pod asleep)."""


STATUS_FLAGS_KNOWN: Final = 0xFF


class Segment(IntEnum):
    UNASSIGNED = 0
    PELVIS = 1
    THIGH = 2
    SHANK = 3
    FOOT = 4


class Side(IntEnum):
    CENTER = 0
    LEFT = 1
    RIGHT = 2


class ImuChip(IntEnum):
    UNKNOWN = 0
    LSM6DSV16X = 1
    LSM6DSOX = 2
    ICM42688P = 3
    BMI270 = 4


class CommandCode(IntEnum):
    START = 1
    STOP = 2
    SET_RATE = 3
    SET_ASSIGNMENT = 4
    IDENTIFY = 5
    REBOOT = 6
    ENTER_LOGGING = 7
    GET_STATUS = 8
    GET_INFO = 9
    GET_STREAM_CONFIG = 10
    LOG_INFO = 11  # since 1.1
    LOG_READ = 12  # since 1.1
    LOG_CONFIRM = 13  # since 1.1
    SET_TIME = 14  # since 1.1
    SET_LOG_POLICY = 15  # since 1.1
    SET_MAX_BATCH = 16  # since 1.3


COMMAND_ARGS: Final[dict[CommandCode, struct.Struct]] = {
    CommandCode.START: struct.Struct("<"),
    CommandCode.STOP: struct.Struct("<"),
    CommandCode.SET_RATE: struct.Struct("<H"),
    CommandCode.SET_ASSIGNMENT: struct.Struct("<BB"),
    CommandCode.IDENTIFY: struct.Struct("<B"),
    CommandCode.REBOOT: struct.Struct("<"),
    CommandCode.ENTER_LOGGING: struct.Struct("<"),
    CommandCode.GET_STATUS: struct.Struct("<"),
    CommandCode.GET_INFO: struct.Struct("<"),
    CommandCode.GET_STREAM_CONFIG: struct.Struct("<"),
    CommandCode.LOG_INFO: struct.Struct("<"),
    CommandCode.LOG_READ: struct.Struct("<II"),
    CommandCode.LOG_CONFIRM: struct.Struct("<I"),
    CommandCode.SET_TIME: struct.Struct("<IH"),
    CommandCode.SET_LOG_POLICY: struct.Struct("<B"),
    CommandCode.SET_MAX_BATCH: struct.Struct("<H"),
}


class LogPolicy(IntEnum):
    """What a pod does when its step log is full of unconfirmed steps (since 1.1)."""

    STOP = 0
    OVERWRITE = 1


class LogFlags(IntFlag):
    """LOG_INFO flag bits (since 1.1); unknown bits are ignored."""

    NONE = 0
    LOGGING = 1 << 0
    FULL = 1 << 1
    WALL_TIME = 1 << 2


LOG_FLAGS_KNOWN: Final = 0x07
LOG_TIME_WALL: Final = 0x8000
"""Bit 15 of a LOG_BLOCK's t_start_ms_flags: the time is unix time, not the pod's log clock."""
LOG_TIME_MS_MASK: Final = 0x03FF
STEP_RECORD_FORMAT: Final = 1
STEP_RECORD_BYTES: Final = 6


class CommandResult(IntEnum):
    OK = 0
    BAD_ARGUMENT = 1
    UNSUPPORTED = 2
    BUSY = 3
    NOT_BONDED = 4
    FAILED = 5


class ErrorCode(IntEnum):
    MALFORMED = 1
    UNKNOWN_TYPE = 2
    VERSION = 3
    INTERNAL = 4


SERVICE_UUID: Final = "009b5b60-fd97-49d9-84b1-4cf07f3efb76"
INFO_CHAR_UUID: Final = "009b5b61-fd97-49d9-84b1-4cf07f3efb76"
STATUS_CHAR_UUID: Final = "009b5b62-fd97-49d9-84b1-4cf07f3efb76"
DATA_CHAR_UUID: Final = "009b5b63-fd97-49d9-84b1-4cf07f3efb76"
CONTROL_CHAR_UUID: Final = "009b5b64-fd97-49d9-84b1-4cf07f3efb76"

ADV_SERVICE_DATA: Final = struct.Struct("<BBBH")
"""Scan-response service data: segment, side, battery_pct, pod_id."""


def record_bytes(flags: int) -> int:
    """Bytes of one sample record for the MAG and QUAT bits in `flags`."""
    size = ACC_GYR_RECORD_BYTES
    if flags & SampleFlags.MAG:
        size += MAG_RECORD_BYTES
    if flags & SampleFlags.QUAT:
        size += QUAT_RECORD_BYTES
    return size


def samples_per_notification(mtu: int, flags: int = 0) -> int:
    """How many samples fit one notification at `mtu` for the record layout in `flags`.

    0 means the MTU is too small to stream that layout (below 37 bytes for six-axis samples).
    """
    value_bytes = min(mtu - NOTIFY_OVERHEAD_BYTES, MAX_MESSAGE_BYTES)
    fitting = (value_bytes - SAMPLES_PREFIX_BYTES) // record_bytes(flags)
    return max(0, min(MAX_SAMPLES_PER_BATCH, fitting))


DEFAULT_SAMPLES_PER_BATCH: Final = samples_per_notification(DEFAULT_MTU)
