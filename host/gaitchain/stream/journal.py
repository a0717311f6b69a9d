"""Append-only journal of every packet exchanged with the pods, written before any processing.

File format, version 1 (all integers little-endian):

    header (16 bytes)   magic b"GCJOURNL" | u16 version = 1 | u16 header bytes = 16 | u32 reserved 0
    record, repeated    u32 body_length | u32 crc32(body) (zlib polynomial, binascii.crc32) | body
    body                u8 kind | u8 reserved 0 | u16 pod_id | f64 host_time_s | message bytes

`kind`: 1 `RECEIVED` (a message from the pod; `host_time_s` is when it arrived), 2 `SENT` (a
message written to the pod, `host_time_s` when it was written: pings need it), 3 `LINK_UP`,
4 `LINK_DOWN` (no message bytes). `pod_id` is the pod whose link carried the packet (0xFFFF if
unknown). Host times are the transport's monotonic clock in seconds. The message bytes are exactly
what went over the link (docs/protocol.md).

`JournalWriter` keeps records in memory and writes them with one `os.write` per block: when
`flush_records` records are waiting or the oldest has waited `flush_interval_s` (checked on every
record and on `poll`). A killed process (even `kill -9`) therefore loses at most the block not yet
written; with `fsync=True` each block is also forced to disk (power loss). A record cut short at
the end of the file (the process died inside a write) fails its length or CRC check and is ignored
by `read_journal`, which reports how many bytes it ignored; `JournalWriter(..., append=True)` cuts
such a tail off before appending.

`journal_to_recording` turns a journal into the open recording format without losing a sample:
every pod's stream is replayed through the same `PodStream` as live (so duplicates, order, gaps
and reboots are handled identically; with no timeouts, every batch the journal holds is used),
times come from an offline clock fit per boot over all of its exchanges (`fit_clock_track`), counts
are scaled with the pod's `STREAM_CONFIG`, segment and side come from `POD_INFO`.
"""

import binascii
import math
import os
import struct
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any, Final, Self

import numpy as np
from numpy.typing import NDArray

from gaitchain.io.recording import PodRecording, Recording, write_recording
from gaitchain.protocol import PodInfo, Segment, Side
from gaitchain.protocol.spec import MAX_MESSAGE_BYTES

from .assembly import PodStream, SampleChunk, StreamCounters
from .clock import ClockModel, fit_clock_track

MAGIC: Final = b"GCJOURNL"
VERSION: Final = 1
HEADER: Final = struct.Struct("<8sHHI")
RECORD_HEAD: Final = struct.Struct("<II")
BODY_HEAD: Final = struct.Struct("<BBHd")
MAX_BODY_BYTES: Final = BODY_HEAD.size + MAX_MESSAGE_BYTES
UNKNOWN_POD: Final = 0xFFFF


class RecordKind(IntEnum):
    RECEIVED = 1
    SENT = 2
    LINK_UP = 3
    LINK_DOWN = 4


class JournalError(ValueError):
    """A journal that cannot be read or converted; the message names the file and the fix."""


@dataclass(frozen=True)
class JournalRecord:
    kind: RecordKind
    pod_id: int
    host_s: float
    data: bytes


@dataclass(frozen=True)
class JournalContents:
    """What `read_journal` found: the valid records, and the bytes after them it ignored."""

    records: list[JournalRecord]
    version: int
    valid_bytes: int
    ignored_tail_bytes: int


