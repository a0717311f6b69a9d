"""Step-log sync over BLE through bleak and the Bumble stack: throughput against the bar and peer.

    .venv/bin/python benchmarks/ble_sync_bench.py

A virtual pod (the firmware under CPython, its step log on emulated flash) holds about 1 MB of
step records (14 days at 12,500 steps a day); `gaitchain.link.ble_sync.sync_pod` downloads it
into a fresh store through bleak's public API on the Bumble backend: ATT MTU 247, notifications
of 35 records, the pod's main loop woken by BLE events and every 50 ms, at most 12
notifications in flight (its NimBLE-like buffer). Everything runs on simulated time, so the
rate is record bytes over simulated seconds: what the firmware's pacing and the stack allow.
Bumble's `LocalLink` has no radio timing (no connection events), so each run adds a one-way
delay per packet on the air (`AirFaults.delay_max_s`, order kept) standing in for the
connection interval; the emulated-central figures in RESULTS.md (steplog_bench.py) model
connection events explicitly. Wall seconds show what the emulation costs on this machine.

Rows: no delay; 7.5 ms and 15 ms of delay; and a run cut once by the pod leaving range for 3 s
mid-download (the sync resumes; the rate includes the outage and the reconnection).

Bar (issue 10): >= 10 kB/s. Peer: Movesense's published log download, about 11 kB/s (not
measured here).
"""

import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "host"))

from gaitchain.link.ble import PodTarget  # noqa: E402
from gaitchain.link.ble_sync import PodSyncOutcome, sync_pod  # noqa: E402
from gaitchain.link.virtual import AirFaults, VirtualPods  # noqa: E402
from gaitchain.sim.simtime import run_simulated  # noqa: E402
from gaitchain.sim.step_days import fill_step_log  # noqa: E402
from gaitchain.steplog.store import StepStore  # noqa: E402

BAR_KBPS = 10.0
PEER_KBPS = 11.0
DAYS = 14
STEPS_PER_DAY = 12_500


def run(delay_s: float, cut_at_s: float | None) -> tuple[int, PodSyncOutcome, float]:
    with tempfile.TemporaryDirectory() as tmp:
        store = StepStore(Path(tmp) / "steps.sqlite")

        async def main() -> tuple[int, PodSyncOutcome]:
            faults = AirFaults(delay_max_s=delay_s, delay_shape=0.0)
            async with VirtualPods.walking(1, minutes=0.5, faults=faults, log_sectors=300) as pods:
                await asyncio.sleep(1.5)
                log: Any = pods.pod(0x0101).pod.steplog
                steps = fill_step_log(
                    log, days=DAYS, steps_per_day=STEPS_PER_DAY, start_unix_ms=1_795_000_000_000
                )
                if cut_at_s is not None:
                    asyncio.get_running_loop().call_later(cut_at_s, pods.drop_link, 0x0101, 3.0)
                target = PodTarget(pods.address(0x0101), 0x0101)
                return steps, await sync_pod(target, store, backend=pods.backend)

        start = time.perf_counter()
        steps, outcome = run_simulated(main(), timeout_s=3600)
        wall_s = time.perf_counter() - start
        stored = store.counts(0x0101)
        store.close()
    if not outcome.complete or stored[1:] != (steps, steps):
        raise RuntimeError(f"sync incomplete or wrong: {outcome.error}, {stored} of {steps}")
    return steps * 6, outcome, wall_s


def main() -> None:
    logging.getLogger("bumble").setLevel(logging.ERROR)
    print(f"BLE step-log sync through bleak + Bumble, {DAYS} days x {STEPS_PER_DAY:,} steps")
    print("  air delay  cut  record bytes  sim s   kB/s  attempts  wall s  bar (>= 10 kB/s)")
    for delay_s, cut_at_s in ((0.0, None), (0.0075, None), (0.015, None), (0.0075, 20.0)):
        record_bytes, outcome, wall_s = run(delay_s, cut_at_s)
        rate = record_bytes / outcome.elapsed_s / 1000
        print(
            f"  {1000 * delay_s:6.1f} ms  {'yes' if cut_at_s else 'no ':>3}  {record_bytes:12,}"
            f"  {outcome.elapsed_s:5.1f}  {rate:5.1f}  {len(outcome.attempts):8d}  {wall_s:6.1f}"
            f"  {'met' if rate >= BAR_KBPS else 'NOT met'}"
        )
    print(f"  peer: Movesense log download, about {PEER_KBPS:g} kB/s (published, not measured)")


if __name__ == "__main__":
    main()
