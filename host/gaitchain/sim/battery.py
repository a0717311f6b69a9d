"""Simulated assessment battery: what a subject's tests would show, and their pod recordings.

`battery_truth` sets what each test should measure for a walker: the walker's faults act where
the fault models in `params` say (a hip internal-rotation deficit lowers the prone range; a weak
gluteus medius drops the pelvis in single-leg stance, more as the hold goes on, and collapses the
knee in the squat; pelvic asymmetry tilts and turns the standing pelvis; an ankle dorsiflexion
deficit lowers the lunge; foot-level faults lower the arch), on top of individual variation
(standard deviations at `variation` = 1 as in the clinical sources of `chain.battery`: prone hip
rotation about 4 deg, lunge 4 deg, arch height index 0.02). These mappings are the simulator's
hypotheses, like the gait fault models.

`synthesize_*` turn a test's motion (segment orientations over the protocol's timing) into a pod
recording: slow movements, so specific force is gravity (linear acceleration is left out), with
the pod's mounting, gyroscope and accelerometer bias and noise of `ImuErrors`, and postural sway.
"""

import dataclasses
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation, Slerp

from ..chain.battery import SIDES, FootStructure, Symptoms
from ..gait.angles import side_sign
from ..io.recording import PodRecording
from ..signals import G_MPS2
from .imu import random_mount
from .params import ImuErrors, Walker

FloatArray = NDArray[np.float64]
RATE_HZ: Final = 100.0
START_S: Final = 3.0


@dataclass(frozen=True)
class SideTruth:
    hip_ir_deg: float
    sls_drop_deg: float
    sls_drift_deg: float
    squat_valgus_deg: float
    squat_tibial_ir_deg: float
    squat_drop_deg: float
    lunge_inclination_deg: float
    foot: FootStructure


@dataclass(frozen=True)
class BatteryTruth:
    sides: dict[str, SideTruth]
    pelvic_obliquity_deg: float
    pelvic_rotation_deg: float
    symptoms: Symptoms


def battery_truth(
    walker: Walker, driver: str, side: str, seed: int, variation: float = 1.0
) -> BatteryTruth:
    """What the battery of `walker` (with its faults applied) should measure; `driver` and
    `side` only set the reported symptoms."""
    rng = np.random.default_rng([seed, 0xBA77])
    v = variation
    sides: dict[str, SideTruth] = {}
    for name in SIDES:
        f = walker.side(name)
        weakness = f.glute_med_weakness
        foot_fault = f.extra_eversion_deg / 5.0
        p_loose = 0.15 + 0.6 * min(1.0, foot_fault)
        sides[name] = SideTruth(
            hip_ir_deg=f.hip_ir_rom_deg + rng.normal(0.0, 4.0 * v),
            sls_drop_deg=rng.normal(0.0, 1.0 * v) + 1.2 * f.glute_med_drop_deg * weakness,
            sls_drift_deg=rng.normal(0.0, 0.4 * v)
            + 4.0 * weakness * (1.0 + 10.0 * f.glute_med_fatigue_per_1000_steps),
            squat_valgus_deg=rng.normal(3.0, 2.0 * v) + 1.2 * f.glute_med_valgus_deg * weakness,
            squat_tibial_ir_deg=rng.normal(5.0, 2.0 * v)
            + f.glute_med_rotation_deg * weakness
            + 0.3 * f.hip_ir_deficit_deg,
            squat_drop_deg=rng.normal(0.0, 1.0 * v) + 0.8 * f.glute_med_drop_deg * weakness,
            lunge_inclination_deg=rng.normal(40.0, 4.0 * v) - 1.4 * f.ankle_df_deficit_deg,
            foot=FootStructure(
                arch_height_index=float(
                    np.clip(rng.normal(0.34, 0.02 * v) - 0.03 * foot_fault, 0.2, 0.45)
                ),
                first_ray_mobility="hypermobile" if rng.random() < p_loose else "normal",
                toe_grip="weak" if rng.random() < p_loose else "normal",
            ),
        )
    body = walker.body
    pelvis = walker.pelvis
    obliquity = float(
        np.degrees(np.arcsin(pelvis.leg_length_difference_m / (2 * body.hip_width_m)))
    )
    faulted = driver != "healthy"
    symptoms = Symptoms(
        side=side if faulted else "none",
        first_step_morning_pain=faulted and bool(rng.random() < 0.8),
        duration_weeks=float(np.round(rng.uniform(4, 52), 0)) if faulted else 0.0,
    )
    return BatteryTruth(
        sides,
        pelvic_obliquity_deg=obliquity + rng.normal(0.0, 0.8 * v),
        pelvic_rotation_deg=pelvis.rotation_offset_deg + rng.normal(0.0, 1.5 * v),
        symptoms=symptoms,
    )


