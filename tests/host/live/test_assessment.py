"""The battery panel's steps: every test of chain.battery in order, measured from streamed
samples with chain.measure (a simulated client's test motions fed in as the pipeline would), the
live readout during the test, and the flow through the pipeline's command path on virtual pods
(the BLE link on simulated time; a walking client cannot hold still, which the validity check
says)."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gaitchain.chain.battery import TESTS, Battery, BatteryResult
from gaitchain.chain.measure import measure_test
from gaitchain.fusion.orientation import VqfOrientation
from gaitchain.live.assessment import STEPS, LiveBattery
from gaitchain.live.ble_link import virtual_pods
from gaitchain.live.chain import InlineExecutor, LiveChain
from gaitchain.live.demo_battery import demo_tests
from gaitchain.live.hub import LiveHub
from gaitchain.live.simulated import SimulatedLive
from gaitchain.sim.battery import SimulatedTest, battery_truth, simulate_battery
from gaitchain.sim.params import Walker
from gaitchain.sim.simtime import run_simulated
from gaitchain.sim.walk import apply_driver, parse_driver


def main_value(result: BatteryResult) -> float:
    return next(iter(result.values.values()))


def _index(key: str, side: str) -> int:
    return next(i for i, s in enumerate(STEPS) if (s.test.key, s.side) == (key, side))


def test_steps_are_the_battery_tests_per_side() -> None:
    assert {s.test.key for s in STEPS} == {t.key for t in TESTS}
    assert len(STEPS) == sum(2 if t.per_side else 1 for t in TESTS)
    assert STEPS[_index("hip_ir", "right")].pods == ("right_shank",)


@pytest.fixture(scope="module")
def tests_left() -> dict[str, SimulatedTest]:
    driver, side = parse_driver("left-hip-ir-deficit")
    walker = apply_driver(Walker(), driver, side, 1.0)
    truth = battery_truth(walker, driver, side, seed=5)
    return {t.key: t for t in simulate_battery(truth, 5) if t.side == "left"}


def _stream(battery: LiveBattery, test: SimulatedTest, chunk: int = 6) -> list[float]:
    """Feed a test's pods in chunks (interleaved in time, as the pipeline does); the readouts
    seen after each chunk of the step's first pod."""
    quats = {
        name: VqfOrientation(mode="online")
        .estimate(pod.acc_mps2, pod.gyr_radps, None, sampling_rate_hz=pod.rate_hz)
        .orientation_6d_
        for name, pod in test.pods.items()
    }
    readouts: list[float] = []
    n = min(pod.t_s.shape[0] for pod in test.pods.values())
    for start in range(0, n, chunk):
        part = slice(start, start + chunk)
        for name, pod in test.pods.items():
            battery.add(
                name,
                pod.t_s[part],
                pod.acc_mps2[part],
                pod.gyr_radps[part],
                quats[name][part],
                test.alignment[name],
            )
        value = battery.snapshot(0.0)["current"]["readout"]["value"]
        readouts.append(np.nan if value is None else value)
    return readouts


@pytest.mark.parametrize("key", ["hip_ir", "single_leg_stance", "lunge"])
def test_a_streamed_test_is_measured_like_the_offline_battery(
    key: str, tests_left: dict[str, SimulatedTest], tmp_path: Path
) -> None:
    test = tests_left[key]
    battery = LiveBattery(executor=InlineExecutor(), save_to=tmp_path / "battery.json")
    for name in test.pods:  # the pods stream before the step starts
        battery.add(name, *_still_samples(), None)
    battery.command({"action": "select", "index": _index(key, "left")}, 0.0)
    battery.command({"action": "start"}, float(next(iter(test.pods.values())).t_s[0]))
    assert battery.state == "running"
    readouts = _stream(battery, test)
    battery.command({"action": "stop"}, 100.0)
    battery.poll(100.0)
    panel = battery.snapshot(100.0)
    assert battery.state == "ready" and panel["steps"][_index(key, "left")]["status"] == "valid"
    result = panel["current"]["result"]
    assert result["valid"] and result["problems"] == []
    offline = measure_test(key, "left", test.pods, test.alignment)
    assert offline.valid
    for name, value in offline.values.items():
        assert result["values"][name] == pytest.approx(value, abs=1e-9), name
    assert battery.battery.value(key, "left", next(iter(offline.values))) is not None
    saved = Battery.from_json(json.loads((tmp_path / "battery.json").read_text()))
    assert saved.value(key, "left", next(iter(offline.values))) == pytest.approx(
        main_value(offline)
    )
    # the readout follows the measured quantity while the test runs
    main = main_value(offline)
    assert np.nanmax(np.abs(readouts)) == pytest.approx(abs(main), abs=3.0), (key, main)


