"""Wire protocol 1.3, pod side (docs/protocol.md).

Encodes pod-to-host messages into buffers allocated once, and decodes host-to-pod messages.
The SAMPLES path allocates nothing per sample or per batch: device time and sequence numbers are
packed as 16-bit words, so no long integer is ever built, and the memoryview returned for each
batch length is made when the layout is set.

Device time enters as two small integers, `t_hi` (microseconds >> 24) and `t_lo` (the low 24 bits),
so that MicroPython on a 32-bit chip never needs a long integer for a 64-bit clock.
"""

import struct
from binascii import crc32

from micropython import const

VERSION = const(0x13)
VERSION_MAJOR = const(1)
VERSION_MINOR = const(3)
MAX_MESSAGE_BYTES = const(512)
HEADER_BYTES = const(8)
SAMPLES_PREFIX_BYTES = const(22)
MAX_SAMPLES_PER_BATCH = const(255)

T_POD_INFO = const(1)
T_STREAM_CONFIG = const(2)
T_SAMPLES = const(3)
T_STATUS = const(4)
T_PING = const(5)
T_ECHO = const(6)
T_RESEND_REQUEST = const(7)
T_RESEND_UNAVAILABLE = const(8)
T_COMMAND = const(9)
T_REPLY = const(10)
T_LOG_BLOCK = const(11)
T_ERROR = const(12)
T_LOG_INFO = const(13)

FLAG_MAG = const(1)
FLAG_QUAT = const(2)
FLAG_RESENT = const(4)
FLAG_OVERRUN = const(8)
FLAGS_KNOWN = const(0x0F)

CMD_START = const(1)
CMD_STOP = const(2)
CMD_SET_RATE = const(3)
CMD_SET_ASSIGNMENT = const(4)
CMD_IDENTIFY = const(5)
CMD_REBOOT = const(6)
CMD_ENTER_LOGGING = const(7)
CMD_GET_STATUS = const(8)
CMD_GET_INFO = const(9)
CMD_GET_STREAM_CONFIG = const(10)
CMD_LOG_INFO = const(11)
CMD_LOG_READ = const(12)
CMD_LOG_CONFIRM = const(13)
CMD_SET_TIME = const(14)
CMD_SET_LOG_POLICY = const(15)
CMD_SET_MAX_BATCH = const(16)
LOG_BLOCK_PREFIX_BYTES = const(20)
LOG_BLOCK_TAIL_BYTES = const(14)

# Argument layout of each known command, by code (index 0 unused).
_COMMAND_ARGS = (
    "",
    "",
    "",
    "<H",
    "<BB",
    "<B",
    "",
    "",
    "",
    "",
    "",
    "",
    "<II",
    "<I",
    "<IH",
    "<B",
    "<H",
)

_SAMPLES_PREFIX = "<BBHHHHHHHHHBB"
_ACC_GYR = "<hhhhhh"
_TRIPLE = "<hhh"
_QUAD = "<hhhh"
_HEADER = "<BBHI"


class ProtocolError(ValueError):
    """A host-to-pod message that breaks docs/protocol.md; the pod answers it with ERROR."""


def record_bytes(flags: int) -> int:
    size = 12
    if flags & FLAG_MAG:
        size += 6
    if flags & FLAG_QUAT:
        size += 8
    return size


def split_us(t_us: int) -> tuple[int, int]:
    """Device time in µs as (t_hi, t_lo); for clocks and tests, not the per-sample path."""
    return t_us >> 24, t_us & 0xFFFFFF


