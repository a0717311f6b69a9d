"""One pod's lossless, in-order sample stream from the messages it sends (transport-independent).

A transport feeds `PodStream.receive` every message from the pod with the host time it arrived,
calls `PodStream.poll` every few tens of milliseconds and writes what it returns to the pod (pings
and resend requests), and reports `link_down` / `link_up`. After every (re)connect it asks the pod
for `GET_INFO` first, so a reboot is seen (new `boot_id`) before anything else of the new boot.
`take_samples` hands out `SampleChunk`s: in-order samples with device and host times.

Sequence numbers (u32 on the wire) are unwrapped to integers per *epoch* (one boot of the pod). A
batch above the next expected number opens a gap; after `request_delay_s` the missing numbers are
asked for again in runs (`RESEND_REQUEST`), at most `requests_per_s` requests per second, retried
every `retry_s` and given up after `give_up_s` of connected time (time with the link down does not
count). `RESEND_UNAVAILABLE` turns the numbers it names into "lost, reported by the pod" at once.
Batches that arrive early wait until the gap before them is filled or given up; a batch already held
or passed (a resend after the original, or an original after its resend) is a duplicate.

A reboot (new epoch: sequence numbers and the device clock restart, and the clock model restarts)
is recognised by any of: a `POD_INFO` with another `boot_id`; a batch more than
`reset_window_batches` below the next expected number; a batch whose device time contradicts its
number (a copy of a known number with another `t_first_us`, or a newer number with an older time);
an `ECHO` whose device time is more than a second older than the newest. The old epoch is closed
first: everything it held is delivered and its open gaps are recorded as lost (`reboot`).

Sample times come from the device: sample k of a batch is at ``t_first_us + k·period_ns/1000``
device µs, mapped to host seconds by the epoch's `ClockModel` when the chunk is released. Chunks
wait until the model is `ready_` (or `clock_wait_s` has passed), and the first ``startup_ping_s`` of
an epoch is pinged every `startup_ping_interval_s` so the model converges quickly. A new epoch
keeps the previous `STREAM_CONFIG` until the pod sends one (the config survives a reboot).

Message types the decoder does not know are counted and skipped (logged once per type);
undecodable messages are counted. Nothing here sleeps: every timeout reads the injected `now_s`.
"""

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from gaitchain.protocol import (
    Echo,
    Ping,
    PodInfo,
    ProtocolError,
    ResendRequest,
    ResendUnavailable,
    SampleBatch,
    SampleFlags,
    Status,
    StreamConfig,
    decode,
    encode,
)

from .clock import ClockModel

FloatArray = NDArray[np.float64]
LossReason = Literal["unavailable", "timeout", "reboot", "end"]

SEQ_MODULUS: Final = 1 << 32
_HALF: Final = 1 << 31
_ECHO_RESET_S: Final = 1.0
STARTUP_PING_INTERVAL_S: Final = 0.05
STARTUP_PING_S: Final = 300.0
PING_INTERVAL_S: Final = 0.5
"""`PodStream`'s ping schedule: every 50 ms for the first 5 minutes of an epoch, then every
0.5 s. The clock model's error where samples are mapped (at the newest exchange, not in the middle
of its window) shrinks about in proportion to the exchanges in its window, and the first minutes
set the drift it extrapolates with; `tests/host/stream/test_clock_replay.py` replays an hour."""

log = logging.getLogger(__name__)


def unwrap_seq(seq32: int, reference: int) -> int:
    """The integer nearest `reference` whose low 32 bits are `seq32`."""
    diff = (seq32 - reference) % SEQ_MODULUS
    if diff >= _HALF:
        diff -= SEQ_MODULUS
    return reference + diff


@dataclass(frozen=True)
class SampleChunk:
    """One batch's samples, in stream order: device µs, host seconds, raw counts.

    `seq` is the batch's wire sequence number, `epoch` counts the pod's boots seen by this stream
    (0 first). `lost_before` is how many samples are missing just before this chunk (lost batches
    and IMU FIFO overruns, from the device-time gap). `config` is the pod's last `STREAM_CONFIG`
    (scales to SI units), None if none arrived yet.
    """

    pod_id: int
    epoch: int
    seq: int
    t_device_us: FloatArray
    t_host_s: FloatArray
    acc_counts: NDArray[np.int16]
    gyr_counts: NDArray[np.int16]
    mag_counts: NDArray[np.int16] | None
    quat_q14: NDArray[np.int16] | None
    flags: SampleFlags
    config: StreamConfig | None
    lost_before: int

    @property
    def count(self) -> int:
        return int(self.t_device_us.shape[0])


