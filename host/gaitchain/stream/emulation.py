"""Emulated pods on a faulty link, for the stream layer's tests and benchmark (no BLE).

`EmulatedPod` behaves like the firmware as far as the stream is concerned (see
firmware/pod/controller.py and backlog.py): batches of `samples_per_batch` samples stamped with its
own clock (`DeviceClock`: offset, drift, slow drift wander), a backlog of the last
`backlog_batches` batches, batches made while the link is down sent in order once it is up,
resends marked `RESENT`, `RESEND_UNAVAILABLE` for what it no longer holds, pings answered from its
clock, `POD_INFO` and `STREAM_CONFIG` on connect, and a reboot that restarts sequence numbers,
clock and backlog. Every message is made with the `gaitchain.protocol` encoder.

`LinkSimulation` runs pods and a host `StreamAssembler` on one event queue in simulated time, with
`LinkFaults` on every message: random drops, duplicates, extra delay (reordering) and a one-way
delay of ``max_s * u**shape`` (u uniform in [0, 1)) per direction. Each sample's counts encode its
index, so a test can check exactly which samples arrived (`sample_indices`).
"""

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gaitchain.protocol import (
    Capability,
    Echo,
    ImuChip,
    Ping,
    PodInfo,
    ResendRequest,
    ResendUnavailable,
    SampleBatch,
    SampleFlags,
    Segment,
    Side,
    StreamConfig,
    decode,
    encode,
)
from gaitchain.protocol.spec import SAMPLES_PREFIX_BYTES

from ..signals import G_MPS2
from .assembly import SEQ_MODULUS, SampleChunk, StreamAssembler
from .clock import ClockModel, fit_clock_track

FloatArray = NDArray[np.float64]

ACC_SCALE_MPS2_PER_LSB = 0.000488 * G_MPS2
GYR_SCALE_RADPS_PER_LSB = 0.070 * math.pi / 180.0


@dataclass(frozen=True)
class DeviceClock:
    """A pod oscillator: device µs at true host time ``t`` is
    ``offset_us + 1e6·(t·(1 + drift) + wander·P/2π·(1 - cos(2πt/P)))`` with drift and wander in ppm
    (the rate wanders by ±`wander_ppm` with period `wander_period_s`)."""

    offset_us: float
    drift_ppm: float
    wander_ppm: float = 0.0
    wander_period_s: float = 1800.0

    def device_us(self, host_s: ArrayLike) -> FloatArray:
        t = np.asarray(host_s, dtype=np.float64)
        drift, wander = self.drift_ppm * 1e-6, self.wander_ppm * 1e-6
        period = self.wander_period_s
        bend = wander * period / (2 * math.pi) * (1 - np.cos(2 * math.pi * t / period))
        return self.offset_us + 1e6 * (t * (1 + drift) + bend)

    def host_s(self, device_us: ArrayLike) -> FloatArray:
        """True host time of device times (Newton's method; exact to well below a nanosecond)."""
        d = np.asarray(device_us, dtype=np.float64)
        rate = 1 + self.drift_ppm * 1e-6
        t = (d - self.offset_us) * 1e-6 / rate
        for _ in range(3):
            t = t - (self.device_us(t) - d) * 1e-6 / rate
        return t


@dataclass(frozen=True)
class LinkFaults:
    """What the link does to each message (both directions unless named)."""

    drop: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    reorder_delay_s: tuple[float, float] = (0.1, 0.5)
    up_max_s: float = 0.03
    up_shape: float = 1.0
    down_max_s: float = 0.03
    down_shape: float = 1.0


def sample_indices(chunk: SampleChunk) -> NDArray[np.int64]:
    """The per-boot sample index each emulated sample carries in its counts."""
    low = chunk.acc_counts[:, 0].astype(np.int64)
    high = chunk.acc_counts[:, 1].astype(np.int64)
    return low | (high << 15)


@dataclass
class Produced:
    """One batch an emulated pod made: its boot, number, first sample index and count."""

    boot: int
    seq: int
    first_index: int
    count: int
    sent: bool = False


