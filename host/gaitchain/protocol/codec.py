"""Encode and decode single messages of protocol 1.2 (docs/protocol.md).

`decode` raises `ProtocolError` and nothing else for any input bytes. `encode` is used by the host
for host-to-pod messages and by emulation and tests for the rest.
"""

import binascii
import math
import struct
from collections.abc import Callable
from enum import IntEnum
from typing import Final, TypeVar

import numpy as np

from .errors import ProtocolError
from .messages import (
    Command,
    Echo,
    ErrorReport,
    LogBlock,
    LogInfo,
    Message,
    Ping,
    PodInfo,
    Reply,
    ResendRequest,
    ResendUnavailable,
    SampleBatch,
    Status,
    StreamConfig,
)
from .spec import (
    CAPABILITIES_KNOWN,
    COMMAND_ARGS,
    HEADER,
    LOG_FLAGS_KNOWN,
    MAX_MESSAGE_BYTES,
    MAX_SAMPLES_PER_BATCH,
    SAMPLE_FLAGS_KNOWN,
    SAMPLES_HEAD,
    STATUS_FLAGS_KNOWN,
    VERSION_BYTE,
    VERSION_MAJOR,
    VERSION_MINOR,
    Capability,
    CommandCode,
    CommandResult,
    ErrorCode,
    ImuChip,
    LogFlags,
    LogPolicy,
    MessageType,
    SampleFlags,
    Segment,
    Side,
    StatusFlags,
    record_bytes,
)

POD_INFO_BODY: Final = struct.Struct("<IIBBBBBB")
STREAM_CONFIG_BODY: Final = struct.Struct("<HfffBB")
STATUS_BODY: Final = struct.Struct("<BHHIIHII")
ECHO_BODY: Final = struct.Struct("<Q")
SEQ_RANGE_BODY: Final = struct.Struct("<II")
COMMAND_HEAD: Final = struct.Struct("<B")
REPLY_BODY: Final = struct.Struct("<BB")
LOG_BLOCK_HEAD: Final = struct.Struct("<IIHBB")
LOG_BLOCK_TAIL: Final = struct.Struct("<IIHHH")
"""Since 1.1, after the records: boot_id, t_start_s, t_start_ms_flags, first_record,
block_records."""
LOG_INFO_BODY_1_1: Final = struct.Struct("<IIIIIIIIIBBBB")
LOG_INFO_BODY: Final = struct.Struct("<IIIIIIIIIBBBBI")
"""Since 1.2, log_id appended."""
ERROR_HEAD: Final = struct.Struct("<BB")
EMPTY_BODY: Final = struct.Struct("<")

BATTERY_UNKNOWN: Final = 255
CONTENT_BITS: Final = SampleFlags.MAG | SampleFlags.QUAT

Buffer = bytes | bytearray | memoryview


def _corrupted(message: str) -> ProtocolError:
    return ProtocolError("corrupted", message)


E = TypeVar("E", bound=IntEnum)


def _enum(enum: type[E], value: int, what: str) -> E:
    try:
        return enum(value)
    except ValueError:
        known = ", ".join(f"{m.value} {m.name}" for m in enum)
        raise _corrupted(f"{what} {value} is not one of {known}") from None


class _Body:
    """The bytes after the header, with the length rules of docs/protocol.md "Version"."""

    def __init__(self, data: memoryview, name: str, newer_minor: bool, minor: int = 0) -> None:
        self.data = data
        self.name = name
        self.newer_minor = newer_minor
        self.minor = minor

    def need(self, size: int, what: str) -> None:
        if len(self.data) < size:
            raise ProtocolError(
                "truncated",
                f"{self.name} needs {size} bytes of {what} after the header but has "
                f"{len(self.data)}; the message was cut short, so the link or file lost bytes",
            )

    def end(self, size: int) -> None:
        """Check the body is exactly `size` bytes (longer is fine from a newer minor version)."""
        self.need(size, "body")
        if len(self.data) > size and not self.newer_minor:
            raise ProtocolError(
                "oversized",
                f"{self.name} in protocol 1.{VERSION_MINOR} has {size} bytes after the header but "
                f"this one has {len(self.data)}; it is not a single well-formed message",
            )

    def fixed(self, layout: struct.Struct) -> tuple[int, ...]:
        self.end(layout.size)
        return layout.unpack_from(self.data)