@dataclass(frozen=True)
class LostRun:
    """Consecutive batches given up, with why: `unavailable` (the pod said so), `timeout`
    (resends never came), `reboot` (open when the pod rebooted), `end` (open when the stream was
    finished). `samples` is measured from the device-time gap where the next batch is known, else
    the nominal batch size times `batches`."""

    epoch: int
    first_seq: int
    last_seq: int
    batches: int
    samples: int
    reason: LossReason


@dataclass
class StreamCounters:
    """What happened to one pod's stream; every counter covers all epochs (boots).

    - `batches`, `samples`: delivered (released in order) batches and their samples.
    - `duplicates`: batches dropped because their number was already held or passed.
    - `gaps`: distinct runs of consecutive batch numbers that went missing: numbers known to exist
      (a later number arrived, or a `STATUS` named them) that had not arrived `request_delay_s`
      later, so they were asked for, or that were given up without being asked for (a reboot or
      the end of the stream closed them, or the pod reported them unavailable first). A run that
      grows (the next number goes missing too) stays one gap; retries do not count again.
      Numbers a `STATUS` named while their batches were still on the way are not gaps.
    - `gap_batches`: the batch numbers in those gaps (each once).
    - `resend_requests`: `RESEND_REQUEST` messages sent (retries included);
      `resend_requested_batches`: batch numbers in them (a retried number counts again).
    - `resent_received`: batches that arrived flagged `RESENT` (duplicates included).
    - `recovered_batches`: batches of gaps that arrived after all (resent, or a late original).
    - `lost_batches`, `lost_samples`: given up (any `LostRun` reason); of those,
      `lost_batches_reported`, `lost_samples_reported`: reported unavailable by the pod.
    - `overrun_samples`: samples missing between delivered batches without a missing number
      (the IMU's FIFO overran on the pod).
    - `reboots`: new epochs after one with data. `pings`, `echoes`: clock exchanges sent and
      matched; `echoes_unmatched` (no ping waiting), `echoes_out_of_order` (older than the newest).
    - `unknown_types`, `decode_errors`, `version_errors`: messages skipped; `other_messages`:
      decoded messages that carry no samples (replies, `STATUS`, ...).
    """

    batches: int = 0
    samples: int = 0
    duplicates: int = 0
    gaps: int = 0
    gap_batches: int = 0
    resend_requests: int = 0
    resend_requested_batches: int = 0
    resent_received: int = 0
    recovered_batches: int = 0
    lost_batches: int = 0
    lost_samples: int = 0
    lost_batches_reported: int = 0
    lost_samples_reported: int = 0
    overrun_samples: int = 0
    reboots: int = 0
    pings: int = 0
    echoes: int = 0
    echoes_unmatched: int = 0
    echoes_out_of_order: int = 0
    unknown_types: int = 0
    decode_errors: int = 0
    version_errors: int = 0
    other_messages: int = 0


@dataclass
class _Gap:
    deadline_s: float
    request_after_s: float


@dataclass
class _Pending:
    batch: SampleBatch
    t_device_us: FloatArray
    config: StreamConfig | None
    lost_before: int


@dataclass
class _Epoch:
    index: int
    clock: ClockModel
    boot_id: int | None = None
    info: PodInfo | None = None
    config: StreamConfig | None = None
    first_arrival_s: float | None = None
    settled: bool = False
    next_seq: int | None = None
    highest: int = -1
    held: dict[int, SampleBatch] = field(default_factory=dict[int, SampleBatch])
    missing: dict[int, _Gap] = field(default_factory=dict[int, _Gap])
    lost: dict[int, LossReason] = field(default_factory=dict[int, LossReason])
    missed: set[int] = field(default_factory=set[int])
    """Numbers counted in a gap (asked for, or lost unasked) and not yet passed by delivery."""
    from_boot: bool = False
    known_seq: list[int] = field(default_factory=list[int])
    known_t_first: list[int] = field(default_factory=list[int])
    prev_end_us: float | None = None
    pending: list[_Pending] = field(default_factory=list[_Pending])
    pending_since_s: float | None = None
    first_ping_s: float | None = None
    exchanges: list[tuple[float, int, float]] = field(
        default_factory=list[tuple[float, int, float]]
    )

    @property
    def has_data(self) -> bool:
        return self.next_seq is not None or bool(self.exchanges)