def _ramp(t_s: FloatArray, start_s: float, end_s: float) -> FloatArray:
    u = np.clip((t_s - start_s) / (end_s - start_s), 0.0, 1.0)
    return u * u * (3 - 2 * u)


def _axis_rotation(axis: int, angle_deg: FloatArray) -> FloatArray:
    vectors = np.zeros((angle_deg.size, 3))
    vectors[:, axis] = np.radians(angle_deg)
    return Rotation.from_rotvec(vectors).as_matrix()


def _sway(t_s: FloatArray, rng: np.random.Generator, amplitude_deg: float) -> FloatArray:
    """Postural sway: a slow random rotation of a few tenths of a degree."""
    out = np.zeros((t_s.size, 3))
    for axis in range(3):
        for hz in (0.2, 0.5, 1.1):
            phase = rng.uniform(0, 2 * np.pi)
            out[:, axis] += np.sin(2 * np.pi * hz * t_s + phase) * rng.normal(0, 1) / 3
    return Rotation.from_rotvec(np.radians(amplitude_deg) * out).as_matrix()


def pod_from_rotations(
    name: tuple[str, str],
    t_s: FloatArray,
    world_from_segment: FloatArray,
    rng: np.random.Generator,
    errors: ImuErrors | None = None,
    mount: FloatArray | None = None,
) -> tuple[PodRecording, FloatArray]:
    """A still-or-slow pod's recording from its segment's orientations, and the mounting used
    (rows: segment axes in sensor coordinates)."""
    errors = errors or ImuErrors()
    segment, side = name
    if mount is None:
        mount, _ = random_mount(segment, side, errors.mounting_max_deg, rng)
    world_from_sensor = world_from_segment @ mount
    rate_hz = 1.0 / float(t_s[1] - t_s[0])
    step = Rotation.from_matrix(np.swapaxes(world_from_sensor[:-1], 1, 2) @ world_from_sensor[1:])
    gyr = np.vstack([step.as_rotvec() * rate_hz, np.zeros((1, 3))])
    gyr = 0.5 * (gyr + np.vstack([gyr[:1], gyr[:-1]]))
    acc = np.swapaxes(world_from_sensor, 1, 2) @ np.array([0.0, 0.0, G_MPS2])
    gyr_noise = np.radians(errors.gyr_noise_mdps_per_rthz * 1e-3) * np.sqrt(rate_hz / 2)
    acc_noise = errors.acc_noise_ug_per_rthz * 1e-6 * G_MPS2 * np.sqrt(rate_hz / 2)
    gyr = (
        gyr
        + rng.normal(0.0, np.radians(errors.gyr_bias_dps), 3)
        + rng.normal(0.0, gyr_noise, gyr.shape)
    )
    acc = (
        acc
        + rng.normal(0.0, errors.acc_bias_mg * 1e-3 * G_MPS2, 3)
        + rng.normal(0.0, acc_noise, acc.shape)
    )
    pod = PodRecording(f"{segment}.csv", segment, side, t_s, acc, gyr)
    return pod, mount


def _times(duration_s: float) -> FloatArray:
    return np.arange(0.0, duration_s, 1.0 / RATE_HZ)


PRONE_SHANK: Final = np.array([[0.0, -1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, -1.0]]).T
"""Prone, knee at 90 deg: shank forward axis toward the feet (-y world), long axis down."""


def hip_ir_motion(side: str, hip_ir_deg: float, rng: np.random.Generator) -> FloatArray:
    t = _times(15.0)
    angle = hip_ir_deg * (_ramp(t, START_S, 7.0) - _ramp(t, 10.0, 13.0))
    return PRONE_SHANK @ _axis_rotation(0, side_sign(side) * angle) @ _sway(t, rng, 0.3)


def sls_motion(
    side: str, drop_deg: float, drift_deg: float, rng: np.random.Generator
) -> FloatArray:
    t = _times(START_S + 2.0 + 30.5)
    hold = np.clip((t - START_S - 2.0) / 30.0, 0.0, 1.0)
    drop = _ramp(t, START_S, START_S + 2.0) * (drop_deg + drift_deg * hold)
    return _axis_rotation(0, side_sign(side) * drop) @ _sway(t, rng, 0.5)


def squat_motion(
    side: str,
    truth: SideTruth,
    rng: np.random.Generator,
    depth_deg: float = 40.0,
) -> tuple[FloatArray, FloatArray]:
    """Shank and pelvis orientations over 5 squats of 3 s each."""
    t = _times(START_S + 5 * 3.0 + 2.0)
    u = np.clip((t - START_S) / 3.0, 0.0, 5.0)
    depth = np.where(u < 5.0, 0.5 * (1 - np.cos(2 * np.pi * u)), 0.0)
    sign = side_sign(side)
    shank = (
        _axis_rotation(1, depth_deg * depth)
        @ _axis_rotation(0, sign * truth.squat_valgus_deg * depth)
        @ _axis_rotation(2, -sign * truth.squat_tibial_ir_deg * depth)
        @ _sway(t, rng, 0.3)
    )
    pelvis = (
        _axis_rotation(1, 15.0 * depth)
        @ _axis_rotation(0, sign * truth.squat_drop_deg * depth)
        @ _sway(t, rng, 0.3)
    )
    return shank, pelvis


