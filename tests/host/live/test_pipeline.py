"""The live pipeline over the BLE link (`BlePodLink`: bleak's API, `PodSession`) to virtual pods
on a Bumble backend, all on simulated time (deterministic, faster than real time): pod status,
traces, strides with their timing, a link drop-out, commands and pings reaching the pods,
recording, verdicts."""

import asyncio
import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gaitchain.calibration_records import (
    AccelerometerCalibration,
    GyroscopeCalibration,
    ImuCalibrationRecord,
)
from gaitchain.link.virtual import VirtualPods
from gaitchain.live.angles import CHANNELS
from gaitchain.live.assessment import LiveBattery
from gaitchain.live.ble_link import BlePodLink, virtual_pods
from gaitchain.live.chain import InlineExecutor, LiveChain
from gaitchain.live.hub import ClientFeed, LiveHub
from gaitchain.live.link import LinkChange, Packet, Sent
from gaitchain.live.pipeline import LivePipeline
from gaitchain.live.verdict import JsonFileVerdicts
from gaitchain.protocol import (
    Command,
    CommandCode,
    CommandResult,
    Ping,
    Reply,
    decode,
    encode,
)
from gaitchain.sim.params import Walker
from gaitchain.sim.simtime import run_simulated
from gaitchain.stream import read_journal

logging.getLogger("bumble").setLevel(logging.ERROR)
DROPPED = 0x0104  # the left foot pod goes out of range for 2 s
COMMANDED = 0x0101  # the pelvis pod is stopped and started again by commands
CALIBRATION = ImuCalibrationRecord(
    COMMANDED,
    "2026-11-20T09:00:00Z",
    "0.1.0",
    GyroscopeCalibration(np.zeros(3), 10.0, {}),
    AccelerometerCalibration("six-position", np.zeros(3), np.eye(3), 9.80665, 6, 0.001, {}),
    None,
    [],
)
"""The commanded pod's calibration record (the pods' own errors are not known here: one that
changes nothing; `test_pod_fusion.py` shows a record's effect)."""


class Run:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.verdict_file = tmp / "verdict.json"
        self.hub = LiveHub()
        self.feed = self.hub.subscribe()
        self.frames: list[dict[str, Any]] = []
        self.events: list[object] = []
        self.streaming: dict[str, bool] = {}
        self.produced: dict[str, int] = {}
        self.pipeline: LivePipeline
        self.link: BlePodLink
        self.pods: VirtualPods

    async def main(self) -> None:
        loop = asyncio.get_running_loop()
        opener = virtual_pods(5, minutes=1.0, driver="healthy", seed=3)
        self.link = BlePodLink(opener, now_s=loop.time, attach=True)
        self.pipeline = LivePipeline(
            _Tap(self.link, self.events),
            self.hub,
            now_s=loop.time,
            verdicts=JsonFileVerdicts(self.verdict_file),
            chain=LiveChain(executor=InlineExecutor()),
            battery=LiveBattery(executor=InlineExecutor()),
            record_dir=self.tmp / "recordings",
            calibrations={COMMANDED: CALIBRATION},
        )
        self.pipeline.start()
        await self.run_to(20.0)
        self.pods = self.link.pods.extra["virtual"]  # type: ignore[union-attr]
        self.pipeline.request("record", True)
        self.pods.drop_link(DROPPED, 2.0)
        await self.run_to(24.0)
        self.command(COMMANDED, 900, CommandCode.STOP)
        await self.run_to(25.0)
        pod = self.pods.pod(COMMANDED)
        self.streaming["after STOP"] = pod.pod.streaming
        self.produced["after STOP"] = pod.produced_samples()
        await self.run_to(27.0)
        self.produced["1 s later"] = pod.produced_samples()
        self.command(COMMANDED, 901, CommandCode.START)
        await self.run_to(30.0)
        self.streaming["after START"] = pod.pod.streaming
        self.pipeline.request("record", False)
        self.verdict_file.write_text(
            json.dumps(
                {"driver": "hip-ir-deficit", "side": "left", "confidence": 0.7, "evidence": ["e1"]}
            )
        )
        await self.run_to(36.0)
        self.pipeline.close()
        await self.link.wait_closed()

    def command(self, pod_id: int, seq: int, code: CommandCode) -> None:
        self.link.send(pod_id, encode(Command(pod_id, seq, code)))

    async def run_to(self, t_s: float) -> None:
        loop = asyncio.get_running_loop()
        while loop.time() < t_s:
            await asyncio.sleep(0.01)
            self.pipeline.step()
            if len(self.frames) < loop.time() * 10:
                self.frames.append(self.hub.take(self.feed))


class _Tap:
    """The link, with every event it delivered kept for the test."""

    def __init__(self, link: BlePodLink, events: list[object]) -> None:
        self.link = link
        self.events = events

    def start(self, now_s: float) -> None:
        self.link.start(now_s)

    def poll(self, now_s: float) -> list[Any]:
        events = self.link.poll(now_s)
        self.events.extend(events)
        return events

    def send(self, pod_id: int, data: bytes) -> None:
        self.link.send(pod_id, data)

    def close(self) -> None:
        self.link.close()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    run = Run(tmp_path_factory.mktemp("live"))
    run_simulated(run.main(), timeout_s=60.0)
    return run