class PodStream:
    """Assembly of one pod's stream; see the module docstring for the rules.

    `now_s` is the clock every timeout reads (`time.monotonic` by default; tests inject their own).
    `clock_factory` makes the `ClockModel` of each epoch.
    """

    def __init__(
        self,
        pod_id: int,
        *,
        now_s: Callable[[], float] = time.monotonic,
        request_delay_s: float = 0.05,
        retry_s: float = 0.5,
        give_up_s: float = 10.0,
        requests_per_s: float = 8.0,
        max_request_batches: int = 64,
        reset_window_batches: int = 1024,
        start_backfill_batches: int = 256,
        settle_s: float = 0.5,
        ping_interval_s: float = PING_INTERVAL_S,
        startup_ping_interval_s: float = STARTUP_PING_INTERVAL_S,
        startup_ping_s: float = STARTUP_PING_S,
        ping_timeout_s: float = 5.0,
        clock_wait_s: float = 30.0,
        clock_factory: Callable[[], ClockModel] = ClockModel,
        keep_exchanges: int | None = None,
    ) -> None:
        self.pod_id = pod_id
        self.keep_exchanges = keep_exchanges
        """Keep only about this many newest exchanges per epoch (None: all, as a conversion
        needs; a live view that never converts bounds its memory with it)."""
        self.now_s = now_s
        self.request_delay_s = request_delay_s
        self.retry_s = retry_s
        self.give_up_s = give_up_s
        self.requests_per_s = requests_per_s
        self.max_request_batches = max_request_batches
        self.reset_window_batches = reset_window_batches
        self.start_backfill_batches = start_backfill_batches
        self.settle_s = settle_s
        self.ping_interval_s = ping_interval_s
        self.startup_ping_interval_s = startup_ping_interval_s
        self.startup_ping_s = startup_ping_s
        self.ping_timeout_s = ping_timeout_s
        self.clock_wait_s = clock_wait_s
        self.clock_factory = clock_factory
        self.counters = StreamCounters()
        self.lost_runs: list[LostRun] = []
        self.epochs: list[_Epoch] = [_Epoch(0, clock_factory())]
        self.connected = True
        self.incompatible: str | None = None
        self.status: Status | None = None
        self._out: list[SampleChunk] = []
        self._pings: dict[int, float] = {}
        self._ping_seq = 0
        self._request_seq = 0
        self._next_ping_s = -math.inf
        self._tokens = requests_per_s
        self._tokens_at_s: float | None = None
        self._down_since_s: float | None = None
        self._unknown_logged: set[int] = set()

    # -- public API --------------------------------------------------------------------------
    @property
    def epoch(self) -> _Epoch:
        return self.epochs[-1]

    @property
    def clock(self) -> ClockModel:
        """The clock model of the current epoch."""
        return self.epoch.clock

    def receive(self, data: bytes, host_receive_s: float) -> None:
        """Process one message from the pod, received at `host_receive_s` (host seconds)."""
        try:
            message = decode(data)
        except ProtocolError as error:
            self._count_error(data, error)
            return
        match message:
            case SampleBatch():
                self._on_batch(message, host_receive_s)
            case Echo():
                self._on_echo(message, host_receive_s)
            case ResendUnavailable():
                self._on_unavailable(message, host_receive_s)
            case PodInfo():
                self._on_info(message, host_receive_s)
            case StreamConfig():
                self.epoch.config = message
            case Status():
                self.status = message
                self.counters.other_messages += 1
                self._on_status(message, host_receive_s)
            case _:
                self.counters.other_messages += 1
        self._settle(host_receive_s)
        self._release(host_receive_s)

    def note_sent(self, data: bytes, host_send_s: float) -> None:
        """Record a message written to the pod (a `PING` starts a clock exchange; a transport
        that queues may note a ping again when it goes out, which narrows its send time)."""
        try:
            message = decode(data)
        except ProtocolError:
            return
        if not isinstance(message, Ping):
            return
        if message.seq in self._pings:  # noted when made (`ping`), now written: the later time
            self._pings[message.seq] = max(self._pings[message.seq], host_send_s)
            return
        self._pings[message.seq] = host_send_s
        self.counters.pings += 1
        if self.epoch.first_ping_s is None:
            self.epoch.first_ping_s = host_send_s

    def ping(self, host_send_s: float | None = None) -> bytes:
        """A `PING` to write now (its send time is recorded)."""
        now = self.now_s() if host_send_s is None else host_send_s
        data = encode(Ping(self.pod_id, self._ping_seq))
        self._ping_seq = (self._ping_seq + 1) % SEQ_MODULUS
        self.note_sent(data, now)
        return data

    def poll(self) -> list[bytes]:
        """Handle timeouts; return the messages to write to the pod now (pings, resend requests)."""
        now = self.now_s()
        out: list[bytes] = []
        self._settle(now)
        for seq in [s for s, sent in self._pings.items() if now - sent > self.ping_timeout_s]:
            del self._pings[seq]
        if self.connected:
            self._give_up(now)
            out.extend(self._requests(now))
            if now >= self._next_ping_s:
                out.append(self.ping(now))
                first = self.epoch.first_ping_s
                startup = first is None or now - first < self.startup_ping_s
                interval = self.startup_ping_interval_s if startup else self.ping_interval_s
                late = now - self._next_ping_s
                base = self._next_ping_s if late < interval else now  # keep the cadence
                self._next_ping_s = base + interval
        self._advance(now)
        self._release(now)
        return out

    def link_down(self, now_s: float | None = None) -> None:
        """The link dropped: no requests are made and give-up timers stop until `link_up`."""
        if self.connected:
            self.connected = False
            self._down_since_s = self.now_s() if now_s is None else now_s

    def link_up(self, now_s: float | None = None) -> None:
        """The link is back: give-up deadlines move by the time it was down; retry at once."""
        now = self.now_s() if now_s is None else now_s
        if not self.connected and self._down_since_s is not None:
            down = now - self._down_since_s
            for gap in self.epoch.missing.values():
                gap.deadline_s += down
                gap.request_after_s = min(gap.request_after_s, now)
        self.connected = True
        self._down_since_s = None

    def take_samples(self) -> list[SampleChunk]:
        """Chunks released since the last call, in order."""
        out, self._out = self._out, []
        return out

    def finish(self, now_s: float | None = None) -> list[SampleChunk]:
        """End of stream: open gaps become lost (`end`), everything held and waiting is released."""
        now = self.now_s() if now_s is None else now_s
        self._close_epoch(self.epoch, "end", now)
        return self.take_samples()

    # -- messages ----------------------------------------------------------------------------
    def _count_error(self, data: bytes, error: ProtocolError) -> None:
        counters = self.counters
        if error.kind == "unknown_type":
            counters.unknown_types += 1
            kind = data[1] if len(data) > 1 else -1
            if kind not in self._unknown_logged:
                self._unknown_logged.add(kind)
                log.warning("pod %04x: skipping message type %d (%s)", self.pod_id, kind, error)
        elif error.kind == "version":
            counters.version_errors += 1
            if self.incompatible is None:
                self.incompatible = str(error)
                log.error("pod %04x: %s", self.pod_id, error)
        else:
            counters.decode_errors += 1

    def _on_info(self, info: PodInfo, now: float) -> None:
        epoch = self.epoch
        if epoch.boot_id is not None and info.boot_id != epoch.boot_id:
            epoch = self._new_epoch(now)
        epoch.boot_id = info.boot_id
        epoch.info = info

    def _on_echo(self, echo: Echo, now: float) -> None:
        sent = self._pings.pop(echo.seq, None)
        if sent is None:
            self.counters.echoes_unmatched += 1
            return
        self.counters.echoes += 1
        epoch = self.epoch
        if epoch.exchanges:
            newest = epoch.exchanges[-1][1]
            if echo.t_device_us < newest - _ECHO_RESET_S * 1e6:
                epoch = self._new_epoch(now)
            elif echo.t_device_us <= newest:
                self.counters.echoes_out_of_order += 1
                return
        epoch.exchanges.append((sent, echo.t_device_us, now))
        if self.keep_exchanges is not None and len(epoch.exchanges) > 2 * self.keep_exchanges:
            del epoch.exchanges[: -self.keep_exchanges]
        epoch.clock.update(sent, echo.t_device_us, now)

    def _on_unavailable(self, message: ResendUnavailable, now: float) -> None:
        epoch = self.epoch
        if epoch.next_seq is None:
            return
        first = unwrap_seq(message.first_seq, epoch.next_seq)
        last = first + (message.last_seq - message.first_seq)
        for seq in [s for s in epoch.missing if first <= s <= last]:
            del epoch.missing[seq]
            self._mark_lost(epoch, seq, "unavailable")
        for seq in [s for s in epoch.lost if first <= s <= last]:
            epoch.lost[seq] = "unavailable"
        self._advance(now)

    def _on_batch(self, batch: SampleBatch, now: float) -> None:
        counters = self.counters
        if batch.flags & SampleFlags.RESENT:
            counters.resent_received += 1
        epoch = self.epoch
        if epoch.next_seq is None:
            self._start(epoch, batch, now)
            return
        seq = unwrap_seq(batch.seq, epoch.next_seq)
        if self._is_reboot(epoch, seq, batch):
            epoch = self._new_epoch(now)
            self._start(epoch, batch, now)
            return
        if seq < epoch.next_seq:
            if not epoch.settled and not (epoch.from_boot and seq < 0):
                self._extend_start(epoch, seq, batch, now)
            else:
                counters.duplicates += 1
            return
        if seq in epoch.held:
            counters.duplicates += 1
            return
        self._hold(epoch, seq, batch, now)
        self._advance(now)

    def _on_status(self, status: Status, now: float) -> None:
        """A `STATUS` names the newest batch the pod holds: batches up to it that never arrived
        (lost on the air, and no later batch came to show the gap) are asked for, and are known
        lost if the pod reboots first."""
        epoch = self.epoch
        if epoch.next_seq is None or status.backlog_packets == 0:
            return
        newest32 = (status.backlog_oldest_seq + status.backlog_packets - 1) % SEQ_MODULUS
        newest = unwrap_seq(newest32, epoch.highest)
        if epoch.highest < newest <= epoch.highest + self.reset_window_batches // 4:
            self._open_gap(epoch, range(epoch.highest + 1, newest + 1), now)
            epoch.highest = newest

    # -- sequence bookkeeping ----------------------------------------------------------------
    def _is_reboot(self, epoch: _Epoch, seq: int, batch: SampleBatch) -> bool:
        assert epoch.next_seq is not None
        if seq < epoch.next_seq - self.reset_window_batches:
            return True
        known = self._known_t_first(epoch, seq)
        if known is not None and known != batch.t_first_us:
            return True
        newest = self._known_t_first(epoch, epoch.highest)
        return seq > epoch.highest and newest is not None and batch.t_first_us <= newest

    def _known_t_first(self, epoch: _Epoch, seq: int) -> int | None:
        slot = seq % self.reset_window_batches
        return epoch.known_t_first[slot] if epoch.known_seq[slot] == seq else None

    def _start(self, epoch: _Epoch, batch: SampleBatch, now: float) -> None:
        seq = batch.seq
        epoch.known_seq = [-1] * self.reset_window_batches
        epoch.known_t_first = [0] * self.reset_window_batches
        epoch.first_arrival_s = now
        epoch.next_seq = seq
        epoch.highest = seq
        if seq < self.start_backfill_batches:  # a pod counts from 0 at boot: ask for the start
            epoch.next_seq = 0
            epoch.from_boot = True
            self._open_gap(epoch, range(0, seq), now)
        self._store(epoch, seq, batch)

    def _extend_start(self, epoch: _Epoch, seq: int, batch: SampleBatch, now: float) -> None:
        assert epoch.next_seq is not None
        if seq in epoch.held:
            self.counters.duplicates += 1
            return
        missing = [s for s in range(seq + 1, epoch.next_seq) if s not in epoch.held]
        for s in missing:
            epoch.missing[s] = _Gap(now + self.give_up_s, now + self.request_delay_s)
        epoch.next_seq = seq
        self._store(epoch, seq, batch)

    def _hold(self, epoch: _Epoch, seq: int, batch: SampleBatch, now: float) -> None:
        if seq in epoch.missing:
            del epoch.missing[seq]
        elif seq in epoch.lost:
            del epoch.lost[seq]
        if seq in epoch.missed:
            self.counters.recovered_batches += 1
        if seq > epoch.highest:
            self._open_gap(epoch, range(epoch.highest + 1, seq), now)
            epoch.highest = seq
        self._store(epoch, seq, batch)

    def _store(self, epoch: _Epoch, seq: int, batch: SampleBatch) -> None:
        epoch.held[seq] = batch
        slot = seq % self.reset_window_batches
        epoch.known_seq[slot] = seq
        epoch.known_t_first[slot] = batch.t_first_us

    def _open_gap(self, epoch: _Epoch, seqs: range, now: float) -> None:
        """Numbers known to exist that have not arrived: asked for after `request_delay_s`."""
        for s in seqs:
            epoch.missing[s] = _Gap(now + self.give_up_s, now + self.request_delay_s)

    def _count_missed(self, epoch: _Epoch, seq: int) -> None:
        """`seq` is asked for, or lost, for the first time: a new gap unless it extends one."""
        if seq in epoch.missed:
            return
        if seq - 1 not in epoch.missed and seq + 1 not in epoch.missed:
            self.counters.gaps += 1
        epoch.missed.add(seq)
        self.counters.gap_batches += 1

    def _mark_lost(self, epoch: _Epoch, seq: int, reason: LossReason) -> None:
        self._count_missed(epoch, seq)
        epoch.lost[seq] = reason

    def _settle(self, now: float) -> None:
        epoch = self.epoch
        first = epoch.first_arrival_s
        if not epoch.settled and first is not None and now - first >= self.settle_s:
            epoch.settled = True
            self._advance(now)

    def _advance(self, now: float) -> None:
        """Deliver held batches in order; step over numbers given up."""
        epoch = self.epoch
        if not epoch.settled or epoch.next_seq is None:
            return
        lost_run: list[int] = []
        while True:
            seq = epoch.next_seq
            batch = epoch.held.pop(seq, None)
            if batch is not None:
                self._deliver(epoch, batch, lost_run, now)
                lost_run = []
            elif seq in epoch.lost:
                lost_run.append(seq)
            else:
                break
            epoch.next_seq = seq + 1
        if lost_run:  # lost up to the newest number: wait for the next batch to measure them
            epoch.next_seq = lost_run[0]
        if len(epoch.missed) > 64:  # numbers passed (but the last: a run may go on after it)
            epoch.missed = {s for s in epoch.missed if s >= epoch.next_seq - 1}

    def _deliver(self, epoch: _Epoch, batch: SampleBatch, lost: list[int], now: float) -> None:
        counters = self.counters
        period_us = batch.period_ns / 1000.0
        gap_samples = 0
        if epoch.prev_end_us is not None:
            gap_samples = max(0, round((batch.t_first_us - epoch.prev_end_us) / period_us))
        if lost:
            nominal = epoch.config.samples_per_batch if epoch.config else batch.count
            if epoch.prev_end_us is None:
                gap_samples = nominal * len(lost)
            lost_samples = min(gap_samples, nominal * len(lost))
            self._record_lost(epoch, lost, lost_samples)
            counters.overrun_samples += gap_samples - lost_samples
        elif gap_samples:
            counters.overrun_samples += gap_samples
        t_device_us = batch.t_first_us + np.arange(batch.count, dtype=np.float64) * period_us
        epoch.prev_end_us = batch.t_first_us + batch.count * period_us
        epoch.pending.append(_Pending(batch, t_device_us, epoch.config, gap_samples))
        if epoch.pending_since_s is None:
            epoch.pending_since_s = now
        counters.batches += 1
        counters.samples += batch.count

    def _record_lost(self, epoch: _Epoch, seqs: list[int], samples: int) -> None:
        """Record lost batches as runs of one reason; `samples` is split over the batches."""
        counters = self.counters
        share, extra = divmod(samples, len(seqs))
        start = 0
        for i in range(1, len(seqs) + 1):
            if i < len(seqs) and epoch.lost[seqs[i]] == epoch.lost[seqs[start]]:
                continue
            run = seqs[start:i]
            reason = epoch.lost.pop(run[0])
            for s in run[1:]:
                del epoch.lost[s]
            run_samples = share * len(run) + max(0, min(len(run), extra - start))
            self.lost_runs.append(
                LostRun(
                    epoch.index,
                    run[0] % SEQ_MODULUS,
                    run[-1] % SEQ_MODULUS,
                    len(run),
                    run_samples,
                    reason,
                )
            )
            counters.lost_batches += len(run)
            counters.lost_samples += run_samples
            if reason == "unavailable":
                counters.lost_batches_reported += len(run)
                counters.lost_samples_reported += run_samples
            start = i

    # -- resend requests ---------------------------------------------------------------------
    def _give_up(self, now: float) -> None:
        epoch = self.epoch
        expired = [s for s, gap in epoch.missing.items() if now >= gap.deadline_s]
        for s in expired:
            del epoch.missing[s]
            self._mark_lost(epoch, s, "timeout")

    def _requests(self, now: float) -> list[bytes]:
        epoch = self.epoch
        due = sorted(s for s, gap in epoch.missing.items() if now >= gap.request_after_s)
        if not due:
            return []
        if self._tokens_at_s is not None:
            elapsed = now - self._tokens_at_s
            self._tokens = min(self.requests_per_s, self._tokens + elapsed * self.requests_per_s)
        self._tokens_at_s = now
        out: list[bytes] = []
        runs: list[list[int]] = []
        for s in due:
            if runs and s == runs[-1][-1] + 1 and len(runs[-1]) < self.max_request_batches:
                runs[-1].append(s)
            else:
                runs.append([s])
        for run in runs:
            if self._tokens < 1.0:
                break
            first, last = run[0] % SEQ_MODULUS, run[-1] % SEQ_MODULUS
            pieces = [(first, last)] if first <= last else [(first, SEQ_MODULUS - 1), (0, last)]
            for a, b in pieces:
                out.append(encode(ResendRequest(self.pod_id, self._request_seq, a, b)))
                self._request_seq = (self._request_seq + 1) % SEQ_MODULUS
                self.counters.resend_requests += 1
            self._tokens -= 1.0
            self.counters.resend_requested_batches += len(run)
            for s in run:
                epoch.missing[s].request_after_s = now + self.retry_s
                self._count_missed(epoch, s)
        return out

    # -- epochs and release ------------------------------------------------------------------
    def _new_epoch(self, now: float) -> _Epoch:
        old = self.epoch
        self._close_epoch(old, "reboot", now)
        if old.has_data or old.info is not None:
            self.counters.reboots += 1
        epoch = _Epoch(old.index + 1, self.clock_factory(), config=old.config)
        self.epochs.append(epoch)
        self._pings.clear()
        self._next_ping_s = -math.inf
        return epoch

    def _close_epoch(self, epoch: _Epoch, reason: LossReason, now: float) -> None:
        """Deliver everything held; whatever is still missing is lost for `reason`."""
        epoch.settled = True
        for seq in epoch.missing:
            self._mark_lost(epoch, seq, reason)
        epoch.missing.clear()
        if epoch.next_seq is not None:
            lost_run: list[int] = []
            for seq in range(epoch.next_seq, max([epoch.highest, *epoch.lost]) + 1):
                batch = epoch.held.pop(seq, None)
                if batch is not None:
                    self._deliver(epoch, batch, lost_run, now)
                    lost_run = []
                else:
                    if seq not in epoch.lost:
                        self._mark_lost(epoch, seq, reason)
                    lost_run.append(seq)
            if lost_run:
                nominal = epoch.config.samples_per_batch if epoch.config else 0
                self._record_lost(epoch, lost_run, nominal * len(lost_run))
            epoch.next_seq = max(epoch.next_seq, epoch.highest + 1)
        self._release(now, epoch=epoch, force=True)

    def _release(self, now: float, *, epoch: _Epoch | None = None, force: bool = False) -> None:
        epoch = self.epoch if epoch is None else epoch
        if not epoch.pending:
            return
        since = epoch.pending_since_s
        waited_s = 0.0 if since is None else now - since
        if not (epoch.clock.ready_ or force or waited_s >= self.clock_wait_s):
            return
        clock = epoch.clock
        for p in epoch.pending:
            b = p.batch
            self._out.append(
                SampleChunk(
                    self.pod_id,
                    epoch.index,
                    b.seq,
                    p.t_device_us,
                    clock.to_host_s(p.t_device_us),
                    b.acc_counts,
                    b.gyr_counts,
                    b.mag_counts,
                    b.quat_q14,
                    b.flags,
                    p.config,
                    p.lost_before,
                )
            )
        epoch.pending.clear()
        epoch.pending_since_s = None