class EmulatedPod:
    """A pod as the stream layer sees it; see the module docstring."""

    def __init__(
        self,
        pod_id: int,
        clock: DeviceClock,
        *,
        rate_hz: int = 120,
        samples_per_batch: int = 18,
        first_seq: int = 0,
        boot_id: int = 1,
        backlog_batches: int = 216,
        segment: Segment = Segment.FOOT,
        side: Side = Side.LEFT,
        start_s: float = 0.0,
    ) -> None:
        self.pod_id = pod_id
        self.rate_hz = rate_hz
        self.samples_per_batch = samples_per_batch
        self.backlog_batches = backlog_batches
        self.segment = segment
        self.side = side
        self.period_ns = round(1e9 / rate_hz)
        self.clocks: list[DeviceClock] = []
        self.produced: list[Produced] = []
        self.forget: set[int] = set()
        """Sequence numbers the pod loses (neither sent nor kept), as a backlog overrun would."""
        self.connected = True
        self._boot(clock, first_seq, boot_id, start_s)

    def _boot(self, clock: DeviceClock, first_seq: int, boot_id: int, start_s: float) -> None:
        self.clocks.append(clock)
        self.boot = len(self.clocks) - 1
        self.boot_id = boot_id
        self.seq = first_seq
        self.unsent_seq = first_seq
        self.backlog: dict[int, bytes] = {}
        self.info_seq = 0
        self.sample_index = 0
        self.t0_us = float(clock.device_us(start_s)) + 10_000.0

    @property
    def clock(self) -> DeviceClock:
        return self.clocks[-1]

    def next_batch_s(self) -> float:
        """Host time at which the next batch is complete (its last sample taken)."""
        last = self.sample_index + self.samples_per_batch - 1
        return float(self.clock.host_s(self.t0_us + last * self.period_ns / 1000.0))

    def make_batch(self) -> list[bytes]:
        """Take the next batch; return what goes on the link now (catch-up included)."""
        n = self.samples_per_batch
        index = self.sample_index + np.arange(n)
        acc = np.stack([index & 0x7FFF, (index >> 15) & 0x7FFF, np.full(n, self.boot)], axis=1)
        gyr = np.stack([-(index & 0x7FFF), np.full(n, self.pod_id & 0x7FFF), np.ones(n)], axis=1)
        t_first_us = round(self.t0_us + self.sample_index * self.period_ns / 1000.0)
        seq = self.seq % SEQ_MODULUS
        batch = SampleBatch(
            self.pod_id,
            seq,
            t_first_us,
            self.period_ns,
            SampleFlags.NONE,
            acc.astype(np.int16),
            gyr.astype(np.int16),
        )
        self.produced.append(Produced(self.boot, seq, self.sample_index, n))
        self.sample_index += n
        self.seq += 1
        if seq not in self.forget:
            self.backlog[self.seq - 1] = encode(batch)
            while len(self.backlog) > self.backlog_batches:
                del self.backlog[next(iter(self.backlog))]
        return self.catch_up()

    def catch_up(self) -> list[bytes]:
        """Batches not yet sent, in order, if connected (what the firmware's service loop does)."""
        out: list[bytes] = []
        if not self.connected:
            return out
        while self.unsent_seq < self.seq:
            data = self.backlog.get(self.unsent_seq)
            if data is not None:
                out.append(data)
                self.produced[self._produced_index(self.unsent_seq)].sent = True
            self.unsent_seq += 1
        return out

    def _produced_index(self, seq: int) -> int:
        return len(self.produced) - (self.seq - seq)

    def hello(self) -> list[bytes]:
        """`POD_INFO` and `STREAM_CONFIG`: what a transport asks for after connecting."""
        info = PodInfo(
            self.pod_id,
            self.info_seq,
            Capability.BATTERY,
            self.boot_id,
            0,
            1,
            0,
            self.segment,
            self.side,
            ImuChip.LSM6DSV16X,
        )
        config = StreamConfig(
            self.pod_id,
            self.info_seq,
            self.rate_hz,
            ACC_SCALE_MPS2_PER_LSB,
            GYR_SCALE_RADPS_PER_LSB,
            0.0,
            SampleFlags.NONE,
            self.samples_per_batch,
        )
        self.info_seq += 1
        return [encode(info), encode(config)]

    def handle(self, data: bytes, now_s: float) -> list[bytes]:
        """Answer one host-to-pod message at true host time `now_s`."""
        message = decode(data)
        if isinstance(message, Ping):
            t_device_us = round(float(self.clock.device_us(now_s)))
            return [encode(Echo(self.pod_id, message.seq, t_device_us))]
        if not isinstance(message, ResendRequest):
            return []
        out: list[bytes] = []
        base = self.seq - ((self.seq - message.first_seq) % SEQ_MODULUS)
        missing_from: int | None = None
        for seq in range(base, base + message.last_seq - message.first_seq + 1):
            stored = self.backlog.get(seq) if seq < self.unsent_seq else None
            if stored is None:
                missing_from = seq if missing_from is None else missing_from
                continue
            if missing_from is not None:
                out.append(self._unavailable(message.seq, missing_from, seq - 1))
                missing_from = None
            resent = bytearray(stored)
            resent[SAMPLES_PREFIX_BYTES - 1] |= SampleFlags.RESENT  # the flags byte
            out.append(bytes(resent))
        if missing_from is not None:
            last = base + message.last_seq - message.first_seq
            out.append(self._unavailable(message.seq, missing_from, last))
        return out

    def _unavailable(self, request_seq: int, first: int, last: int) -> bytes:
        return encode(
            ResendUnavailable(self.pod_id, request_seq, first % SEQ_MODULUS, last % SEQ_MODULUS)
        )

    def reboot(self, boot_id: int, clock: DeviceClock, start_s: float) -> None:
        """Restart: backlog and unsent batches are gone; numbers and the clock start again and
        sampling resumes at `start_s`."""
        self._boot(clock, 0, boot_id, start_s)


