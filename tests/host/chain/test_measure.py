"""Battery measurements on synthesized pod signals of each test motion (random pod mounting,
IMU bias and noise, a 2-degree alignment error), against the values the motion was made with,
and the validity checks on motions done wrong."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from gaitchain.chain.battery import Battery
from gaitchain.chain.measure import measure_test
from gaitchain.cli import main
from gaitchain.io.recording import PodRecording, Recording, write_recording
from gaitchain.sim.battery import (
    BatteryTruth,
    SimulatedTest,
    battery_truth,
    hip_ir_motion,
    pod_from_rotations,
    simulate_battery,
    sls_motion,
)
from gaitchain.sim.cohort import make_cohort


def _truths() -> list[tuple[BatteryTruth, int]]:
    cohort = make_cohort(12, 404)
    return [(battery_truth(s.faulted(), s.driver, s.side, s.seed), s.seed) for s in cohort]


def _expected(truth: BatteryTruth, test: SimulatedTest) -> dict[str, float]:
    if test.key == "standing_pelvis":
        return {
            "pelvic_obliquity_deg": truth.pelvic_obliquity_deg,
            "pelvic_rotation_deg": truth.pelvic_rotation_deg,
        }
    s = truth.sides[test.side]
    return {
        "hip_ir": {"hip_ir_deg": s.hip_ir_deg},
        "lunge": {"tibial_inclination_deg": s.lunge_inclination_deg},
        # The median over the hold sits half the drift above the start.
        "single_leg_stance": {
            "pelvic_drop_deg": s.sls_drop_deg + 0.5 * s.sls_drift_deg,
            "pelvic_drop_drift_deg_per_30s": s.sls_drift_deg,
        },
        "single_leg_squat": {
            "knee_valgus_deg": s.squat_valgus_deg,
            "tibial_ir_deg": s.squat_tibial_ir_deg,
            "pelvic_drop_deg": s.squat_drop_deg,
        },
    }[test.key]


# Tolerances: the 2-degree alignment error tilts frontal angles by up to about
# sin(40 deg) * 2 deg at squat depth and an absolute tilt (the lunge) by up to 2 deg; angles
# relative to the start of the test are within a degree or so. Absolute tilts (lunge, level
# bar) also carry the accelerometer bias (12 mg, about 0.7 deg per axis).
TOLERANCE_DEG = {
    "hip_ir.hip_ir_deg": 1.5,
    "lunge.tibial_inclination_deg": 2.5,
    "single_leg_stance.pelvic_drop_deg": 1.5,
    "single_leg_stance.pelvic_drop_drift_deg_per_30s": 1.2,
    "single_leg_squat.knee_valgus_deg": 3.0,
    "single_leg_squat.tibial_ir_deg": 3.0,
    "single_leg_squat.pelvic_drop_deg": 3.0,
    "standing_pelvis.pelvic_obliquity_deg": 2.5,
    "standing_pelvis.pelvic_rotation_deg": 2.0,
}


def test_every_test_measures_what_the_motion_was_made_with() -> None:
    errors: dict[str, list[float]] = {}
    for truth, seed in _truths():
        for test in simulate_battery(truth, seed):
            result = measure_test(test.key, test.side, test.pods, test.alignment)
            assert result.valid, (test.key, test.side, result.problems)
            for name, value in _expected(truth, test).items():
                key = f"{test.key}.{name}"
                errors.setdefault(key, []).append(result.values[name] - value)
    assert len(errors) == len(TOLERANCE_DEG)
    for name, values in errors.items():
        worst = float(np.max(np.abs(values)))
        assert worst < TOLERANCE_DEG[name], (name, worst)
        # not trivially zero: the synthesized signals carry noise, bias and alignment error
        assert worst > 0.01, name


def test_sides_and_signs_follow_the_definitions() -> None:
    rng = np.random.default_rng(3)
    for side in ("left", "right"):
        pod, mount = pod_from_rotations(
            ("shank", side), np.arange(0, 15, 0.01), hip_ir_motion(side, 30.0, rng), rng
        )
        result = measure_test("hip_ir", side, {pod.name: pod}, {pod.name: mount})
        assert result.values["hip_ir_deg"] == pytest.approx(30.0, abs=1.0)
        # the same motion read as the other side is an outward turn the wrong way
        other = "right" if side == "left" else "left"
        wrong = dataclasses.replace(pod, side=other)
        result = measure_test("hip_ir", other, {wrong.name: wrong}, {wrong.name: mount})
        assert not result.valid
        assert "outward" in result.problems[0]


def _sls(duration_s: float, jolt_at_s: float | None = None) -> PodRecording:
    rng = np.random.default_rng(5)
    rotations = sls_motion("left", 3.0, 1.0, rng)
    n = round(duration_s * 100)
    pod, _ = pod_from_rotations(
        ("pelvis", "center"), np.arange(n) / 100.0, rotations[:n], rng, mount=np.eye(3)
    )
    if jolt_at_s is not None:
        i = round(jolt_at_s * 100)
        pod.gyr_radps[i : i + 5] += 4.0
    return pod


def test_single_leg_stance_refuses_a_short_hold_and_a_touch_down() -> None:
    assert measure_test("single_leg_stance", "left", {"pelvis": _sls(35.4)}).valid
    short = measure_test("single_leg_stance", "left", {"pelvis": _sls(20.0)})
    assert not short.valid
    assert "30 s" in short.problems[0]
    jolt = measure_test("single_leg_stance", "left", {"pelvis": _sls(35.4, jolt_at_s=20.0)})
    assert any("jolt at 20.0 s" in p for p in jolt.problems)


def test_moving_at_the_start_and_missing_pods_are_reported_not_raised() -> None:
    pod = _sls(35.4)
    pod.gyr_radps[100:150] += 1.0
    result = measure_test("single_leg_stance", "left", {"pelvis": pod})
    assert not result.valid
    assert "not still" in result.problems[0]
    result = measure_test("single_leg_squat", "right", {"pelvis": pod})
    assert result.problems == ("no recording of the right_shank pod",)
    with pytest.raises(ValueError, match="unknown battery test"):
        measure_test("sit_and_reach", "left", {})


def test_assess_commands_build_a_battery_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    pod, _ = pod_from_rotations(
        ("shank", "left"),
        np.arange(0, 15, 0.01),
        hip_ir_motion("left", 28.0, rng),
        rng,
        mount=np.eye(3),
    )
    write_recording(tmp_path / "hip", Recording([pod]))
    battery = tmp_path / "battery.json"
    csv = tmp_path / "hip" / pod.file
    args = ["assess", "measure", "--test", "hip_ir", "--side", "left"]
    assert main([*args, "--pod", f"left_shank={csv}", "--battery", str(battery)]) == 0
    assert (
        main(
            [
                "assess",
                "foot",
                "--side",
                "left",
                "--arch-height-index",
                "0.3",
                "--toe-grip",
                "weak",
                "--battery",
                str(battery),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "assess",
                "symptoms",
                "--side",
                "left",
                "--morning-pain",
                "--weeks",
                "10",
                "--battery",
                str(battery),
            ]
        )
        == 0
    )
    doc = Battery.from_json(json.loads(battery.read_text()))
    assert doc.value("hip_ir", "left", "hip_ir_deg") == pytest.approx(28.0, abs=1.0)
    assert doc.foot["left"].toe_grip == "weak"
    assert doc.symptoms is not None and doc.symptoms.first_step_morning_pain
    assert "Single-leg stance, 30 s (left): not done" in doc.missing()
    # the same recording read as the right side is refused with the reason, exit code 1
    args = ["assess", "measure", "--test", "hip_ir", "--side", "right"]
    assert main([*args, "--pod", f"right_shank={csv}", "--battery", str(battery)]) == 1
    doc = Battery.from_json(json.loads(battery.read_text()))
    assert "Prone hip internal rotation (right): invalid" in " ".join(doc.missing())