class PacketSink(Protocol):
    """Where raw packets go before anything else touches them (a `JournalWriter`)."""

    def received(self, pod_id: int, host_receive_s: float, data: bytes) -> None: ...

    def sent(self, pod_id: int, host_send_s: float, data: bytes) -> None: ...

    def link(self, pod_id: int, host_s: float, up: bool) -> None: ...

    def poll(self) -> None: ...


class StreamAssembler:
    """The streams of several pods, keyed by pod id, with every packet journaled first.

    `receive` writes the packet to `journal` (if any) and only then decodes it; `poll` returns
    ``(pod_id, message)`` pairs to write and journals them as sent. `stream_factory` makes the
    `PodStream` of a pod id seen for the first time (with this assembler's `now_s`).
    """

    def __init__(
        self,
        *,
        now_s: Callable[[], float] = time.monotonic,
        journal: PacketSink | None = None,
        stream_factory: Callable[[int, Callable[[], float]], PodStream] | None = None,
    ) -> None:
        self.now_s = now_s
        self.journal = journal
        self.stream_factory = stream_factory
        self.pods: dict[int, PodStream] = {}
        self.unrouted = 0

    def stream(self, pod_id: int) -> PodStream:
        """The stream of `pod_id`, made on first use."""
        stream = self.pods.get(pod_id)
        if stream is None:
            if self.stream_factory is not None:
                stream = self.stream_factory(pod_id, self.now_s)
            else:
                stream = PodStream(pod_id, now_s=self.now_s)
            self.pods[pod_id] = stream
        return stream

    def receive(
        self, data: bytes, host_receive_s: float, *, link_pod_id: int | None = None
    ) -> None:
        """One message from a pod: journal it, then process it on the stream of its link (or of
        the pod id in its header when the link is not given)."""
        pod_id = link_pod_id
        if pod_id is None and len(data) >= 4:
            pod_id = int.from_bytes(data[2:4], "little")
        if self.journal is not None:
            self.journal.received(-1 if pod_id is None else pod_id, host_receive_s, data)
        if pod_id is None:
            self.unrouted += 1
            return
        self.stream(pod_id).receive(data, host_receive_s)

    def poll(self) -> list[tuple[int, bytes]]:
        """Timeouts of every stream; the messages to write now, journaled as sent."""
        now = self.now_s()
        out: list[tuple[int, bytes]] = []
        for pod_id, stream in self.pods.items():
            for data in stream.poll():
                out.append((pod_id, data))
                if self.journal is not None:
                    self.journal.sent(pod_id, now, data)
        if self.journal is not None:
            self.journal.poll()
        return out

    def sent(self, pod_id: int, data: bytes, host_send_s: float | None = None) -> None:
        """A message the transport wrote to the pod on its own (a command): journaled as sent
        and noted by the pod's stream."""
        now = self.now_s() if host_send_s is None else host_send_s
        if self.journal is not None:
            self.journal.sent(pod_id, now, data)
        self.stream(pod_id).note_sent(data, now)

    def link_down(self, pod_id: int, now_s: float | None = None) -> None:
        now = self.now_s() if now_s is None else now_s
        if self.journal is not None:
            self.journal.link(pod_id, now, False)
        self.stream(pod_id).link_down(now)

    def link_up(self, pod_id: int, now_s: float | None = None) -> None:
        now = self.now_s() if now_s is None else now_s
        if self.journal is not None:
            self.journal.link(pod_id, now, True)
        self.stream(pod_id).link_up(now)

    def take_samples(self) -> list[SampleChunk]:
        """Chunks released by every stream since the last call (per pod in order)."""
        out: list[SampleChunk] = []
        for stream in self.pods.values():
            out.extend(stream.take_samples())
        return out

    def finish(self, now_s: float | None = None) -> list[SampleChunk]:
        """End every stream (see `PodStream.finish`)."""
        now = self.now_s() if now_s is None else now_s
        out: list[SampleChunk] = []
        for stream in self.pods.values():
            out.extend(stream.finish(now))
        return out
