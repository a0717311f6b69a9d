"""A pod's clock exchanges and sample stamps over a session, generated as the BLE virtual pods
produce them, and their replay through a live clock model in seconds instead of an hour.

`simulate_clock_session` follows one pod per `PodClock` through the path that
`benchmarks/link_bench.py --clock` runs for real (firmware, Bumble, bleak, `Recorder`):

- the chip's timestamp counter ticks at ``46080·(1 + ppm·1e-6)`` Hz from a random phase; device µs
  are the firmware's (`ChipClock`: ``floor(ticks·15625/720)``); a sample every ``46080/rate``
  ticks, device time ``k·period``; a batch of `batch_samples` leaves at the first firmware
  main-loop pass (every `service_s`) after its last sample;
- the host polls every `poll_s` and pings as `PodStream` does: every `startup_ping_interval_s` for
  the first `startup_ping_s`, then every `ping_interval_s`, keeping the cadence;
- every packet on the air is delayed by ``delay_max_s·u`` (u uniform), each direction keeps its
  order (a packet arrives at least 1 µs after the one before it: an echo waits behind a batch that
  is still on the air); the pod answers a ping when it arrives, reading its counter then.

The result holds the exchanges ``(host_send_s, device_us, host_receive_s)`` in arrival order and
every batch's arrival time, device times and true times (host seconds at which the counter showed
them). `replay_live` feeds the exchanges to a `ClockModel` in arrival order and maps each batch
when it arrives, as `PodStream` releases it (held until the model is `ready_`), so the error of
every sample as it was released live is known; `replay_offline` maps them with `fit_clock_track`
on all exchanges. `pairwise_error_ms` compares pods on a common grid, as the benchmark does.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gaitchain.stream.assembly import PING_INTERVAL_S, STARTUP_PING_INTERVAL_S, STARTUP_PING_S
from gaitchain.stream.clock import ClockModel, fit_clock_track

FloatArray = NDArray[np.float64]

TICK_HZ = 46080.0
"""The LSM6DSV16X timestamp counter's nominal rate."""


@dataclass(frozen=True)
class SessionSpec:
    """What the session looks like (defaults: `link_bench.py --clock`'s hour at 60 Hz)."""

    minutes: float = 60.0
    rate_hz: int = 60
    batch_samples: int = 18
    service_s: float = 0.05
    poll_s: float = 0.025
    delay_max_s: float = 0.03
    ping_interval_s: float = PING_INTERVAL_S
    startup_ping_interval_s: float = STARTUP_PING_INTERVAL_S
    startup_ping_s: float = STARTUP_PING_S
    link_up_s: float = 1.0


@dataclass(frozen=True)
class PodClock:
    """One pod's session: exchanges in arrival order, `(n, 3)`; batches as `(m, batch)` arrays of
    device µs and true host seconds, with each batch's arrival time `(m,)`."""

    ppm: float
    exchanges: FloatArray
    batch_arrival_s: FloatArray
    batch_device_us: FloatArray
    batch_truth_s: FloatArray


def _ordered_arrivals(send_s: FloatArray, delay_s: FloatArray) -> FloatArray:
    """Arrival times on one direction of a link that keeps its order (sorted `send_s`)."""
    arrival = send_s + delay_s
    for i in range(1, arrival.shape[0]):  # a running max with a 1 µs step
        arrival[i] = max(arrival[i], arrival[i - 1] + 1e-6)
    return arrival


def _delays_s(spec: SessionSpec, rng: np.random.Generator, count: int) -> FloatArray:
    """One delay on the air per packet, uniform over 0 to `delay_max_s`."""
    delays: FloatArray = rng.uniform(0.0, spec.delay_max_s, count)
    return delays