def bar_motion(obliquity_deg: float, rotation_deg: float, rng: np.random.Generator) -> FloatArray:
    """Level bar: flat on the floor (x toward the client's left), lifted, then held across the
    iliac spines with its face against the body."""
    t = _times(12.0)
    yaw0 = rng.uniform(-180.0, 180.0)
    keys = Rotation.from_euler(
        "ZYX",
        [
            [yaw0, 0.0, 0.0],
            [yaw0, 0.0, 0.0],
            [yaw0 + 20.0, -30.0, 40.0],
            [yaw0 + rotation_deg, -obliquity_deg, 80.0],
            [yaw0 + rotation_deg, -obliquity_deg, 80.0],
        ],
        degrees=True,
    )
    slerp = Slerp(np.array([0.0, START_S, 5.0, 7.0, 12.0]), keys)
    return slerp(t).as_matrix() @ _sway(t, rng, 0.2)


def lunge_motion(inclination_deg: float, rng: np.random.Generator) -> FloatArray:
    t = _times(12.0)
    angle = inclination_deg * (_ramp(t, START_S, 6.0) - _ramp(t, 9.0, 11.5))
    return _axis_rotation(1, angle) @ _sway(t, rng, 0.3)


@dataclass(frozen=True)
class SimulatedTest:
    """One test's recordings (pod name -> recording) and the mountings the session's walk would
    have found for them (true mounting plus an alignment error)."""

    key: str
    side: str
    pods: dict[str, PodRecording]
    alignment: dict[str, FloatArray]


def simulate_battery(
    truth: BatteryTruth,
    seed: int,
    *,
    errors: ImuErrors | None = None,
    alignment_error_deg: float = 2.0,
) -> list[SimulatedTest]:
    """Recordings of every pod test of `truth`, each pod with its own random mounting."""
    rng = np.random.default_rng([seed, 0x7E57])
    errors = errors or ImuErrors()
    mounts = {
        name: random_mount(name[0], name[1], errors.mounting_max_deg, rng)[0]
        for name in [("pelvis", "center"), *[("shank", s) for s in SIDES]]
    }

    def pod(name: tuple[str, str], rotations: FloatArray) -> tuple[PodRecording, FloatArray]:
        recording, mount = pod_from_rotations(
            name, _times(rotations.shape[0] / RATE_HZ), rotations, rng, errors, mounts[name]
        )
        axis = rng.normal(size=3)
        error = Rotation.from_rotvec(
            axis / np.linalg.norm(axis) * np.radians(alignment_error_deg)
        ).as_matrix()
        return recording, error @ mount

    tests: list[SimulatedTest] = []
    for side in SIDES:
        s = truth.sides[side]
        shank_name = ("shank", side)
        for key, rotations in (
            ("hip_ir", hip_ir_motion(side, s.hip_ir_deg, rng)),
            ("lunge", lunge_motion(s.lunge_inclination_deg, rng)),
        ):
            rec, align = pod(shank_name, rotations)
            tests.append(SimulatedTest(key, side, {rec.name: rec}, {rec.name: align}))
        rec, align = pod(
            ("pelvis", "center"), sls_motion(side, s.sls_drop_deg, s.sls_drift_deg, rng)
        )
        tests.append(SimulatedTest("single_leg_stance", side, {"pelvis": rec}, {"pelvis": align}))
        shank_rot, pelvis_rot = squat_motion(side, s, rng)
        shank_rec, shank_align = pod(shank_name, shank_rot)
        pelvis_rec, pelvis_align = pod(("pelvis", "center"), pelvis_rot)
        tests.append(
            SimulatedTest(
                "single_leg_squat",
                side,
                {shank_rec.name: shank_rec, "pelvis": pelvis_rec},
                {shank_rec.name: shank_align, "pelvis": pelvis_align},
            )
        )
    bar_errors = dataclasses.replace(errors, mounting_max_deg=0.0)
    bar, _ = pod_from_rotations(
        ("bar", "center"),
        _times(12.0),
        bar_motion(truth.pelvic_obliquity_deg, truth.pelvic_rotation_deg, rng),
        rng,
        bar_errors,
        mount=Rotation.from_rotvec(rng.normal(size=3) * np.radians(0.5)).as_matrix(),
    )
    tests.append(SimulatedTest("standing_pelvis", "both", {"bar": bar}, {"bar": np.eye(3)}))
    return tests