def _pod_info(pod_id: int, seq: int, body: _Body) -> PodInfo:
    caps, boot_id, fw_major, fw_minor, fw_patch, segment, side, chip = body.fixed(POD_INFO_BODY)
    return PodInfo(
        pod_id,
        seq,
        Capability(caps & CAPABILITIES_KNOWN),
        boot_id,
        fw_major,
        fw_minor,
        fw_patch,
        _enum(Segment, segment, "segment"),
        _enum(Side, side, "side"),
        _enum(ImuChip, chip, "imu_chip"),
    )


def _stream_config(pod_id: int, seq: int, body: _Body) -> StreamConfig:
    rate_hz, acc_scale, gyr_scale, mag_scale, content, per_batch = body.fixed(STREAM_CONFIG_BODY)
    if rate_hz == 0:
        raise _corrupted("STREAM_CONFIG rate_hz is 0; a streaming pod has a positive rate")
    for name, scale in (("acc", acc_scale), ("gyr", gyr_scale), ("mag", mag_scale)):
        if not math.isfinite(scale) or scale < 0 or (scale == 0 and name != "mag"):
            raise _corrupted(f"STREAM_CONFIG {name} scale {scale!r} is not a positive number")
    if content & ~CONTENT_BITS:
        raise _corrupted(f"STREAM_CONFIG content 0x{content:02x} sets bits other than MAG and QUAT")
    if content & SampleFlags.MAG and mag_scale == 0:
        raise _corrupted("STREAM_CONFIG announces magnetometer samples with a mag scale of 0")
    if per_batch == 0:
        raise _corrupted("STREAM_CONFIG samples_per_batch is 0")
    return StreamConfig(
        pod_id, seq, rate_hz, acc_scale, gyr_scale, mag_scale, SampleFlags(content), per_batch
    )


def _samples(pod_id: int, seq: int, body: _Body) -> SampleBatch:
    body.need(SAMPLES_HEAD.size, "batch header")
    t_first_us, period_ns, count, flags = SAMPLES_HEAD.unpack_from(body.data)
    if flags & ~SAMPLE_FLAGS_KNOWN:
        raise _corrupted(
            f"SAMPLES flags 0x{flags:02x} set reserved bits 4-7; a 1.0 receiver cannot know the "
            "record layout, so the pod's firmware is newer or the bytes are damaged"
        )
    if count == 0:
        raise _corrupted("SAMPLES count is 0; a batch holds 1 to 255 samples")
    if period_ns == 0:
        raise _corrupted("SAMPLES period_ns is 0; a pod always measures a positive sample period")
    words_per_record = record_bytes(flags) // 2
    body.end(SAMPLES_HEAD.size + count * words_per_record * 2)
    words = np.frombuffer(
        body.data, dtype="<i2", count=count * words_per_record, offset=SAMPLES_HEAD.size
    ).reshape(count, words_per_record)
    columns = words.astype(np.int16)
    mag = quat = None
    next_column = 6
    if flags & SampleFlags.MAG:
        mag = columns[:, 6:9]
        next_column = 9
    if flags & SampleFlags.QUAT:
        quat = columns[:, next_column : next_column + 4]
    return SampleBatch(
        pod_id,
        seq,
        t_first_us,
        period_ns,
        SampleFlags(flags),
        columns[:, 0:3],
        columns[:, 3:6],
        mag,
        quat,
    )


def _status(pod_id: int, seq: int, body: _Body) -> Status:
    pct, mv, flags, overruns, lost, backlog, oldest, uptime = body.fixed(STATUS_BODY)
    if pct > 100 and pct != BATTERY_UNKNOWN:
        raise _corrupted(f"STATUS battery_pct {pct} is neither 0-100 nor 255 (unknown)")
    return Status(
        pod_id,
        seq,
        pct,
        mv,
        StatusFlags(flags & STATUS_FLAGS_KNOWN),
        overruns,
        lost,
        backlog,
        oldest,
        uptime,
    )