class JournalWriter:
    """Appends records to a journal file; see the module docstring for format and flushing.

    `now_s` is the clock the flush interval reads (inject one in tests). The file must not exist
    unless `append` is set; then a torn tail is cut off and records are added after the rest.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        flush_interval_s: float = 0.5,
        flush_records: int = 64,
        fsync: bool = False,
        append: bool = False,
        now_s: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self.flush_interval_s = flush_interval_s
        self.flush_records = flush_records
        self.fsync = fsync
        self.now_s = now_s
        self.records_written = 0
        self._buffer = bytearray()
        self._waiting = 0
        self._oldest_s: float | None = None
        if append and self.path.exists():
            valid = read_journal(self.path).valid_bytes
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
            os.ftruncate(self._fd, valid)
        else:
            try:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL)
            except FileExistsError:
                raise JournalError(
                    f"{self.path} already exists; choose a new file or pass append=True"
                ) from None
            self._write(HEADER.pack(MAGIC, VERSION, HEADER.size, 0))

    def received(self, pod_id: int, host_receive_s: float, data: bytes) -> None:
        """A message from `pod_id` that arrived at `host_receive_s`."""
        self.add(RecordKind.RECEIVED, pod_id, host_receive_s, data)

    def sent(self, pod_id: int, host_send_s: float, data: bytes) -> None:
        """A message written to `pod_id` at `host_send_s`."""
        self.add(RecordKind.SENT, pod_id, host_send_s, data)

    def link(self, pod_id: int, host_s: float, up: bool) -> None:
        """The link to `pod_id` came up or went down."""
        self.add(RecordKind.LINK_UP if up else RecordKind.LINK_DOWN, pod_id, host_s, b"")

    def add(self, kind: RecordKind, pod_id: int, host_s: float, data: bytes) -> None:
        """Append one record (written with its block, see the module docstring)."""
        pod = UNKNOWN_POD if pod_id < 0 else pod_id
        body = BODY_HEAD.pack(kind, 0, pod, host_s) + data
        self._buffer += RECORD_HEAD.pack(len(body), binascii.crc32(body))
        self._buffer += body
        self._waiting += 1
        if self._oldest_s is None:
            self._oldest_s = self.now_s()
        self.poll()

    def poll(self) -> None:
        """Write the waiting block if it is full or old enough; call it every few 100 ms."""
        if not self._waiting:
            return
        oldest = self._oldest_s
        aged = oldest is not None and self.now_s() - oldest >= self.flush_interval_s
        if self._waiting >= self.flush_records or aged:
            self.flush()

    def flush(self) -> None:
        """Write every waiting record now."""
        if self._buffer:
            self._write(bytes(self._buffer))
            self.records_written += self._waiting
            self._buffer.clear()
            self._waiting = 0
            self._oldest_s = None

    def close(self) -> None:
        if self._fd >= 0:
            self.flush()
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        if self.fsync:
            os.fsync(self._fd)


def iter_records(data: bytes, offset: int) -> Iterator[tuple[int, JournalRecord]]:
    """Records from `offset` on, each with the offset just after it; stops at the first record
    that is cut short or fails its CRC."""
    size = len(data)
    while offset + RECORD_HEAD.size <= size:
        length, crc = RECORD_HEAD.unpack_from(data, offset)
        start = offset + RECORD_HEAD.size
        end = start + length
        if not BODY_HEAD.size <= length <= MAX_BODY_BYTES or end > size:
            return
        body = data[start:end]
        if binascii.crc32(body) != crc:
            return
        kind, _, pod_id, host_s = BODY_HEAD.unpack_from(body)
        try:
            record_kind = RecordKind(kind)
        except ValueError:
            return
        yield end, JournalRecord(record_kind, pod_id, host_s, body[BODY_HEAD.size :])
        offset = end


def read_journal(path: Path | str) -> JournalContents:
    """Every valid record of a journal; a torn or damaged tail is ignored (and counted)."""
    path = Path(path)
    data = path.read_bytes()
    if len(data) < HEADER.size:
        raise JournalError(f"{path} is {len(data)} bytes, shorter than a journal header")
    magic, version, header_bytes, _ = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise JournalError(f"{path} is not a gaitchain journal (no {MAGIC!r} at the start)")
    if version > VERSION:
        raise JournalError(
            f"{path} is journal version {version}; this gaitchain reads up to {VERSION}: update it"
        )
    records: list[JournalRecord] = []
    valid = header_bytes
    for end, record in iter_records(data, header_bytes):
        records.append(record)
        valid = end
    return JournalContents(records, version, valid, len(data) - valid)


class _ExchangeOnlyClock(ClockModel):
    """Replay needs only the exchanges (the offline fit uses them all): skip the live fit."""

    def update(self, host_send_s: float, device_us: float, host_receive_s: float) -> Self:
        self.ready_ = True
        return self


@dataclass(frozen=True)
class ReplayedPod:
    """A pod's stream rebuilt from a journal (finished) and every chunk it released."""

    stream: PodStream
    chunks: list[SampleChunk]