@dataclass(order=True)
class _Event:
    time_s: float
    order: int
    kind: str = field(compare=False)
    pod_id: int = field(compare=False)
    data: bytes = field(compare=False, default=b"")


class LinkSimulation:
    """Pods, a faulty link and a host `StreamAssembler` in simulated time (seconds from 0)."""

    def __init__(
        self,
        pods: list[EmulatedPod],
        faults: LinkFaults,
        *,
        seed: int = 0,
        poll_interval_s: float = 0.02,
        assembler: Callable[[Callable[[], float]], StreamAssembler] | None = None,
    ) -> None:
        self.pods = {pod.pod_id: pod for pod in pods}
        self.faults = faults
        self.rng = np.random.default_rng(seed)
        self.poll_interval_s = poll_interval_s
        self.now_s = 0.0
        self.host = (
            assembler(self.clock) if assembler is not None else StreamAssembler(now_s=self.clock)
        )
        self.chunks: list[SampleChunk] = []
        self._queue: list[_Event] = []
        self._order = 0
        for pod in pods:
            self._push(pod.next_batch_s(), "batch", pod.pod_id)
            for data in pod.hello():
                self._to_host(pod.pod_id, data)
        self._push(0.0, "poll", -1)

    def clock(self) -> float:
        """The simulated time: the host's `now_s`."""
        return self.now_s

    def _push(self, time_s: float, kind: str, pod_id: int, data: bytes = b"") -> None:
        self._order += 1
        heapq.heappush(self._queue, _Event(time_s, self._order, kind, pod_id, data))

    def _delay(self, max_s: float, shape: float) -> float:
        delay = max_s * float(self.rng.random()) ** shape
        if self.rng.random() < self.faults.reorder:
            delay += float(self.rng.uniform(*self.faults.reorder_delay_s))
        return delay

    def _send(self, kind: str, pod_id: int, data: bytes, max_s: float, shape: float) -> None:
        if not self.pods[pod_id].connected:
            return
        copies = 2 if self.rng.random() < self.faults.duplicate else 1
        for _ in range(copies):
            if self.rng.random() >= self.faults.drop:
                self._push(self.now_s + self._delay(max_s, shape), kind, pod_id, data)

    def _to_host(self, pod_id: int, data: bytes) -> None:
        f = self.faults
        self._send("to_host", pod_id, data, f.down_max_s, f.down_shape)

    def _to_pod(self, pod_id: int, data: bytes) -> None:
        f = self.faults
        self._send("to_pod", pod_id, data, f.up_max_s, f.up_shape)

    def disconnect(
        self, pod_id: int, at_s: float, duration_s: float, *, reboot_at_s: float | None = None
    ) -> None:
        """Drop the link of `pod_id` at `at_s` for `duration_s`, optionally rebooting the pod."""
        self._push(at_s, "down", pod_id)
        if reboot_at_s is not None:
            self._push(reboot_at_s, "reboot", pod_id)
        self._push(at_s + duration_s, "up", pod_id)

    def stop(self, at_s: float) -> None:
        """Every pod stops sampling at `at_s` (so a run can end with nothing in flight)."""
        self._push(at_s, "stop", -1)

    def run(self, until_s: float) -> list[SampleChunk]:
        """Run to `until_s`; return the chunks the host released meanwhile (also in `chunks`)."""
        released: list[SampleChunk] = []
        while self._queue and self._queue[0].time_s <= until_s:
            event = heapq.heappop(self._queue)
            self.now_s = event.time_s
            self._handle(event)
            released.extend(self.host.take_samples())
        self.now_s = until_s
        self.chunks.extend(released)
        return released

    def finish(self) -> list[SampleChunk]:
        """End the host's streams (open gaps become lost) and return the last chunks."""
        last = self.host.finish()
        self.chunks.extend(last)
        return last

    def _reboot(self, pod: EmulatedPod) -> None:
        """Reboot `pod` now: its clock restarts at 1 ms, sampling resumes a second later."""
        old = pod.clock
        fresh = DeviceClock(0.0, old.drift_ppm, old.wander_ppm, old.wander_period_s)
        offset_us = 1000.0 - float(fresh.device_us(self.now_s))
        clock = DeviceClock(offset_us, old.drift_ppm, old.wander_ppm, old.wander_period_s)
        pod.reboot(pod.boot_id + 1, clock, self.now_s + 1.0)
        self._queue = [e for e in self._queue if not (e.kind == "batch" and e.pod_id == pod.pod_id)]
        heapq.heapify(self._queue)
        self._push(pod.next_batch_s(), "batch", pod.pod_id)

    def _handle(self, event: _Event) -> None:
        pod = self.pods.get(event.pod_id)
        match event.kind:
            case "poll":
                for pod_id, data in self.host.poll():
                    self._to_pod(pod_id, data)
                self._push(self.now_s + self.poll_interval_s, "poll", -1)
            case "to_host" if pod is not None and pod.connected:
                self.host.receive(event.data, self.now_s, link_pod_id=event.pod_id)
            case "to_pod" if pod is not None and pod.connected:
                for data in pod.handle(event.data, self.now_s):
                    self._to_host(pod.pod_id, data)
            case "batch" if pod is not None:
                for data in pod.make_batch():
                    self._to_host(pod.pod_id, data)
                self._push(pod.next_batch_s(), "batch", pod.pod_id)
            case "down" if pod is not None:
                pod.connected = False
                self.host.link_down(pod.pod_id, self.now_s)
            case "up" if pod is not None:
                pod.connected = True
                self.host.link_up(pod.pod_id, self.now_s)
                for data in [*pod.hello(), *pod.catch_up()]:
                    self._to_host(pod.pod_id, data)
            case "reboot" if pod is not None:
                self._reboot(pod)
            case "stop":
                self._queue = [e for e in self._queue if e.kind != "batch"]
                heapq.heapify(self._queue)
            case _:
                pass