def test_pods_report_link_rate_and_clock(run: Run) -> None:
    rows = {r["pod"]: r for r in run.pipeline.pod_rows()}
    assert set(rows) == {f"{spec.pod_id:04x}" for spec in run.pods.specs}
    for spec in run.pods.specs:
        row = rows[f"{spec.pod_id:04x}"]
        assert row["connected"]
        assert abs(row["rate_hz"] - 120.0 * (1 + spec.clock_ppm * 1e-6)) < 0.01
        assert abs(row["drift_ppm"] - spec.clock_ppm) < 1.0, "the clock model finds drift"
        assert row["battery_pct"] is not None and 0 < row["battery_pct"] <= 100
        assert row["alignment"].startswith("aligned")
        assert row["lost_samples"] == 0
        calibrated = spec.pod_id == COMMANDED
        assert row["calibration"] == ("2026-11-20" if calibrated else "none")
        fusion = run.pipeline.pods[spec.pod_id].fusion
        assert fusion is not None
        assert fusion.calibration is (CALIBRATION if calibrated else None)


def test_dropped_link_is_reported_and_nothing_is_lost(run: Run) -> None:
    states = [
        (frame["pods"]["session_s"], {r["pod"]: r["connected"] for r in frame["pods"]["rows"]})
        for frame in run.frames
        if "pods" in frame
    ]
    down = [t for t, s in states if not s.get("0104", True) and t > 10.0]
    assert down and min(down) >= 20.0 and max(down) < 23.0, "the page saw the link down"
    assert all(s["0104"] for t, s in states if t > 23.0), "and up again"
    changes = [
        (e.host_s, e.up) for e in run.events if isinstance(e, LinkChange) and e.pod_id == DROPPED
    ]
    assert [up for _, up in changes] == [False, True, False, True], "down until connected"
    assert 20.0 <= changes[2][0] < 20.5 and 22.0 < changes[3][0] < 26.0
    session = run.link.sessions[DROPPED].state
    assert (session.connects, session.disconnects) == (2, 1)
    stream = run.pipeline.assembler.stream(DROPPED)
    assert stream.counters.lost_samples == 0, "what the drop cost was asked for again"
    assert stream.counters.gaps == 0 or stream.counters.recovered_batches > 0
    assert stream.counters.batches > 0 and stream.connected


def test_one_assembler_sees_every_message_both_ways(run: Run) -> None:
    """The sessions' own commands (GET_INFO first on every connect) come through as `Sent`; the
    pipeline's pings reach the pods (their echoes train the clock models)."""
    sent = [
        (e.host_send_s, decode(e.data))
        for e in run.events
        if isinstance(e, Sent) and e.pod_id == DROPPED
    ]
    assert any(isinstance(m, Ping) for _, m in sent), "pings are noted again as they go out"
    reconnect = [m.code for t, m in sent if t > 20.0 and isinstance(m, Command)]
    assert reconnect[0] is CommandCode.GET_INFO, "a reboot would be seen first"
    assert reconnect[-1] is CommandCode.GET_STREAM_CONFIG, "(GET_INFO again after encrypting)"
    assert CommandCode.START not in reconnect, "the pod kept streaming while out of range"
    for spec in run.pods.specs:
        counters = run.pipeline.assembler.stream(spec.pod_id).counters
        assert counters.pings >= 20 and counters.echoes >= 0.9 * counters.pings
    assert len(run.pipeline.assembler.pods) == 5


def test_commands_reach_the_pod(run: Run) -> None:
    assert run.streaming == {"after STOP": False, "after START": True}
    assert run.produced["1 s later"] == run.produced["after STOP"], "stopped means stopped"
    replies = [
        decode(e.data)
        for e in run.events
        if isinstance(e, Packet) and e.pod_id == COMMANDED and e.data[1] == 10
    ]
    answered = {r.seq: r.result for r in replies if isinstance(r, Reply)}
    assert answered[900] is CommandResult.OK and answered[901] is CommandResult.OK


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
    stride_asymmetry = summary["asymmetry"]["stride_time_s"]
    assert stride_asymmetry["kind"] == "SI" and stride_asymmetry["unit"] == "%"
    assert abs(stride_asymmetry["value"]) < 3.0, "healthy walker: symmetric"
    assert summary["fatigue"]["left_stride_time_s"][1], "the fatigue trend has a point"


def test_recording_writes_a_journal_of_every_pod(run: Run) -> None:
    path = run.pipeline.journal_path
    assert path is not None and path.exists() and run.pipeline.journal is None
    contents = read_journal(path)
    pods = {r.pod_id for r in contents.records}
    assert pods >= {spec.pod_id for spec in run.pods.specs}
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