def _ping(pod_id: int, seq: int, body: _Body) -> Ping:
    body.fixed(EMPTY_BODY)
    return Ping(pod_id, seq)


def _echo(pod_id: int, seq: int, body: _Body) -> Echo:
    (t_device_us,) = body.fixed(ECHO_BODY)
    return Echo(pod_id, seq, t_device_us)


def _seq_range(body: _Body) -> tuple[int, int]:
    first, last = body.fixed(SEQ_RANGE_BODY)
    if first > last:
        raise _corrupted(
            f"{body.name} range {first}..{last} runs backwards; send a wrapping range as two"
        )
    return first, last


def _resend_request(pod_id: int, seq: int, body: _Body) -> ResendRequest:
    return ResendRequest(pod_id, seq, *_seq_range(body))


def _resend_unavailable(pod_id: int, seq: int, body: _Body) -> ResendUnavailable:
    return ResendUnavailable(pod_id, seq, *_seq_range(body))


def _command(pod_id: int, seq: int, body: _Body) -> Command:
    body.need(COMMAND_HEAD.size, "command code")
    (raw_code,) = COMMAND_HEAD.unpack_from(body.data)
    try:
        code = CommandCode(raw_code)
    except ValueError:
        raise ProtocolError(
            "unknown_type", f"command code {raw_code} is not known to protocol 1.{VERSION_MINOR}"
        ) from None
    layout = COMMAND_ARGS[code]
    args_body = _Body(body.data[COMMAND_HEAD.size :], f"COMMAND {code.name}", body.newer_minor)
    args: tuple[int, ...] = args_body.fixed(layout)
    if code is CommandCode.SET_RATE and args[0] == 0:
        raise _corrupted("SET_RATE rate_hz is 0")
    if code is CommandCode.SET_ASSIGNMENT:
        _enum(Segment, args[0], "segment")
        _enum(Side, args[1], "side")
    return Command(pod_id, seq, code, args)


def _reply(pod_id: int, seq: int, body: _Body) -> Reply:
    code, result = body.fixed(REPLY_BODY)
    return Reply(
        pod_id,
        seq,
        _enum(CommandCode, code, "REPLY command"),
        _enum(CommandResult, result, "REPLY result"),
    )


def _log_block(pod_id: int, seq: int, body: _Body) -> LogBlock:
    body.need(LOG_BLOCK_HEAD.size, "block header")
    block_index, crc, count, size, record_format = LOG_BLOCK_HEAD.unpack_from(body.data)
    if count and not size:
        raise _corrupted(f"LOG_BLOCK holds {count} records of 0 bytes")
    end = LOG_BLOCK_HEAD.size + count * size
    records = bytes(body.data[LOG_BLOCK_HEAD.size : end])
    tail = (0, 0, 0, 0, count)
    if body.minor >= 1:  # the 1.1 fields follow the records
        body.end(end + LOG_BLOCK_TAIL.size)
        tail = LOG_BLOCK_TAIL.unpack_from(body.data, end)
    else:
        body.end(end)
    actual = binascii.crc32(records)
    if actual != crc:
        raise _corrupted(
            f"LOG_BLOCK {block_index} CRC is 0x{actual:08x}, header says 0x{crc:08x}; "
            "request the block again"
        )
    boot_id, t_s, t_ms_flags, first, total = tail
    if first + count > total:
        raise _corrupted(
            f"LOG_BLOCK {block_index} carries records {first} to {first + count - 1} of a block "
            f"of {total}"
        )
    return LogBlock(
        pod_id,
        seq,
        block_index,
        size,
        record_format,
        records,
        boot_id,
        t_s,
        t_ms_flags,
        first,
        total,
    )


def _log_info(pod_id: int, seq: int, body: _Body) -> LogInfo:
    fields = body.fixed(LOG_INFO_BODY if body.minor >= 2 else LOG_INFO_BODY_1_1)
    (oldest, next_seq, confirmed, used, capacity, dropped, overwritten, boot_id, clock_ms) = fields[
        :9
    ]
    policy, flags, record_format, record_size = fields[9:13]
    log_id = fields[13] if len(fields) > 13 else 0
    return LogInfo(
        pod_id,
        seq,
        oldest,
        next_seq,
        confirmed,
        used,
        capacity,
        dropped,
        overwritten,
        boot_id,
        clock_ms,
        _enum(LogPolicy, policy, "LOG_INFO policy"),
        LogFlags(flags & LOG_FLAGS_KNOWN),
        record_format,
        record_size,
        log_id,
    )