@dataclass(frozen=True)
class AlignmentResult:
    """Inter-pod time alignment errors (ms) over all pairs of pods on a common time grid.

    `live`: each sample mapped by the streaming `ClockModel` as it stood when the sample's batch
    arrived (held until the model was ready, as `PodStream` does); `offline`: by `fit_clock_track`
    over all exchanges; `after_s`: from that true time on (after warm-up).
    """

    live_p99_ms: float
    live_max_ms: float
    live_after_p99_ms: float
    offline_p99_ms: float
    offline_max_ms: float
    after_s: float
    pods: int


def _one_way_s(rng: np.random.Generator, n: int, max_s: float, shape: float) -> FloatArray:
    return max_s * rng.random(n) ** shape


def _ping_times(
    duration_s: float, interval_s: float, startup_interval_s: float, startup_s: float
) -> FloatArray:
    startup = np.arange(0.5, min(startup_s, duration_s), startup_interval_s)
    steady_from = startup[-1] + startup_interval_s if startup.size else 0.5
    return np.concatenate([startup, np.arange(steady_from, duration_s, interval_s)])


def pod_clock_errors(
    clock: DeviceClock,
    faults: LinkFaults,
    rng: np.random.Generator,
    *,
    duration_s: float,
    ping_interval_s: float = 1.0,
    startup_ping_interval_s: float = 0.1,
    startup_ping_s: float = 120.0,
    rate_hz: int = 120,
    samples_per_batch: int = 18,
    clock_factory: Callable[[], ClockModel] = ClockModel,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """One pod's true sample times and the live and offline mapping errors (seconds)."""
    sent = _ping_times(duration_s, ping_interval_s, startup_ping_interval_s, startup_ping_s)
    up = _one_way_s(rng, sent.shape[0], faults.up_max_s, faults.up_shape)
    down = _one_way_s(rng, sent.shape[0], faults.down_max_s, faults.down_shape)
    echo_us = np.round(clock.device_us(sent + up))
    received = sent + up + down
    order = np.argsort(received, kind="stable")
    period_us = 1e6 / rate_hz
    t0_us = float(clock.device_us(0.2))
    batches = int((duration_s - 1.0) * rate_hz) // samples_per_batch
    device = t0_us + np.arange(batches * samples_per_batch) * period_us
    truth = clock.host_s(device)
    last = truth[samples_per_batch - 1 :: samples_per_batch]
    arrival = last + _one_way_s(rng, batches, faults.down_max_s, faults.down_shape)
    model = clock_factory()
    live = np.full(device.shape[0], math.nan)
    newest = -1
    mapped_to = 0  # batches before this one are mapped
    for i in order:
        if newest >= 0 and echo_us[i] <= newest:
            continue  # an echo overtaken by a later one: PodStream drops it too
        newest = float(echo_us[i])
        upto = int(np.searchsorted(arrival, received[i], side="right"))
        if model.ready_ and upto > mapped_to:
            part = slice(mapped_to * samples_per_batch, upto * samples_per_batch)
            live[part] = model.to_host_s(device[part])
            mapped_to = upto
        model.update(float(sent[i]), newest, float(received[i]))
        if model.ready_ and upto > mapped_to:  # held until ready: mapped now
            part = slice(mapped_to * samples_per_batch, upto * samples_per_batch)
            live[part] = model.to_host_s(device[part])
            mapped_to = upto
    part = slice(mapped_to * samples_per_batch, None)
    live[part] = model.to_host_s(device[part])
    track = fit_clock_track(sent, echo_us, received)
    return truth, live - truth, track.to_host_s(device) - truth


def _pairwise_ms(
    truths: list[FloatArray], errors: list[FloatArray], grid_s: FloatArray
) -> FloatArray:
    on_grid = [np.interp(grid_s, t, e) for t, e in zip(truths, errors, strict=True)]
    pairs = [
        np.abs(on_grid[i] - on_grid[j])
        for i in range(len(on_grid))
        for j in range(i + 1, len(on_grid))
    ]
    return np.concatenate(pairs) * 1e3


def clock_alignment(
    clocks: list[DeviceClock],
    faults: list[LinkFaults],
    *,
    duration_s: float,
    seed: int = 0,
    after_s: float = 600.0,
    grid_step_s: float = 0.05,
    **options: Any,
) -> AlignmentResult:
    """Map every pod's samples to host time and compare pods pairwise with the truth.

    One `LinkFaults` per pod sets its one-way delays (drops and reordering are not used here);
    `options` go to `pod_clock_errors` (ping schedule, rate, clock factory).
    """
    rng = np.random.default_rng(seed)
    runs = [
        pod_clock_errors(c, f, rng, duration_s=duration_s, **options)
        for c, f in zip(clocks, faults, strict=True)
    ]
    truths = [r[0] for r in runs]
    start = max(float(t[0]) for t in truths)
    end = min(float(t[-1]) for t in truths)
    grid = np.arange(start, end, grid_step_s)
    live = _pairwise_ms(truths, [r[1] for r in runs], grid)
    offline = _pairwise_ms(truths, [r[2] for r in runs], grid)
    later = _pairwise_ms(truths, [r[1] for r in runs], grid[grid >= after_s])
    return AlignmentResult(
        float(np.percentile(live, 99)),
        float(np.max(live)),
        float(np.percentile(later, 99)) if later.size else math.nan,
        float(np.percentile(offline, 99)),
        float(np.max(offline)),
        after_s,
        len(clocks),
    )
