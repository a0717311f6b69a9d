"""The live pipeline on virtual pods, faster than real time (a step clock): pod status, traces,
strides with their timing, link drop-outs, recording, verdicts."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from gaitchain.live.angles import CHANNELS
from gaitchain.live.app import StepClock
from gaitchain.live.assessment import LiveBattery
from gaitchain.live.chain import InlineExecutor, LiveChain
from gaitchain.live.hub import ClientFeed, LiveHub
from gaitchain.live.pipeline import LivePipeline
from gaitchain.live.verdict import JsonFileVerdicts
from gaitchain.live.virtual_link import VirtualPodLink, VirtualWalkConfig
from gaitchain.sim.params import Walker
from gaitchain.stream import read_journal


class Run:
    def __init__(self, tmp: Path) -> None:
        self.clock = StepClock(0.01)
        self.link = VirtualPodLink(VirtualWalkConfig(driver="healthy", minutes=2.0, seed=3))
        self.hub = LiveHub()
        self.verdict_file = tmp / "verdict.json"
        self.pipeline = LivePipeline(
            self.link,
            self.hub,
            now_s=self.clock,
            verdicts=JsonFileVerdicts(self.verdict_file),
            chain=LiveChain(executor=InlineExecutor()),
            battery=LiveBattery(executor=InlineExecutor()),
            record_dir=tmp / "recordings",
        )
        self.feed = self.hub.subscribe()
        self.frames: list[dict[str, object]] = []
        self.pipeline.start()

    def run_to(self, t_s: float) -> None:
        while self.clock() < t_s:
            self.clock.advance()
            self.pipeline.step()
            if round(self.clock() / 0.01) % 10 == 0:
                self.frames.append(self.hub.take(self.feed))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    run = Run(tmp_path_factory.mktemp("live"))
    run.run_to(20.0)
    run.pipeline.request("record", True)
    run.link.disconnect(0x0104, run.clock())
    run.run_to(22.0)
    run.link.connect(0x0104, run.clock())
    run.run_to(30.0)
    run.pipeline.request("record", False)
    run.verdict_file.write_text(
        json.dumps(
            {"driver": "hip-ir-deficit", "side": "left", "confidence": 0.7, "evidence": ["e1"]}
        )
    )
    run.run_to(36.0)
    return run


def test_pods_report_link_rate_and_clock(run: Run) -> None:
    rows = {r["pod"]: r for r in run.pipeline.pod_rows()}
    assert set(rows) == {f"{pid:04x}" for pid in run.link.pods}
    for pod_id, pod in run.link.pods.items():
        row = rows[f"{pod_id:04x}"]
        assert row["connected"]
        assert abs(row["rate_hz"] - 120.0 * (1 + pod.config.clock_ppm * 1e-6)) < 0.01
        assert abs(row["drift_ppm"] - pod.config.clock_ppm) < 1.0, "the clock model finds drift"
        assert row["battery_pct"] is not None and 0 < row["battery_pct"] <= 100
        assert row["alignment"].startswith("aligned")
        assert row["lost_samples"] == 0


def test_dropped_link_is_reported_and_nothing_is_lost(run: Run) -> None:
    states = [
        {r["pod"]: r["connected"] for r in frame["pods"]["rows"]}  # type: ignore[index]
        for frame in run.frames
        if "pods" in frame
    ]
    assert any(not s.get("0104", True) for s in states), "the page saw the foot pod's link down"
    stream = run.pipeline.assembler.stream(0x0104)
    assert stream.counters.lost_samples == 0
    assert stream.counters.batches > 0 and stream.connected


def test_traces_cover_every_channel_in_time(run: Run) -> None:
    seen: dict[str, list[float]] = {}
    for frame in run.frames:
        for channel, (t, _) in frame["traces"].items():  # type: ignore[union-attr]
            seen.setdefault(channel, []).extend(t)
    assert set(seen) == set(CHANNELS) and len(CHANNELS) == 6
    for channel, times in seen.items():
        assert times == sorted(times), f"{channel} in time order"
        assert max(times) > 35.0, f"{channel} is still live"


def test_strides_on_both_sides_with_the_walkers_timing(run: Run) -> None:
    rows = [r for frame in run.frames for r in frame["strides"]]  # type: ignore[attr-defined]
    stride_s = Walker().gait.stride_s
    for side in ("left", "right"):
        everyone = [r for r in rows if r["side"] == side]
        mine = [r for r in everyone if r["stance_pct"] is not None]
        assert len(mine) >= 5 and len(mine) >= 0.8 * len(everyone), f"{side} strides with stance"
        straight = sorted(r["stride_time_s"] for r in mine)[len(mine) // 2]
        assert abs(straight - stride_s) < 0.03 * stride_s
        stance = sorted(r["stance_pct"] for r in mine)[len(mine) // 2]
        assert 55.0 < stance < 68.0
        assert all(math.isfinite(r["cadence_spm"]) for r in mine)
    summary = run.hub.snapshot("summary")
    assert summary is not None
    assert abs(summary["asymmetry_pct"]["stride_time_s"]) < 3.0, "healthy walker: symmetric"
    assert summary["fatigue"]["left_stride_time_s"][1], "the fatigue trend has a point"


def test_recording_writes_a_journal_of_every_pod(run: Run) -> None:
    path = run.pipeline.journal_path
    assert path is not None and path.exists() and run.pipeline.journal is None
    contents = read_journal(path)
    pods = {r.pod_id for r in contents.records}
    assert pods >= set(run.link.pods)
    times = [r.host_s for r in contents.records]
    assert min(times) >= 19.9 and max(times) <= 30.1


def test_verdict_from_the_source_reaches_the_summary(run: Run) -> None:
    summary = run.hub.snapshot("summary")
    assert summary is not None
    panel = summary["verdict"]
    assert panel["available"] and panel["verdict"]["driver"] == "hip-ir-deficit"
    assert panel["verdict"]["evidence"] == ["e1"]


def test_a_slow_browser_gets_decimated_traces_not_a_queue(run: Run) -> None:
    feed = ClientFeed(max_points=100)
    for k in range(200):
        t = np.arange(3, dtype=np.float64) * 0.01 + 0.03 * k
        feed.add_trace("x", t, t)
    assert feed.pending_points <= 100 and feed.decimations > 0
    frame = feed.take()
    t = frame["traces"]["x"][0]
    assert t == sorted(t) and t[0] == 0.0 and t[-1] > 5.9, "still spans the whole time"