def _error(pod_id: int, seq: int, body: _Body) -> ErrorReport:
    body.need(ERROR_HEAD.size, "error header")
    code, length = ERROR_HEAD.unpack_from(body.data)
    body.end(ERROR_HEAD.size + length)
    raw = bytes(body.data[ERROR_HEAD.size : ERROR_HEAD.size + length])
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise _corrupted("ERROR text is not ASCII") from None
    return ErrorReport(pod_id, seq, _enum(ErrorCode, code, "ERROR code"), text)


_DECODERS: Final[dict[MessageType, Callable[[int, int, _Body], Message]]] = {
    MessageType.POD_INFO: _pod_info,
    MessageType.STREAM_CONFIG: _stream_config,
    MessageType.SAMPLES: _samples,
    MessageType.STATUS: _status,
    MessageType.PING: _ping,
    MessageType.ECHO: _echo,
    MessageType.RESEND_REQUEST: _resend_request,
    MessageType.RESEND_UNAVAILABLE: _resend_unavailable,
    MessageType.COMMAND: _command,
    MessageType.REPLY: _reply,
    MessageType.LOG_BLOCK: _log_block,
    MessageType.ERROR: _error,
    MessageType.LOG_INFO: _log_info,
}


def decode(data: Buffer) -> Message:
    """Decode one message; raise `ProtocolError` (and nothing else) if it is not valid 1.x."""
    view = memoryview(data).cast("B")
    if len(view) < HEADER.size:
        raise ProtocolError(
            "truncated",
            f"{len(view)} bytes is shorter than the {HEADER.size}-byte header of every message",
        )
    if len(view) > MAX_MESSAGE_BYTES:
        raise ProtocolError(
            "oversized",
            f"{len(view)} bytes is longer than the {MAX_MESSAGE_BYTES}-byte limit of one message; "
            "feed messages one at a time",
        )
    version, raw_type, pod_id, seq = HEADER.unpack_from(view)
    major, minor = version >> 4, version & 0x0F
    if major != VERSION_MAJOR:
        raise ProtocolError(
            "version",
            f"protocol {major}.{minor} is not readable by this host (protocol "
            f"{VERSION_MAJOR}.{VERSION_MINOR}); update the pod firmware or gaitchain so they match",
        )
    if raw_type == 0:
        raise _corrupted("message type 0 is reserved and never sent")
    try:
        message_type = MessageType(raw_type)
    except ValueError:
        raise ProtocolError(
            "unknown_type",
            f"message type {raw_type} is not known to protocol 1.{VERSION_MINOR}; "
            "it is skipped (newer firmware may send it)",
        ) from None
    body = _Body(view[HEADER.size :], message_type.name, minor > VERSION_MINOR, minor)
    return _DECODERS[message_type](pod_id, seq, body)


def _header(message_type: MessageType, pod_id: int, seq: int) -> bytes:
    return HEADER.pack(VERSION_BYTE, message_type, pod_id, seq)


def _encode_samples(m: SampleBatch) -> bytes:
    count = m.count
    if not 1 <= count <= MAX_SAMPLES_PER_BATCH:
        raise ValueError(f"a batch holds 1 to {MAX_SAMPLES_PER_BATCH} samples, not {count}")
    columns = [m.acc_counts, m.gyr_counts]
    flags = int(m.flags) & ~int(CONTENT_BITS)
    if m.mag_counts is not None:
        columns.append(m.mag_counts)
        flags |= SampleFlags.MAG
    if m.quat_q14 is not None:
        columns.append(m.quat_q14)
        flags |= SampleFlags.QUAT
    records = np.ascontiguousarray(np.hstack(columns), dtype="<i2")
    if records.shape[0] != count:
        raise ValueError("acc, gyr, mag and quat arrays must have one row per sample")
    head = SAMPLES_HEAD.pack(m.t_first_us, m.period_ns, count, flags)
    return _header(MessageType.SAMPLES, m.pod_id, m.seq) + head + records.tobytes()


