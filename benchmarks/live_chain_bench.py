"""The live chain analysis against the offline analysis of the same walk.

For each driver: five virtual pods on the simulated walker through the virtual link, faster than
real time (a StepClock), the live pipeline's chain analysis (windows run inline, so the figures do
not depend on the machine's load), the session's journal converted and analysed offline
(`gaitchain analyze`'s path). Prints when the live verdict first appeared, the live and the offline
verdicts, the largest difference of the live and offline straight-stride medians over the
classifier's walking features, and how long one window's analysis took.

.venv/bin/python benchmarks/live_chain_bench.py --seconds 120 --seed 7
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from gaitchain.chain.features import WALK_METRICS
from gaitchain.gait.analysis import analyze
from gaitchain.gait.summary import medians
from gaitchain.live.app import StepClock
from gaitchain.live.assessment import LiveBattery
from gaitchain.live.chain import InlineExecutor, LiveChain
from gaitchain.live.hub import LiveHub
from gaitchain.live.pipeline import LivePipeline
from gaitchain.live.virtual_link import DEMO_MTU, VirtualPodLink, VirtualWalkConfig
from gaitchain.stream import journal_to_recording

DRIVERS = (
    "left-hip-ir-deficit",
    "right-glute-med",
    "left-ankle-df-limit",
    "right-foot-level",
    "left-pelvic-asymmetry",
    "healthy",
)


def run(driver: str, seconds: float, seed: int, tmp: Path) -> None:
    clock = StepClock(0.01)
    link = VirtualPodLink(VirtualWalkConfig(driver=driver, seed=seed, minutes=60.0, mtu=DEMO_MTU))
    hub = LiveHub()
    chain = LiveChain(executor=InlineExecutor())
    pipeline = LivePipeline(
        link,
        hub,
        now_s=clock,
        chain=chain,
        battery=LiveBattery(executor=InlineExecutor()),
        record_dir=tmp,
    )
    feed = hub.subscribe()
    pipeline.start()
    pipeline.request("record", True)
    rows: list[dict[str, object]] = []
    first: tuple[float, str] | None = None
    began = time.perf_counter()
    while clock() < seconds:
        clock.advance()
        pipeline.step()
        if round(clock() / 0.01) % 50 == 0:
            rows += hub.take(feed)["strides"]
            verdict = chain()
            if verdict is not None and first is None:
                first = (clock(), f"{verdict.side} {verdict.driver}".strip())
    pipeline.request("record", False)
    clock.advance()
    pipeline.step()
    pipeline.close()
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
    first_text = "never" if first is None else f"{first[0]:5.1f} s ({first[1]})"
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
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--drivers", nargs="*", default=list(DRIVERS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for driver in args.drivers:
            run(driver, args.seconds, args.seed, Path(tmp) / driver)


if __name__ == "__main__":
    main()