class SampleEncoder:
    """SAMPLES messages for one pod, packed into a buffer allocated once.

    Fill records 0..count-1 with `put` (and `put_mag`, `put_quat` if the layout has them), then
    `finish` writes the header and returns a memoryview of the whole message. The view stays valid
    until the next `finish`: send or copy it first.
    """

    def __init__(self, pod_id: int, capacity: int, flags: int = 0) -> None:
        if not 1 <= capacity <= MAX_SAMPLES_PER_BATCH:
            raise ValueError("capacity must be 1 to 255 samples")
        self.pod_id = pod_id
        self.capacity = capacity
        self._buf = bytearray(SAMPLES_PREFIX_BYTES + capacity * record_bytes(FLAG_MAG | FLAG_QUAT))
        self._views: list[memoryview] = []
        self.layout = 0
        self.record_bytes = 12
        self._quat_offset = 12
        self.set_layout(flags)

    def set_layout(self, flags: int) -> None:
        """Choose which optional fields each record carries; allocates, so call it at setup only."""
        self.layout = flags & (FLAG_MAG | FLAG_QUAT)
        self.record_bytes = record_bytes(self.layout)
        self._quat_offset = 18 if self.layout & FLAG_MAG else 12
        whole = memoryview(self._buf)
        step = self.record_bytes
        self._views = [whole[: SAMPLES_PREFIX_BYTES + k * step] for k in range(self.capacity + 1)]

    def put(self, i: int, ax: int, ay: int, az: int, gx: int, gy: int, gz: int) -> None:
        """Accelerometer and gyroscope counts of record `i`."""
        offset = SAMPLES_PREFIX_BYTES + i * self.record_bytes
        struct.pack_into(_ACC_GYR, self._buf, offset, ax, ay, az, gx, gy, gz)

    def copy_axes(self, i: int, field: int, src: bytearray, offset: int) -> None:
        """Copy three little-endian int16 (6 bytes) from `src[offset:]` into record `i`:
        `field` 0 is the accelerometer, 1 the gyroscope. IMU FIFOs hold exactly this layout."""
        dst = self._buf
        at = SAMPLES_PREFIX_BYTES + i * self.record_bytes + 6 * field
        for k in range(6):
            dst[at + k] = src[offset + k]

    def record_counts(self, i: int) -> tuple:
        """Accelerometer and gyroscope counts of record `i` (ax, ay, az, gx, gy, gz)."""
        return struct.unpack_from(_ACC_GYR, self._buf, SAMPLES_PREFIX_BYTES + i * self.record_bytes)

    def put_mag(self, i: int, mx: int, my: int, mz: int) -> None:
        struct.pack_into(
            _TRIPLE, self._buf, SAMPLES_PREFIX_BYTES + i * self.record_bytes + 12, mx, my, mz
        )

    def put_quat(self, i: int, w: int, x: int, y: int, z: int) -> None:
        """Orientation of record `i` in Q14 (16384 = 1.0)."""
        offset = SAMPLES_PREFIX_BYTES + i * self.record_bytes + self._quat_offset
        struct.pack_into(_QUAD, self._buf, offset, w, x, y, z)

    def finish(
        self,
        seq: int,
        t_hi: int,
        t_lo: int,
        period_ns: int,
        count: int,
        extra_flags: int = 0,
    ) -> memoryview:
        """Write the header for `count` records filled so far; return the message."""
        if not 1 <= count <= self.capacity:
            raise ValueError("count must be 1 to capacity")
        struct.pack_into(
            _SAMPLES_PREFIX,
            self._buf,
            0,
            VERSION,
            T_SAMPLES,
            self.pod_id,
            seq & 0xFFFF,
            (seq >> 16) & 0xFFFF,
            t_lo & 0xFFFF,
            (t_lo >> 16) | ((t_hi & 0xFF) << 8),
            (t_hi >> 8) & 0xFFFF,
            (t_hi >> 24) & 0xFFFF,
            period_ns & 0xFFFF,
            (period_ns >> 16) & 0xFFFF,
            count,
            self.layout | (extra_flags & (FLAG_RESENT | FLAG_OVERRUN)),
        )
        return self._views[count]