def encode(message: Message) -> bytes:
    """Encode one message as version 1.1 bytes; ValueError if it cannot be one valid message."""
    data = _encode(message)
    if len(data) > MAX_MESSAGE_BYTES:
        raise ValueError(
            f"{type(message).__name__} would be {len(data)} bytes, over the "
            f"{MAX_MESSAGE_BYTES}-byte limit of one message; send fewer samples or records"
        )
    return data


def _encode(message: Message) -> bytes:
    match message:
        case SampleBatch():
            return _encode_samples(message)
        case PodInfo():
            body = POD_INFO_BODY.pack(
                message.capabilities,
                message.boot_id,
                message.fw_major,
                message.fw_minor,
                message.fw_patch,
                message.segment,
                message.side,
                message.imu_chip,
            )
            return _header(MessageType.POD_INFO, message.pod_id, message.seq) + body
        case StreamConfig():
            body = STREAM_CONFIG_BODY.pack(
                message.rate_hz,
                message.acc_scale_mps2_per_lsb,
                message.gyr_scale_radps_per_lsb,
                message.mag_scale_ut_per_lsb,
                message.content,
                message.samples_per_batch,
            )
            return _header(MessageType.STREAM_CONFIG, message.pod_id, message.seq) + body
        case Status():
            body = STATUS_BODY.pack(
                message.battery_pct,
                message.battery_mv,
                message.flags,
                message.fifo_overruns,
                message.samples_lost,
                message.backlog_packets,
                message.backlog_oldest_seq,
                message.uptime_s,
            )
            return _header(MessageType.STATUS, message.pod_id, message.seq) + body
        case Ping():
            return _header(MessageType.PING, message.pod_id, message.seq)
        case Echo():
            body = ECHO_BODY.pack(message.t_device_us)
            return _header(MessageType.ECHO, message.pod_id, message.seq) + body
        case ResendRequest():
            body = SEQ_RANGE_BODY.pack(message.first_seq, message.last_seq)
            return _header(MessageType.RESEND_REQUEST, message.pod_id, message.seq) + body
        case ResendUnavailable():
            body = SEQ_RANGE_BODY.pack(message.first_seq, message.last_seq)
            return _header(MessageType.RESEND_UNAVAILABLE, message.pod_id, message.seq) + body
        case Command():
            body = COMMAND_HEAD.pack(message.code) + COMMAND_ARGS[message.code].pack(*message.args)
            return _header(MessageType.COMMAND, message.pod_id, message.seq) + body
        case Reply():
            body = REPLY_BODY.pack(message.code, message.result)
            return _header(MessageType.REPLY, message.pod_id, message.seq) + body
        case LogBlock():
            count = message.record_count
            if count * message.record_size != len(message.records):
                raise ValueError("LOG_BLOCK records must be a whole number of record_size bytes")
            head = LOG_BLOCK_HEAD.pack(
                message.block_index,
                binascii.crc32(message.records),
                count,
                message.record_size,
                message.record_format,
            )
            tail = LOG_BLOCK_TAIL.pack(
                message.boot_id,
                message.t_start_s,
                message.t_start_ms_flags,
                message.first_record,
                message.block_records,
            )
            return (
                _header(MessageType.LOG_BLOCK, message.pod_id, message.seq)
                + head
                + message.records
                + tail
            )
        case LogInfo():
            body = LOG_INFO_BODY.pack(
                message.oldest_seq,
                message.next_seq,
                message.confirmed_seq,
                message.used_bytes,
                message.capacity_bytes,
                message.records_dropped,
                message.records_overwritten,
                message.boot_id,
                message.clock_ms,
                message.policy,
                message.flags,
                message.record_format,
                message.record_size,
                message.log_id,
            )
            return _header(MessageType.LOG_INFO, message.pod_id, message.seq) + body
        case ErrorReport():
            text = message.text.encode("ascii")
            body = ERROR_HEAD.pack(message.code, len(text)) + text
            return _header(MessageType.ERROR, message.pod_id, message.seq) + body
