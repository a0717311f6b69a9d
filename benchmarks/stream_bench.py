"""Stream layer figures: host CPU for ingest + journaling, and inter-pod clock alignment.

    .venv/bin/python benchmarks/stream_bench.py

CPU: five emulated pods at 120 Hz (18-sample batches) stream for 10 simulated minutes through a
link that drops 1% of messages, duplicates 0.5%, reorders 0.5% and delays everything by 0-30 ms;
each pod is disconnected for 3 s once. Everything the host side sees (each message with its arrival
time, each poll, each link event) is recorded, then replayed into a fresh `StreamAssembler` that
journals every packet to a file (`JournalWriter`) and hands out the samples; only the replay is
timed (process CPU time, one core), divided by the 600 s of traffic it covers. The same replay
without the journal, and the journal alone, are timed for comparison.

Clock: five pods for 60 simulated minutes, offsets anywhere, drift up to ±50 ppm (plus ±0.2 ppm of
slow wander), one-way delays of 0-30 ms drawn independently per direction as ``30 ms·u^k`` with k in
[1, 2] per pod and direction (asymmetric), pings every second (and, with the stream's default
schedule, 10 per second for the first 2 minutes). Each pod's samples are mapped to host time and
pods are compared pairwise with the truth on a 50 ms grid: p99 of the inter-pod error. The peer is
the textbook method: per 8 s the exchange with the smallest round trip, Theil-Sen on the
round-trip midpoints over the same 15-minute window.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

import numpy as np
from gaitchain.protocol import Side
from gaitchain.stream import ClockModel, JournalWriter, StreamAssembler
from gaitchain.stream.emulation import (
    AlignmentResult,
    DeviceClock,
    EmulatedPod,
    LinkFaults,
    LinkSimulation,
    clock_alignment,
)
from numpy.typing import ArrayLike, NDArray

MINUTES = 10
PODS = 5
Call = tuple[str, float, int, bytes]


class RecordingAssembler(StreamAssembler):
    """A `StreamAssembler` that also logs every call the transport makes, for replay."""

    def __init__(self, now_s: Callable[[], float]) -> None:
        super().__init__(now_s=now_s)
        self.log: list[Call] = []

    def receive(
        self, data: bytes, host_receive_s: float, *, link_pod_id: int | None = None
    ) -> None:
        self.log.append(
            ("receive", host_receive_s, -1 if link_pod_id is None else link_pod_id, data)
        )
        super().receive(data, host_receive_s, link_pod_id=link_pod_id)

    def poll(self) -> list[tuple[int, bytes]]:
        self.log.append(("poll", self.now_s(), -1, b""))
        return super().poll()

    def link_down(self, pod_id: int, now_s: float | None = None) -> None:
        self.log.append(("down", self.now_s() if now_s is None else now_s, pod_id, b""))
        super().link_down(pod_id, now_s)

    def link_up(self, pod_id: int, now_s: float | None = None) -> None:
        self.log.append(("up", self.now_s() if now_s is None else now_s, pod_id, b""))
        super().link_up(pod_id, now_s)


def record_traffic() -> tuple[list[Call], int]:
    rng = np.random.default_rng(0)
    pods = [
        EmulatedPod(
            0x0100 + i,
            DeviceClock(rng.uniform(0, 1e9), rng.uniform(-50, 50)),
            boot_id=i + 1,
            side=Side.LEFT if i % 2 else Side.RIGHT,
        )
        for i in range(PODS)
    ]
    faults = LinkFaults(drop=0.01, duplicate=0.005, reorder=0.005)
    recorders: list[RecordingAssembler] = []

    def make(now: Callable[[], float]) -> StreamAssembler:
        recorders.append(RecordingAssembler(now))
        return recorders[0]

    sim = LinkSimulation(pods, faults, seed=1, assembler=make)
    for i, pod in enumerate(pods):
        sim.disconnect(pod.pod_id, 60.0 + 100.0 * i, 3.0)
    sim.run(MINUTES * 60.0)
    samples = sum(c.count for c in sim.chunks)
    return recorders[0].log, samples


def replay(log: list[Call], journal_path: Path | None) -> tuple[float, float, int]:
    """Process CPU seconds, wall seconds and samples released for one replay of `log`."""
    now = [0.0]
    journal = JournalWriter(journal_path, now_s=lambda: now[0]) if journal_path else None
    host = StreamAssembler(now_s=lambda: now[0], journal=journal)
    released = 0
    cpu, wall = time.process_time(), time.perf_counter()
    for kind, t, pod_id, data in log:
        now[0] = t
        if kind == "receive":
            host.receive(data, t, link_pod_id=None if pod_id < 0 else pod_id)
        elif kind == "poll":
            host.poll()
        elif kind == "down":
            host.link_down(pod_id, t)
        else:
            host.link_up(pod_id, t)
        for chunk in host.take_samples():
            released += chunk.count
    if journal is not None:
        journal.close()
    return time.process_time() - cpu, time.perf_counter() - wall, released


def journal_only(log: list[Call], path: Path) -> float:
    cpu = time.process_time()
    with JournalWriter(path, now_s=lambda: 0.0) as journal:
        for kind, t, pod_id, data in log:
            if kind == "receive":
                journal.received(pod_id, t, data)
    return time.process_time() - cpu


def ingest_cpu() -> None:
    log, simulated = record_traffic()
    received = sum(1 for c in log if c[0] == "receive")
    span_s = MINUTES * 60.0
    print(
        f"ingest + journal, {PODS} pods x 120 Hz, 18-sample batches, {MINUTES} simulated minutes "
        f"({received:,} messages in, {simulated:,} samples out):"
    )
    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        best = min((replay(log, Path(tmp) / f"j{i}.gcj") for i in range(3)), key=lambda r: r[0])
        cpu_s, wall_s, released = best
        size_mb = (Path(tmp) / "j0.gcj").stat().st_size / 1e6
        bare = min(replay(log, None)[0] for _ in range(3))
        alone = min(journal_only(log, Path(tmp) / f"o{i}.gcj") for i in range(3))
    rows.append(("ingest + journal (StreamAssembler)", cpu_s, wall_s))
    rows.append(("ingest only (no journal)", bare, bare))
    rows.append(("journal only (JournalWriter)", alone, alone))
    for name, cpu, _ in rows:
        print(f"  {name:<38} {cpu:7.3f} s CPU  {100 * cpu / span_s:6.2f}% of one core")
    print(
        f"  real time: {span_s:.0f} s of traffic processed in {wall_s:.2f} s "
        f"({span_s / wall_s:,.0f}x real time); {released:,} samples released; "
        f"journal {size_mb:.1f} MB ({size_mb / MINUTES * 60:.0f} MB/hour)"
    )
    share = 100 * cpu_s / span_s
    print(f"  target <= 10% of one core: {'met' if share <= 10 else 'NOT met'} ({share:.2f}%)")


class MidpointTheilSen(ClockModel):
    """The peer: per `bucket_s` the exchange with the smallest round trip; Theil-Sen line through
    their round-trip midpoints over the newest `window_s`."""

    def __init__(self, *, window_s: float = 900.0, bucket_s: float = 8.0) -> None:
        super().__init__(window_s=window_s)
        self.bucket_s = bucket_s
        self._best: dict[int, tuple[float, float, float]] = {}
        self._line = (0.0, 0.0, 0.0)

    def update(self, host_send_s: float, device_us: float, host_receive_s: float) -> Self:
        x = device_us * 1e-6
        bucket = int(x // self.bucket_s)
        rtt = host_receive_s - host_send_s
        kept = self._best.get(bucket)
        if kept is None or rtt < kept[2]:
            self._best[bucket] = (x, 0.5 * (host_send_s + host_receive_s) - x, rtt)
        for old in [b for b in self._best if b < bucket - self.window_s / self.bucket_s]:
            del self._best[old]
        points = np.array([(p[0], p[1]) for p in self._best.values()])
        xs, ys = points[:, 0], points[:, 1]
        if xs.shape[0] >= 2:
            i, j = np.triu_indices(xs.shape[0], 1)
            slope = float(np.median((ys[j] - ys[i]) / (xs[j] - xs[i])))
        else:
            slope = 0.0
        x0 = float(xs[-1])
        self._line = (x0, float(np.median(ys - slope * (xs - x0))), slope)
        self.n_exchanges_ += 1
        self.ready_ = self.n_exchanges_ >= self.min_exchanges
        return self

    def to_host_s(self, device_us: ArrayLike) -> NDArray[np.float64]:
        x = np.asarray(device_us, dtype=np.float64) * 1e-6
        x0, y0, slope = self._line
        return x + y0 + slope * (x - x0)


def _pods(seed: int, shape: tuple[float, float]) -> tuple[list[DeviceClock], list[LinkFaults]]:
    rng = np.random.default_rng(seed)
    clocks = [
        DeviceClock(rng.uniform(0, 1e9), rng.uniform(-50, 50), 0.2, rng.uniform(1200, 3600))
        for _ in range(PODS)
    ]
    faults = [
        LinkFaults(up_shape=rng.uniform(*shape), down_shape=rng.uniform(*shape))
        for _ in range(PODS)
    ]
    return clocks, faults


def _row(name: str, result: AlignmentResult, *, offline: bool = True) -> None:
    offline_text = f"{result.offline_p99_ms:8.3f}" if offline else f"{'-':>8}"
    print(
        f"  {name:<44}{result.live_p99_ms:8.3f} {result.live_after_p99_ms:9.3f} "
        f"{result.live_max_ms:7.3f} {offline_text}"
    )


def clock_figures() -> None:
    print(
        f"inter-pod time alignment, {PODS} pods, 60 simulated minutes, drift up to +-50 ppm, "
        "0-30 ms one-way jitter [ms]:"
    )
    print(f"  {'method (pings)':<44}{'live p99':>8} {'p99>10min':>9} {'max':>7} {'offline':>8}")
    clocks, faults = _pods(11, (1.0, 2.0))
    hour = 3600.0
    default = clock_alignment(clocks, faults, duration_s=hour, seed=11)
    _row("bounds centroid (10/s for 2 min, then 1/s)", default)
    steady = clock_alignment(clocks, faults, duration_s=hour, seed=11, startup_ping_s=0.0)
    _row("bounds centroid (1/s)", steady)
    peer = clock_alignment(
        clocks,
        faults,
        duration_s=hour,
        seed=11,
        startup_ping_s=0.0,
        clock_factory=MidpointTheilSen,
    )
    _row("peer: min-RTT midpoints, Theil-Sen (1/s)", peer, offline=False)
    uniform = [LinkFaults() for _ in range(PODS)]
    hard = clock_alignment(clocks, uniform, duration_s=hour, seed=13)
    _row("bounds centroid, uniform 0-30 ms both ways", hard)
    slow = [LinkFaults(up_shape=1.0, down_shape=0.5) for _ in range(PODS)]
    stress = clock_alignment(clocks, slow, duration_s=hour, seed=14)
    _row("bounds centroid, echoes mostly near 30 ms", stress)
    print(
        "  target p99 <= 0.5 ms (default schedule, live): "
        f"{'met' if default.live_p99_ms <= 0.5 else 'NOT met'} ({default.live_p99_ms:.3f} ms)"
    )


if __name__ == "__main__":
    print("$ " + shlex.join([".venv/bin/python", "benchmarks/stream_bench.py", *sys.argv[1:]]))
    print(f"(numpy {np.__version__}, Python {sys.version.split()[0]})")
    print()
    ingest_cpu()
    print()
    clock_figures()
