"""BLE link figures on virtual pods: completeness under faults and the host's ingest CPU.

    .venv/bin/python benchmarks/link_bench.py [--minutes 10] [--rates 120 240]

Five virtual pods (the pod firmware on the emulated IMU, sampling one simulated walker, clocks up
to +-50 ppm off) on a virtual BLE link (Bumble's LocalLink: real HCI, L2CAP, ATT, SMP), recorded
through bleak's public API with the Bumble backend by `gaitchain.link.ble.Recorder`, on simulated
time. On the air: 5% of the pods' notifications lost at random, every packet delayed by 0-30 ms
(order kept). Two pods go out of range for 3 s (at 30% and 70% of the run), one pod reboots (at
50%). The journal is converted to a recording and compared with what the firmware produced:
samples missing (other than those a rebooted pod lost with its RAM, reported as such) and
duplicated must both be zero.

CPU: the thread CPU time spent inside the host's `StreamAssembler` (decode, assembly, clock,
journal writes: every `receive` and `poll`), divided by the simulated duration: the share of one
core that ingest and journaling need in real time. (The Bumble stack and the virtual pods run in
the same process but are not part of the host's cost.) The peer figure is the same measure from
`benchmarks/stream_bench.py`'s replay of model traffic.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import asyncio
import logging
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from gaitchain.link.ble import PodTarget, Recorder
from gaitchain.link.virtual import AirFaults, VirtualPods
from gaitchain.sim.simtime import run_simulated
from gaitchain.stream import StreamAssembler, journal_to_recording

logging.getLogger("bumble").setLevel(logging.ERROR)


class _Meter:
    """Thread CPU seconds spent in the wrapped calls."""

    def __init__(self) -> None:
        self.cpu_s = 0.0

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.cpu_s += time.thread_time() - start

        return timed


def run(minutes: float, rate_hz: int, tmp: Path) -> None:  # noqa: PLR0915
    seconds = minutes * 60.0
    meter = _Meter()
    original_init = StreamAssembler.__init__

    def metered_init(self: StreamAssembler, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.receive = meter.wrap(self.receive)  # type: ignore[method-assign]
        self.poll = meter.wrap(self.poll)  # type: ignore[method-assign]

    StreamAssembler.__init__ = metered_init  # type: ignore[method-assign]

    never_sent: dict[int, int] = {}

    async def main() -> tuple[Recorder, VirtualPods, dict[int, int]]:
        faults = AirFaults(notification_drop=0.05, delay_max_s=0.03)
        pods = VirtualPods.walking(5, minutes=minutes + 0.5, rate_hz=rate_hz, seed=7, faults=faults)
        async with pods:
            targets = [PodTarget(pods.address(s.pod_id), s.pod_id) for s in pods.specs]
            recorder = Recorder(targets, tmp / f"journal-{rate_hz}.gcj", backend=pods.backend)
            task = asyncio.get_running_loop().create_task(recorder.run())
            for at, action in ((0.3, "drop2"), (0.5, "reboot"), (0.7, "drop5")):
                await asyncio.sleep(at * seconds - asyncio.get_running_loop().time())
                if action == "reboot":
                    pods.reboot(0x0104)
                else:
                    pods.drop_link(0x0102 if action == "drop2" else 0x0105, 3.0)
            await asyncio.sleep(seconds - asyncio.get_running_loop().time())
            recorder.stop()
            await task
            produced = {pid: pods.pod(pid).produced_samples() for pid in pods.pods}
            for pid in pods.pods:
                never_sent[pid] = pods.pod(pid).never_sent
            return recorder, pods, produced

    wall = time.perf_counter()
    try:
        recorder, pods, produced = run_simulated(main())
    finally:
        StreamAssembler.__init__ = original_init  # type: ignore[method-assign]
    wall_s = time.perf_counter() - wall
    recording = journal_to_recording(tmp / f"journal-{rate_hz}.gcj")
    assert recorder.assembler is not None
    print(
        f"5 pods x {rate_hz} Hz, {minutes:g} simulated minutes, {pods.air.notifications:,} "
        f"notifications ({pods.air.notifications_dropped:,} dropped on the air), two 3 s "
        f"disconnects, one reboot ({wall_s:.0f} s wall for the whole simulation):"
    )
    total_missing = total_duplicated = 0
    for pod in recording.pods:
        pod_id = int(pod.extra["pod_id"])
        stream = recorder.assembler.stream(pod_id)
        reboot_lost = sum(r.samples for r in stream.lost_runs if r.reason == "reboot")
        other_lost = sum(r.samples for r in stream.lost_runs if r.reason != "reboot")
        expected = produced[pod_id] - reboot_lost - never_sent[pod_id]
        steps = np.diff(pod.t_s)
        duplicated = int(np.sum(steps <= 0.5 / rate_hz))
        missing = max(0, expected - len(pod.t_s)) + other_lost
        total_missing += missing
        total_duplicated += duplicated
        c = stream.counters
        print(
            f"  pod {pod_id:04x} {pod.file:<16} produced {produced[pod_id]:7,} recorded "
            f"{len(pod.t_s):7,} missing {missing} duplicated {duplicated} lost at reboot: "
            f"{reboot_lost} reported, {never_sent[pod_id]} never sent; gaps {c.gaps} "
            f"resent {c.resent_received} duplicates dropped {c.duplicates}"
        )
    share = 100.0 * meter.cpu_s / seconds
    print(
        f"  missing {total_missing}, duplicated {total_duplicated}: "
        f"{'met' if total_missing == 0 and total_duplicated == 0 else 'NOT met'}"
    )
    print(
        f"  host ingest + journal CPU: {meter.cpu_s:.2f} s for {seconds:.0f} s = {share:.2f}% "
        f"of one core (target <= 10%: {'met' if share <= 10 else 'NOT met'})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rates", type=int, nargs="+", default=[120, 240])
    options = parser.parse_args()
    print("$ " + shlex.join([".venv/bin/python", "benchmarks/link_bench.py", *sys.argv[1:]]))
    print(f"(Python {sys.version.split()[0]})")
    with tempfile.TemporaryDirectory() as directory:
        for rate in options.rates:
            print()
            run(options.minutes, rate, Path(directory))
