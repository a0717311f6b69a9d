"""One frozen dataclass per message type of protocol 1.1, fields in wire order after the header."""

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from .spec import (
    Capability,
    CommandCode,
    CommandResult,
    ErrorCode,
    ImuChip,
    LogFlags,
    LogPolicy,
    SampleFlags,
    Segment,
    Side,
    StatusFlags,
)


@dataclass(frozen=True)
class PodInfo:
    pod_id: int
    seq: int
    capabilities: Capability
    boot_id: int
    fw_major: int
    fw_minor: int
    fw_patch: int
    segment: Segment
    side: Side
    imu_chip: ImuChip


@dataclass(frozen=True)
class StreamConfig:
    pod_id: int
    seq: int
    rate_hz: int
    acc_scale_mps2_per_lsb: float
    gyr_scale_radps_per_lsb: float
    mag_scale_ut_per_lsb: float
    content: SampleFlags
    samples_per_batch: int


@dataclass(frozen=True)
class SampleBatch:
    """Consecutive samples in counts; sample k was taken at t_first_us + k * period_ns / 1000."""

    pod_id: int
    seq: int
    t_first_us: int
    period_ns: int
    flags: SampleFlags
    acc_counts: NDArray[np.int16]
    gyr_counts: NDArray[np.int16]
    mag_counts: NDArray[np.int16] | None = None
    quat_q14: NDArray[np.int16] | None = field(default=None)

    @property
    def count(self) -> int:
        return int(self.acc_counts.shape[0])


@dataclass(frozen=True)
class Status:
    pod_id: int
    seq: int
    battery_pct: int
    battery_mv: int
    flags: StatusFlags
    fifo_overruns: int
    samples_lost: int
    backlog_packets: int
    backlog_oldest_seq: int
    uptime_s: int


@dataclass(frozen=True)
class Ping:
    pod_id: int
    seq: int


@dataclass(frozen=True)
class Echo:
    pod_id: int
    seq: int
    t_device_us: int


@dataclass(frozen=True)
class ResendRequest:
    pod_id: int
    seq: int
    first_seq: int
    last_seq: int


@dataclass(frozen=True)
class ResendUnavailable:
    pod_id: int
    seq: int
    first_seq: int
    last_seq: int


@dataclass(frozen=True)
class Command:
    pod_id: int
    seq: int
    code: CommandCode
    args: tuple[int, ...] = ()


@dataclass(frozen=True)
class Reply:
    pod_id: int
    seq: int
    code: CommandCode
    result: CommandResult


@dataclass(frozen=True)
class LogBlock:
    """Records of one step-log block (all of it, or `first_record` onwards when a block is
    longer than one message). The fields after `records` came with 1.1; a 1.0 pod sends whole
    blocks without them (decoded as boot 0, time 0, the whole block)."""

    pod_id: int
    seq: int
    block_index: int
    record_size: int
    record_format: int
    records: bytes
    boot_id: int = 0
    t_start_s: int = 0
    t_start_ms_flags: int = 0
    first_record: int = 0
    block_records: int = 0

    @property
    def record_count(self) -> int:
        return len(self.records) // self.record_size if self.record_size else 0


@dataclass(frozen=True)
class LogInfo:
    """The state of a pod's step log (since 1.1); blocks are numbered by `block_index`."""

    pod_id: int
    seq: int
    oldest_seq: int
    next_seq: int
    confirmed_seq: int
    used_bytes: int
    capacity_bytes: int
    records_dropped: int
    records_overwritten: int
    boot_id: int
    clock_ms: int
    policy: LogPolicy
    flags: LogFlags
    record_format: int
    record_size: int
    log_id: int = 0
    """Since 1.2: names the log's block numbering (a new id: the numbering restarted, e.g. the
    flash was erased); 0 from a 1.1 pod, which does not say."""


@dataclass(frozen=True)
class ErrorReport:
    pod_id: int
    seq: int
    code: ErrorCode
    text: str


Message = (
    PodInfo
    | StreamConfig
    | SampleBatch
    | Status
    | Ping
    | Echo
    | ResendRequest
    | ResendUnavailable
    | Command
    | Reply
    | LogBlock
    | ErrorReport
    | LogInfo
)
