"""Step log figures: bytes per step, capacity of a 2 MB partition, sync throughput.

    .venv/bin/python benchmarks/steplog_bench.py

Capacity: the pod firmware's `StepLog` on an emulated 2 MB NOR partition (512 sectors of 4096
bytes) logs 14 days x 20,000 steps. Each day is walking bouts of 20 to 600 steps separated by
pauses, at one step of the pod's foot every 1.07 s, so a 60-s block holds about 56 steps (denser
walking fills blocks better). The peer is a plain fixed record a logger might use without packing:
a 64-bit microsecond timestamp and four 16-bit fields (16 bytes), in the same blocks.

Sync throughput over BLE: a virtual pod holding 1 MB of step log syncs into a fresh store through
the emulated BLE central, which lets the pod notify at most N notifications per connection event
(the stack's buffer), one event per connection interval. The rate is record bytes (what the pod
holds) over simulated time, so it shows what those link parameters allow, not what the ESP32's CPU
can feed; the analytic figure beside it is `N x 35 records x 6 B / interval`. The peer figure is
Movesense's published log download rate of about 11 kB/s (not measured here).

Sync over a pseudo-terminal: the same 1 MB over USB-serial framing through pyserial, wall clock,
with the virtual pod's firmware running under CPython in a thread (a lower bound for real USB CDC).
"""

import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "host" / "gaitchain" / "sim" / "mpshim"))
sys.path.insert(0, str(HERE.parent / "firmware"))

from gaitchain.link.emulated_ble import EmulatedBleTransport  # noqa: E402
from gaitchain.link.pty import PtyPodPort  # noqa: E402
from gaitchain.link.serial_port import SerialTransport  # noqa: E402
from gaitchain.sim.body import Body  # noqa: E402
from gaitchain.sim.params import ImuErrors, Walker  # noqa: E402
from gaitchain.sim.plan import make_plan  # noqa: E402
from gaitchain.sim.schedule import build_schedule  # noqa: E402
from gaitchain.sim.virtual_pod import VirtualPod, VirtualPodConfig, load_firmware  # noqa: E402
from gaitchain.steplog.store import StepStore  # noqa: E402
from gaitchain.steplog.sync import LogSync, run_sync  # noqa: E402

MB = 1_048_576
DAYS = 14
STEPS_PER_DAY = 20_000
STEP_PERIOD_MS = 1070