def replay_journal(contents: JournalContents) -> dict[int, ReplayedPod]:
    """Every pod's stream rebuilt from the journal's records, with the same `PodStream` as live
    (timeouts never fire: nothing is given up while the journal still holds it)."""
    now = [0.0]
    pods: dict[int, ReplayedPod] = {}
    for record in contents.records:
        now[0] = record.host_s
        pod = pods.get(record.pod_id)
        if pod is None:
            stream = PodStream(
                record.pod_id, now_s=lambda: now[0], clock_factory=_ExchangeOnlyClock
            )
            pod = pods[record.pod_id] = ReplayedPod(stream, [])
        stream = pod.stream
        match record.kind:
            case RecordKind.RECEIVED:
                stream.receive(record.data, record.host_s)
            case RecordKind.SENT:
                stream.note_sent(record.data, record.host_s)
            case RecordKind.LINK_UP:
                stream.link_up(record.host_s)
            case RecordKind.LINK_DOWN:
                stream.link_down(record.host_s)
        pod.chunks.extend(stream.take_samples())
    for pod in pods.values():
        pod.chunks.extend(pod.stream.finish(now[0]))
    return pods


@dataclass(frozen=True)
class PodTimeline:
    """One pod's samples from a journal, in order, on the host time base, in SI units."""

    pod_id: int
    info: PodInfo | None
    t_host_s: NDArray[np.float64]
    acc_mps2: NDArray[np.float64]
    gyr_radps: NDArray[np.float64]
    mag_ut: NDArray[np.float64] | None
    counters: StreamCounters
    boots: int


def _scaled(counts: list[NDArray[np.int16]], scales: list[float]) -> NDArray[np.float64]:
    """Counts of consecutive chunks times each chunk's scale."""
    out = np.concatenate(counts).astype(np.float64)
    per_sample = np.repeat(np.asarray(scales, dtype=np.float64), [c.shape[0] for c in counts])
    out *= per_sample[:, None]
    return out


def _timeline(replayed: ReplayedPod, *, window_s: float, step_s: float, where: str) -> PodTimeline:
    stream, chunks = replayed.stream, replayed.chunks
    pod = f"{where}: pod {stream.pod_id:04x}"
    times: list[NDArray[np.float64]] = []
    for epoch in stream.epochs:
        mine = [c for c in chunks if c.epoch == epoch.index]
        if not mine:
            continue
        if not epoch.exchanges:
            raise JournalError(
                f"{pod} boot {epoch.index}: no PING/ECHO exchange, so its samples cannot be put on "
                "the host time base; journal pings as SENT records (StreamAssembler does)"
            )
        send, device, receive = zip(*epoch.exchanges, strict=True)
        track = fit_clock_track(send, device, receive, window_s=window_s, step_s=step_s)
        times.append(track.to_host_s(np.concatenate([c.t_device_us for c in mine])))
    if not times:
        raise JournalError(f"{pod} sent no samples")
    missing_config = [c.seq for c in chunks if c.config is None]
    if missing_config:
        raise JournalError(
            f"{pod}: batch {missing_config[0]} came before any STREAM_CONFIG, so its counts have "
            "no scale; the transport must ask GET_STREAM_CONFIG when it connects"
        )
    configs = [c.config for c in chunks if c.config is not None]
    acc = _scaled([c.acc_counts for c in chunks], [f.acc_scale_mps2_per_lsb for f in configs])
    gyr = _scaled([c.gyr_counts for c in chunks], [f.gyr_scale_radps_per_lsb for f in configs])
    mags = [c.mag_counts for c in chunks if c.mag_counts is not None]
    mag = None
    if mags:
        if len(mags) != len(chunks):
            raise JournalError(f"{pod}: magnetometer samples in some batches only")
        mag = _scaled(mags, [f.mag_scale_ut_per_lsb for f in configs])
    info = next((e.info for e in reversed(stream.epochs) if e.info is not None), None)
    t_host_s = np.concatenate(times)
    return PodTimeline(
        stream.pod_id, info, t_host_s, acc, gyr, mag, stream.counters, len(stream.epochs)
    )