def test_commands_out_of_turn_are_refused_with_a_message() -> None:
    battery = LiveBattery(executor=InlineExecutor())
    battery.add("left_shank", *_still_samples(), None)
    battery.command({"action": "stop"}, 0.0)
    assert battery.state == "ready" and "cannot 'stop' while ready" in battery.message
    battery.command({"action": "start"}, 0.0)
    battery.command({"action": "select", "index": 3}, 0.0)
    assert battery.selected == 0, "the test cannot change while it runs"
    battery.command({"action": "cancel"}, 0.0)
    assert battery.state == "ready" and battery.message == "cancelled"
    battery.command("nonsense", 0.0)
    assert battery.state == "ready"


def _still_samples() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    t = np.arange(10) / 100.0
    acc = np.tile([0.0, 0.0, 9.81], (10, 1))
    quat = np.tile([1.0, 0.0, 0.0, 0.0], (10, 1))
    return t, acc, np.zeros((10, 3)), quat


def test_a_step_whose_pods_are_not_streaming_is_not_started() -> None:
    battery = LiveBattery(executor=InlineExecutor())
    battery.add("pelvis", *_still_samples(), None)
    battery.command({"action": "select", "index": _index("hip_ir", "left")}, 0.0)
    battery.command({"action": "start"}, 0.0)
    assert battery.state == "ready" and "left shank pod, which is not streaming" in battery.message
    battery.command({"action": "select", "index": _index("standing_pelvis", "both")}, 0.0)
    battery.command({"action": "start"}, 0.0)
    assert battery.state == "ready" and "level-bar pod" in battery.message
    assert battery.snapshot(0.0)["current"]["result"] is None, "no invalid result to show"
    battery.command({"action": "select", "index": _index("single_leg_stance", "left")}, 0.0)
    battery.command({"action": "start"}, 0.0)
    assert battery.state == "running", "the pelvis pod streams"


def test_the_demo_battery_is_performed_by_the_simulator() -> None:
    """`gaitchain demo`'s walker never stops walking: each step is measured on the simulator's
    recording of the test for the same walker (left hip internal-rotation deficit), so every
    step, the level bar's included, is valid and the deficit shows on its side."""
    battery = LiveBattery(executor=InlineExecutor(), replay=demo_tests("left-hip-ir-deficit", 7))
    values: dict[tuple[str, str], float] = {}
    for index, step in enumerate(STEPS):
        battery.command({"action": "select", "index": index}, 0.0)
        battery.command({"action": "start"}, 0.0)
        assert battery.state == "running" and battery.message.startswith("demo:")
        battery.command({"action": "stop"}, 5.0)
        battery.poll(5.0)
        panel = battery.snapshot(5.0)
        result = panel["current"]["result"]
        assert result is not None and result["valid"], (step.title, result)
        assert "simulator" in panel["message"]
        values[(step.test.key, step.side)] = main_value(
            battery.battery.results[(step.test.key, step.side)]
        )
    assert len(battery.battery.results) == len(STEPS)
    assert values[("hip_ir", "left")] < values[("hip_ir", "right")] - 5.0


def test_battery_flow_through_the_pipeline_on_virtual_pods(tmp_path: Path) -> None:
    hub = LiveHub()
    panels: dict[str, dict[str, Any] | None] = {}

    async def main() -> SimulatedLive:
        run = SimulatedLive(
            virtual_pods(5, minutes=1.0, driver="healthy", seed=3),
            hub,
            chain=LiveChain(executor=InlineExecutor()),
            battery=LiveBattery(executor=InlineExecutor()),
            record_dir=tmp_path,
        )
        run.start()
        await run.run_to(14.0)  # connected and standing (the demo walker stands 12 s first)
        step = {"action": "select", "index": _index("single_leg_stance", "left")}
        run.pipeline.request("battery", step)
        run.pipeline.request("battery", {"action": "start"})
        await run.run_to(20.0)
        panels["running"] = hub.snapshot("battery")
        run.pipeline.request("battery", {"action": "stop"})
        await run.run_to(21.0)
        panels["stopped"] = hub.snapshot("battery")
        await run.close()
        return run

    pipeline = run_simulated(main(), timeout_s=60.0).pipeline
    panel = panels["running"]
    assert panel is not None and panel["state"] == "running"
    current = panel["current"]
    assert current["test"] == "single_leg_stance" and current["pods"] == ["pelvis"]
    assert "hands on hips" in current["instructions"] and current["elapsed_s"] > 5.0
    assert current["readout"]["label"] == "pelvic drop"
    assert isinstance(current["readout"]["value"], float)
    panel = panels["stopped"]
    assert panel is not None and panel["state"] == "ready"
    result = panel["current"]["result"]
    assert result is not None and not result["valid"], "6 s of a 30-s stance, partly walking"
    assert any(("still" in p or "30 s" in p) for p in result["problems"]), result["problems"]
    assert panel["steps"][_index("single_leg_stance", "left")]["status"] == "invalid"
    assert pipeline.battery.battery.results == {}, "an invalid test is not kept"
    assert not list(tmp_path.glob("battery-*.json")), "nothing valid to save"