def _fill_days(log: Any, rng: np.random.Generator, record: int) -> tuple[int, int]:
    """Log DAYS x STEPS_PER_DAY steps in bouts; returns (steps logged, blocks)."""
    t_ms = 0
    logged = 0
    for _day in range(DAYS):
        left = STEPS_PER_DAY
        t_ms = (t_ms // 86_400_000 + 1) * 86_400_000 + 7 * 3_600_000
        while left:
            bout = int(min(left, rng.integers(20, 601)))
            for _ in range(bout):
                log.add(t_ms, 150, 60, 20, 0)
                t_ms += STEP_PERIOD_MS
            left -= bout
            logged += bout
            log.tick(t_ms + 60_000)  # the pause closes the open block
            t_ms += int(rng.integers(30_000, 600_000))
    log.close()
    return logged, log.next_seq


def capacity() -> None:
    modules = load_firmware()
    steplog = sys.modules["pod.steplog"]
    partition = modules["nor_flash"].Partition("steplog", 512)
    log = steplog.StepLog(partition, 1)
    logged, blocks = _fill_days(log, np.random.default_rng(1), 6)
    used = log.used_bytes()
    capacity_b = log.capacity_bytes()
    print(f"capacity: {DAYS} days x {STEPS_PER_DAY:,} steps in a 2 MB partition (512 x 4096 B)")
    print(f"  steps logged {logged:,}, dropped {log.records_dropped:,}, blocks {blocks:,}")
    print(f"  flash used {used:,} of {capacity_b:,} bytes ({100 * used / capacity_b:.1f}%)")
    print(f"  bytes per step: record 6, with block headers and sector ends {used / logged:.2f}")
    days_fit = capacity_b / (used / DAYS)
    print(f"  at this rate the partition holds {days_fit:.1f} days")
    peer_per_block = (4096 - 24) // 16
    peer_bytes = logged * 16 + blocks * 24
    print(
        f"  peer, 16-byte records (u64 us time + 4 x u16): about {peer_bytes / logged:.1f} B/step,"
        f" {peer_bytes:,} bytes: {'fits' if peer_bytes <= capacity_b else 'does NOT fit'}"
        f" (up to {peer_per_block} per sector)"
    )
    verdict = "met" if log.records_dropped == 0 and logged == DAYS * STEPS_PER_DAY else "NOT met"
    print(f"  target: 14 days x 20,000 steps in 2 MB: {verdict}")


def _body() -> Body:
    walker = Walker().validate()
    return Body(
        build_schedule(walker, make_plan(20.0, walker.gait.speed_mps, walker.gait.stride_s))
    )


def _filled_pod(body: Body, serial_port: object = None) -> tuple[VirtualPod, int]:
    config = VirtualPodConfig(
        0x0A0B,
        "foot",
        "left",
        step_s=0.0075,
        errors=ImuErrors.exact(),
        log_sectors=300,
        serial_port=serial_port,
    )
    pod = VirtualPod(body, config, np.random.default_rng(2))
    log = pod.pod.steplog
    t_ms = 0
    while log.next_seq * 70 * 6 < MB:
        for i in range(70):
            log.add(t_ms, 150, 40 + i % 30, i, 0)
            t_ms += 550
        log.close()
    return pod, log.next_seq * 70 * 6


def ble_throughput(body: Body) -> None:
    print("sync over emulated BLE, 1 MB of step records (MTU 247: 35 records per notification)")
    print("  interval  per event  analytic kB/s  measured kB/s  wall s")
    for interval_s, per_event in ((0.0075, 2), (0.015, 2), (0.015, 4), (0.030, 6), (0.045, 4)):
        pod, record_bytes = _filled_pod(body)
        pod.config.step_s = interval_s / 2  # two main-loop passes per connection event
        with tempfile.TemporaryDirectory() as tmp:
            store = StepStore(Path(tmp) / "s.sqlite")
            transport = EmulatedBleTransport(
                pod, conn_interval_s=interval_s, notifications_per_event=per_event
            )
            start = time.perf_counter()
            result = run_sync(transport, LogSync(store, lambda: 1.8e9), clock=lambda p=pod: p.now_s)
            wall = time.perf_counter() - start
            store.close()
        assert result.steps_stored * 6 == record_bytes
        analytic = per_event * 35 * 6 / interval_s / 1000
        measured = record_bytes / transport.elapsed_s / 1000
        print(
            f"  {1000 * interval_s:5.1f} ms  {per_event:9d}  {analytic:13.1f}  {measured:13.1f}"
            f"  {wall:6.1f}"
        )
    print("  peer: Movesense log download, about 11 kB/s (published, not measured here)")


def serial_throughput(body: Body) -> None:
    port = PtyPodPort()
    pod, record_bytes = _filled_pod(body, port)
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            pod.advance_to(pod.now_s + 0.005)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    transport = SerialTransport(port.device)
    with tempfile.TemporaryDirectory() as tmp:
        store = StepStore(Path(tmp) / "s.sqlite")
        start = time.perf_counter()
        result = run_sync(transport, LogSync(store, lambda: 1.8e9))
        wall = time.perf_counter() - start
        store.close()
    stop.set()
    thread.join()
    transport.close()
    port.close()
    assert result.steps_stored * 6 == record_bytes
    print(
        f"sync over USB-serial framing on a pty: {record_bytes / MB:.2f} MB of records in "
        f"{wall:.1f} s wall = {record_bytes / wall / 1000:.0f} kB/s (CPython pod firmware, "
        f"{result.blocks_stored} blocks)"
    )


def main() -> None:
    capacity()
    body = _body()
    ble_throughput(body)
    serial_throughput(body)


if __name__ == "__main__":
    main()