class MessageEncoder:
    """The other pod-to-host messages, each packed into one shared buffer.

    Each method returns a memoryview that stays valid until the next call: send it first.
    """

    def __init__(self, pod_id: int) -> None:
        self.pod_id = pod_id
        self._buf = bytearray(MAX_MESSAGE_BYTES)
        self._mv = memoryview(self._buf)

    def _head(self, message_type: int, seq: int) -> None:
        struct.pack_into(_HEADER, self._buf, 0, VERSION, message_type, self.pod_id, seq)

    def _body(self, message_type: int, seq: int, fmt: str, *fields: object) -> memoryview:
        self._head(message_type, seq)
        struct.pack_into(fmt, self._buf, HEADER_BYTES, *fields)
        return self._mv[: HEADER_BYTES + struct.calcsize(fmt)]

    def pod_info(
        self,
        seq: int,
        capabilities: int,
        boot_id: int,
        fw_major: int,
        fw_minor: int,
        fw_patch: int,
        segment: int,
        side: int,
        imu_chip: int,
    ) -> memoryview:
        return self._body(
            T_POD_INFO,
            seq,
            "<IIBBBBBB",
            capabilities,
            boot_id,
            fw_major,
            fw_minor,
            fw_patch,
            segment,
            side,
            imu_chip,
        )

    def stream_config(
        self,
        seq: int,
        rate_hz: int,
        acc_scale: float,
        gyr_scale: float,
        mag_scale: float,
        content: int,
        samples_per_batch: int,
    ) -> memoryview:
        return self._body(
            T_STREAM_CONFIG,
            seq,
            "<HfffBB",
            rate_hz,
            acc_scale,
            gyr_scale,
            mag_scale,
            content,
            samples_per_batch,
        )

    def status(
        self,
        seq: int,
        battery_pct: int,
        battery_mv: int,
        flags: int,
        fifo_overruns: int,
        samples_lost: int,
        backlog_packets: int,
        backlog_oldest_seq: int,
        uptime_s: int,
    ) -> memoryview:
        return self._body(
            T_STATUS,
            seq,
            "<BHHIIHII",
            battery_pct,
            battery_mv,
            flags,
            fifo_overruns,
            samples_lost,
            backlog_packets,
            backlog_oldest_seq,
            uptime_s,
        )

    def echo(self, seq: int, t_hi: int, t_lo: int) -> memoryview:
        return self._body(
            T_ECHO,
            seq,
            "<HHHH",
            t_lo & 0xFFFF,
            (t_lo >> 16) | ((t_hi & 0xFF) << 8),
            (t_hi >> 8) & 0xFFFF,
            (t_hi >> 24) & 0xFFFF,
        )

    def resend_unavailable(self, seq: int, first_seq: int, last_seq: int) -> memoryview:
        return self._body(T_RESEND_UNAVAILABLE, seq, "<II", first_seq, last_seq)

    def reply(self, seq: int, command: int, result: int) -> memoryview:
        return self._body(T_REPLY, seq, "<BB", command, result)

    def log_block(
        self,
        seq: int,
        block_index: int,
        record_size: int,
        record_format: int,
        records: object,
        boot_id: int,
        t_s: int,
        t_ms_flags: int,
        first_record: int,
        block_records: int,
    ) -> memoryview:
        """A LOG_BLOCK of `records` (whole records: all of a block of `block_records`, or those
        from `first_record` on) with their CRC-32 and the block's boot and start time."""
        size = len(records)  # type: ignore[arg-type]
        count = size // record_size if record_size else 0
        end = LOG_BLOCK_PREFIX_BYTES + size
        if count * record_size != size or end + LOG_BLOCK_TAIL_BYTES > MAX_MESSAGE_BYTES:
            raise ValueError("records must be whole records and fit one message")
        self._head(T_LOG_BLOCK, seq)
        crc = crc32(records)  # type: ignore[arg-type]
        buf = self._buf
        struct.pack_into(
            "<IIHBB", buf, HEADER_BYTES, block_index, crc, count, record_size, record_format
        )
        buf[LOG_BLOCK_PREFIX_BYTES:end] = records  # type: ignore[index]
        struct.pack_into("<IIHHH", buf, end, boot_id, t_s, t_ms_flags, first_record, block_records)
        return self._mv[: end + LOG_BLOCK_TAIL_BYTES]

    def log_info(
        self,
        seq: int,
        oldest_seq: int,
        next_seq: int,
        confirmed_seq: int,
        used_bytes: int,
        capacity_bytes: int,
        records_dropped: int,
        records_overwritten: int,
        boot_id: int,
        clock_ms: int,
        policy: int,
        flags: int,
        record_format: int,
        record_size: int,
        log_id: int,
    ) -> memoryview:
        return self._body(
            T_LOG_INFO,
            seq,
            "<IIIIIIIIIBBBBI",
            oldest_seq,
            next_seq,
            confirmed_seq,
            used_bytes,
            capacity_bytes,
            records_dropped,
            records_overwritten,
            boot_id,
            clock_ms,
            policy,
            flags,
            record_format,
            record_size,
            log_id,
        )

    def error(self, seq: int, code: int, text: str) -> memoryview:
        raw = text.encode()
        size = min(len(raw), MAX_MESSAGE_BYTES - HEADER_BYTES - 2)
        self._head(T_ERROR, seq)
        struct.pack_into("<BB", self._buf, HEADER_BYTES, code, size)
        self._buf[HEADER_BYTES + 2 : HEADER_BYTES + 2 + size] = raw[:size]
        return self._mv[: HEADER_BYTES + 2 + size]


