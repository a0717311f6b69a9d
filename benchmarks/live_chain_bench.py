"""The live chain analysis against the offline analysis of the same walk.

For each driver: five virtual pods on the simulated walker (`gaitchain demo`'s walk otherwise:
`virtual_pods`' defaults) through the BLE link (`BlePodLink`, bleak's API on a Bumble backend) on
simulated time (`SimulatedLive`, faster than real time), the live pipeline's chain analysis
(windows run inline, so the figures do not depend on the machine's load), the session's journal
converted and analysed offline (`gaitchain analyze`'s path). Prints when the live verdict first
appeared, the live and the offline verdicts, the largest difference of the live and offline
straight-stride medians over the classifier's walking features, and how long one window's
analysis took.

.venv/bin/python benchmarks/live_chain_bench.py --seconds 120 --seed 7
"""

import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
from gaitchain.chain.features import WALK_METRICS
from gaitchain.gait.analysis import analyze
from gaitchain.gait.summary import medians
from gaitchain.live.assessment import LiveBattery
from gaitchain.live.ble_link import DEMO_DRIVER, DEMO_SEED, virtual_pods
from gaitchain.live.chain import InlineExecutor, LiveChain
from gaitchain.live.hub import LiveHub
from gaitchain.live.simulated import SimulatedLive
from gaitchain.sim.simtime import run_simulated
from gaitchain.stream import journal_to_recording

DRIVERS = (
    DEMO_DRIVER,
    "right-glute-med",
    "left-ankle-df-limit",
    "right-foot-level",
    "left-pelvic-asymmetry",
    "healthy",
)


def run(driver: str, seconds: float, seed: int, tmp: Path) -> None:
    hub = LiveHub()
    chain = LiveChain(executor=InlineExecutor())
    feed = hub.subscribe()
    rows: list[dict[str, object]] = []
    first: list[tuple[float, str]] = []

    def look(now_s: float) -> None:
        rows.extend(hub.take(feed)["strides"])
        verdict = chain()
        if verdict is not None and not first:
            first.append((now_s, f"{verdict.side} {verdict.driver}".strip()))

    async def main() -> SimulatedLive:
        live = SimulatedLive(
            virtual_pods(driver=driver, seed=seed),
            hub,
            chain=chain,
            battery=LiveBattery(executor=InlineExecutor()),
            record_dir=tmp,
        )
        live.start()
        live.pipeline.request("record", True)
        await live.run_to(seconds, every_s=0.5, on_tick=look)
        live.pipeline.request("record", False)
        await live.run_to(seconds + 0.02)
        await live.close()
        return live

    began = time.perf_counter()
    pipeline = run_simulated(main(), timeout_s=seconds + 60.0).pipeline
    live_s = time.perf_counter() - began
    assert pipeline.journal_path is not None
    offline = analyze(journal_to_recording(pipeline.journal_path))
    top = offline.to_json()["drivers"][0]
    verdict = chain()
    live = "none" if verdict is None else f"{verdict.side} {verdict.driver}".strip()
    live_p = float("nan") if verdict is None else verdict.confidence
    worst = (0.0, "")
    for side in ("left", "right"):
        ref = medians(offline.straight_rows(side))
        mine = [r for r in rows if r["side"] == side and r["straight"]]
        for metric in WALK_METRICS:
            values = np.array([float(r[metric]) for r in mine if r.get(metric) is not None])  # type: ignore[arg-type]
            if values.size and metric in ref:
                diff = abs(float(np.median(values)) - ref[metric])
                worst = max(worst, (diff, f"{side} {metric}"))
    analysis = np.array(chain.analysis_s)
    first_text = "never" if not first else f"{first[0][0]:5.1f} s ({first[0][1]})"
    print(
        f"{driver:22} first verdict {first_text:38} live now {live} ({live_p:.2f}); "
        f"offline {top['side']} {top['driver']} ({top['probability']:.2f}); "
        f"max |live - offline median| {worst[0]:.2f} ({worst[1]}); "
        f"window analysis median {1000 * np.median(analysis):.0f} ms, max "
        f"{1000 * analysis.max():.0f} ms; {len(rows)} strides; run {live_s:.0f} s",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=DEMO_SEED)
    parser.add_argument("--drivers", nargs="*", default=list(DRIVERS))
    args = parser.parse_args()
    logging.getLogger("bumble").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        for driver in args.drivers:
            run(driver, args.seconds, args.seed, Path(tmp) / driver)


if __name__ == "__main__":
    main()