def journal_timelines(
    path: Path | str, *, window_s: float = 900.0, step_s: float = 30.0
) -> list[PodTimeline]:
    """Every pod's samples in a journal on the host time base (see `journal_to_recording`)."""
    pods = replay_journal(read_journal(path))
    return [
        _timeline(pod, window_s=window_s, step_s=step_s, where=str(path))
        for _, pod in sorted(pods.items())
        if pod.chunks
    ]


def journal_to_recording(
    path: Path | str,
    *,
    assignments: Mapping[int, tuple[str, str]] | None = None,
    window_s: float = 900.0,
    step_s: float = 30.0,
) -> Recording:
    """A journal as an open-format `Recording` (every sample kept; see the module docstring).

    Times are seconds from `host_time_origin_s` (the first sample of any pod, floored to a whole
    second; kept in the recording's extra keys). `assignments` maps pod id to (segment, side) for
    pods whose `POD_INFO` is missing or unassigned.
    """
    timelines = journal_timelines(path, window_s=window_s, step_s=step_s)
    if not timelines:
        raise JournalError(f"{path} holds no samples")
    origin = math.floor(min(float(t.t_host_s[0]) for t in timelines))
    pods: list[PodRecording] = []
    for timeline in timelines:
        segment, side = _assignment(timeline, assignments, str(path))
        t_s = timeline.t_host_s - origin
        steps = np.diff(t_s)
        if np.any(steps <= 0):
            at = int(np.nonzero(steps <= 0)[0][0])
            raise JournalError(
                f"{path}: pod {timeline.pod_id:04x} sample {at + 1} is at {t_s[at + 1]:.6f} s, "
                f"not after the one before ({t_s[at]:.6f} s); the pod's clock exchanges are "
                "inconsistent (two boots overlapping in time)"
            )
        counters = timeline.counters
        extra: dict[str, Any] = {
            "pod_id": timeline.pod_id,
            "boots": timeline.boots,
            "samples_lost": counters.lost_samples,
            "samples_lost_reported_by_pod": counters.lost_samples_reported,
            "fifo_overrun_samples": counters.overrun_samples,
        }
        name = segment if side == "center" else f"{side}_{segment}"
        pods.append(
            PodRecording(
                f"{name}.csv",
                segment,
                side,
                t_s,
                timeline.acc_mps2,
                timeline.gyr_radps,
                timeline.mag_ut,
                extra,
            )
        )
    extra_top: dict[str, Any] = {"source": "gaitchain journal", "host_time_origin_s": origin}
    return Recording(pods, extra_top)


def _assignment(
    timeline: PodTimeline, assignments: Mapping[int, tuple[str, str]] | None, where: str
) -> tuple[str, str]:
    if assignments is not None and timeline.pod_id in assignments:
        return assignments[timeline.pod_id]
    info = timeline.info
    if info is None or info.segment is Segment.UNASSIGNED:
        raise JournalError(
            f"{where}: pod {timeline.pod_id:04x} has no segment (no POD_INFO, or unassigned); "
            "assign it (SET_ASSIGNMENT) or pass assignments={pod_id: (segment, side)}"
        )
    return info.segment.name.lower(), Side(info.side).name.lower()


def write_journal_recording(
    journal_path: Path | str, directory: Path | str, **options: Any
) -> Path:
    """`journal_to_recording` written with `write_recording`; returns the directory."""
    return write_recording(directory, journal_to_recording(journal_path, **options))