def simulate_pod(spec: SessionSpec, ppm: float, rng: np.random.Generator) -> PodClock:
    """One pod's exchanges and batches over `spec.minutes` (see the module docstring)."""
    end_s = spec.minutes * 60.0
    hz = TICK_HZ * (1.0 + ppm * 1e-6)
    start_s = float(rng.uniform(0.0, 0.5))  # the pod's counter (device time 0) starts here

    def device_us(t_s: FloatArray) -> FloatArray:
        ticks = np.floor((t_s - start_s) * hz)
        return np.floor(ticks * 15625.0 / 720.0)

    ticks_per_sample = int(TICK_HZ) // spec.rate_hz
    count = int((end_s - start_s) * spec.rate_hz) // spec.batch_samples * spec.batch_samples
    sample_ticks = np.arange(count, dtype=np.float64) * ticks_per_sample
    sample_device = np.floor(sample_ticks * 15625.0 / 720.0)
    sample_truth = start_s + sample_ticks / hz
    batches = count // spec.batch_samples
    last = sample_truth.reshape(batches, spec.batch_samples)[:, -1]
    phase = float(rng.uniform(0.0, spec.service_s))
    batch_send = phase + np.ceil((last - phase) / spec.service_s) * spec.service_s

    poll_phase = float(rng.uniform(0.0, spec.poll_s))
    polls = poll_phase + np.arange(0.0, end_s, spec.poll_s)
    pings: list[float] = []
    next_s = spec.link_up_s
    for now in polls[polls >= spec.link_up_s]:
        if now >= next_s:
            pings.append(float(now))
            startup = now - pings[0] < spec.startup_ping_s
            interval = spec.startup_ping_interval_s if startup else spec.ping_interval_s
            base = next_s if now - next_s < interval else float(now)
            next_s = base + interval
    ping_send = np.asarray(pings)
    read = _ordered_arrivals(ping_send, _delays_s(spec, rng, ping_send.shape[0]))

    up_send = np.concatenate((batch_send, read))
    kind = np.concatenate((np.zeros(batches, np.intp), np.ones(read.shape[0], np.intp)))
    order = np.argsort(up_send, kind="stable")
    up_arrival = np.empty_like(up_send)
    up_arrival[order] = _ordered_arrivals(up_send[order], _delays_s(spec, rng, up_send.shape[0]))
    echo_arrival = up_arrival[kind == 1]
    keep = echo_arrival <= end_s
    exchanges = np.column_stack((ping_send, device_us(read), echo_arrival))[keep]
    batch_arrival = up_arrival[kind == 0]
    keep = batch_arrival <= end_s
    shape = (batches, spec.batch_samples)
    return PodClock(
        ppm,
        exchanges[np.argsort(exchanges[:, 2], kind="stable")],
        batch_arrival[keep],
        sample_device.reshape(shape)[keep],
        sample_truth.reshape(shape)[keep],
    )


def simulate_clock_session(
    spec: SessionSpec, ppm: tuple[float, ...] = (-25.0, 50.0, 0.0, 25.0, -50.0), seed: int = 11
) -> list[PodClock]:
    """Deterministic for a seed: one `PodClock` per entry of `ppm` (the benchmark's five)."""
    rng = np.random.default_rng(seed)
    return [simulate_pod(spec, p, rng) for p in ppm]


def replay_live(
    pod: PodClock, factory: Callable[[], ClockModel] = ClockModel, clock_wait_s: float = 30.0
) -> FloatArray:
    """Every sample's error (s, `(m, batch)`) as mapped live: the model fed the exchanges that
    arrived before the batch; a batch waits until the model is `ready_` (at most `clock_wait_s`
    after it arrived, as `PodStream` holds it) and is then mapped as the model stands."""
    model = factory()
    mapped = np.full(pod.batch_device_us.shape, math.nan)
    ex = pod.exchanges
    k = 0
    waiting: list[int] = []
    for b, arrival in enumerate(pod.batch_arrival_s):
        while k < ex.shape[0] and ex[k, 2] <= arrival:
            model.update(float(ex[k, 0]), float(ex[k, 1]), float(ex[k, 2]))
            k += 1
        waiting.append(b)
        if model.ready_ or arrival - pod.batch_arrival_s[waiting[0]] >= clock_wait_s:
            for w in waiting:
                mapped[w] = model.to_host_s(pod.batch_device_us[w])
            waiting.clear()
    return mapped - pod.batch_truth_s


def replay_offline(pod: PodClock, **options: float) -> FloatArray:
    """Every sample's error (s) mapped by `fit_clock_track` over all exchanges (the journal's)."""
    ex = pod.exchanges
    track = fit_clock_track(ex[:, 0], ex[:, 1], ex[:, 2], **options)
    return track.to_host_s(pod.batch_device_us) - pod.batch_truth_s


def pairwise_error_ms(
    pods: list[PodClock], errors: list[FloatArray], step_s: float = 0.05
) -> tuple[FloatArray, FloatArray]:
    """Inter-pod errors (ms) on a `step_s` grid over the time all pods have samples, every pair
    at every grid time, and the grid time (s) of each. Unmapped samples (nan) are left out."""
    truths = [p.batch_truth_s.ravel() for p in pods]
    flat = [e.ravel() for e in errors]
    start = max(float(t[0]) for t in truths)
    end = min(float(t[-1]) for t in truths)
    grid = np.arange(start, end, step_s)
    on_grid = [np.interp(grid, t, e) for t, e in zip(truths, flat, strict=True)]
    pairs = [
        np.abs(on_grid[i] - on_grid[j])
        for i in range(len(on_grid))
        for j in range(i + 1, len(on_grid))
    ]
    times = np.tile(grid, len(pairs))
    values = np.concatenate(pairs) * 1e3
    ok = np.isfinite(values)
    return values[ok], times[ok]