def decode_request(data: bytes | bytearray | memoryview) -> tuple[int, int, int, int, int, int]:
    """Decode a host-to-pod message as (type, pod_id, seq, a, b, c).

    PING: a = b = c = 0. RESEND_REQUEST: a = first_seq, b = last_seq. COMMAND: a = command code,
    b and c its arguments (0 when absent). An unknown command code decodes with b = c = 0 so the
    pod can answer UNSUPPORTED. Anything else raises ProtocolError with the reason.
    """
    size = len(data)
    if size < HEADER_BYTES:
        raise ProtocolError("truncated: %d bytes, a header is 8" % size)
    if size > MAX_MESSAGE_BYTES:
        raise ProtocolError("oversized: %d bytes, at most 512" % size)
    version, message_type, pod_id, seq = struct.unpack_from(_HEADER, data, 0)
    if version >> 4 != VERSION_MAJOR:
        raise ProtocolError(
            "version: protocol %d.%d, this pod speaks 1.%d"
            % (version >> 4, version & 15, VERSION_MINOR)
        )
    newer = (version & 15) > VERSION_MINOR
    body = size - HEADER_BYTES
    if message_type == T_PING:
        _check_body(body, 0, newer)
        return T_PING, pod_id, seq, 0, 0, 0
    if message_type == T_RESEND_REQUEST:
        _check_body(body, 8, newer)
        first, last = struct.unpack_from("<II", data, HEADER_BYTES)
        if first > last:
            raise ProtocolError("corrupted: resend range runs backwards")
        return T_RESEND_REQUEST, pod_id, seq, first, last, 0
    if message_type == T_COMMAND:
        if body < 1:
            raise ProtocolError("truncated: COMMAND without a command code")
        code = data[HEADER_BYTES]
        if code >= len(_COMMAND_ARGS) or code == 0:
            return T_COMMAND, pod_id, seq, code, 0, 0
        fmt = _COMMAND_ARGS[code]
        _check_body(body, 1 + struct.calcsize(fmt), newer)
        if fmt == "<H":
            return (
                T_COMMAND,
                pod_id,
                seq,
                code,
                struct.unpack_from(fmt, data, HEADER_BYTES + 1)[0],
                0,
            )
        if fmt == "<BB":
            return T_COMMAND, pod_id, seq, code, data[HEADER_BYTES + 1], data[HEADER_BYTES + 2]
        if fmt == "<B":
            return T_COMMAND, pod_id, seq, code, data[HEADER_BYTES + 1], 0
        if fmt == "<II":
            first, second = struct.unpack_from(fmt, data, HEADER_BYTES + 1)
            return T_COMMAND, pod_id, seq, code, first, second
        if fmt == "<IH":
            first, second = struct.unpack_from(fmt, data, HEADER_BYTES + 1)
            return T_COMMAND, pod_id, seq, code, first, second
        if fmt == "<I":
            return (
                T_COMMAND,
                pod_id,
                seq,
                code,
                struct.unpack_from(fmt, data, HEADER_BYTES + 1)[0],
                0,
            )
        return T_COMMAND, pod_id, seq, code, 0, 0
    if message_type == 0:
        raise ProtocolError("corrupted: message type 0 is reserved")
    raise ProtocolError("unknown_type: message type %d is not a host-to-pod message" % message_type)


def _check_body(body: int, expected: int, newer: bool) -> None:
    if body < expected:
        raise ProtocolError("truncated: body of %d bytes, expected %d" % (body, expected))
    if body > expected and not newer:
        raise ProtocolError("oversized: body of %d bytes, expected %d" % (body, expected))
