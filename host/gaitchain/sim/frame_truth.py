"""Scoring segment frames on a simulated walk: the true sensor-to-functional-segment rotation,
and the errors of alignment and of relative heading against it.

The functional frame is defined as `gaitchain.fusion.alignment` defines it, from the true segment
orientation while standing at `standing_s`: z the vertical in that posture; y the segment's
anatomical flexion axis (shank, foot, thigh) or x the walking direction (pelvis); the third axis
completes the right-handed frame.
"""

import math
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from ..calibration_records import (
    AccelerometerCalibration,
    GyroscopeCalibration,
    ImuCalibrationRecord,
)
from ..fusion import VqfOrientation
from ..fusion.alignment import SegmentAlignment
from ..fusion.heading import CommonHeading, PodHeadingInput, wrap_rad, yaw_of
from ..fusion.imu_calibration import AccelerometerFit, find_static_holds
from ..fusion.knee_axis import knee_aligned_thighs
from ..gait.kinematics import segment_kinematics
from ..live.pod_fusion import PodFusion
from ..signals import G_MPS2
from .body import Body
from .imu import PodSignals, stream_chunks
from .walk import SimulatedWalk

FloatArray = NDArray[np.float64]


def true_sensor_to_segment(body: Body, pod: PodSignals, standing_s: float = 1.0) -> FloatArray:
    poses = body.poses(np.array([standing_s]))
    rotation = poses.rotation[pod.spec.body_segment][0]
    z = rotation.T @ np.array([0.0, 0.0, 1.0])
    z /= np.linalg.norm(z)
    if pod.spec.segment == "pelvis":
        heading = poses.heading_rad[0]
        x = rotation.T @ np.array([np.cos(heading), np.sin(heading), 0.0])
        x -= np.dot(x, z) * z
        x /= np.linalg.norm(x)
        y = np.cross(z, x)
    else:
        y = np.array([0.0, 1.0, 0.0]) - z[1] * z
        y /= np.linalg.norm(y)
        x = np.cross(y, z)
    functional_in_segment = np.stack([x, y, z], axis=1)
    return functional_in_segment.T @ pod.mount_rotation


def functional_rotations(walk: SimulatedWalk, t_s: FloatArray) -> dict[str, FloatArray]:
    """True functional segment frames (n,3,3, segment to world) of every pod's segment at `t_s`:
    what the analysis estimates from the pods, up to heading drift."""
    poses = walk.body.poses(t_s)
    out: dict[str, FloatArray] = {}
    for pod in walk.pods:
        functional = pod.mount_rotation @ true_sensor_to_segment(walk.body, pod).T
        out[pod.spec.name] = poses.rotation[pod.spec.body_segment] @ functional
    return out


def rotation_angle_deg(a: FloatArray, b: FloatArray) -> float:
    """Angle between two rotation matrices."""
    relative = a @ b.T
    return float(np.degrees(np.arccos(np.clip((np.trace(relative) - 1) / 2, -1.0, 1.0))))


PAIRS = (
    ("pelvis", "left_shank"),
    ("pelvis", "right_shank"),
    ("left_shank", "left_foot"),
    ("right_shank", "right_foot"),
)
THIGH_PAIRS = (("pelvis", "left_thigh"), ("pelvis", "right_thigh"))
"""Scored too where the walk has thigh pods."""


def alignment_errors(walk: SimulatedWalk) -> dict[str, float]:
    return {
        pod.spec.name: rotation_angle_deg(
            SegmentAlignment(pod.spec.segment)
            .estimate(pod.acc_mps2, pod.gyr_radps, sampling_rate_hz=pod.spec.rate_hz)
            .sensor_to_segment_,
            true_sensor_to_segment(walk.body, pod),
        )
        for pod in walk.pods
    }


def analysis_alignment_errors(walk: SimulatedWalk) -> dict[str, float]:
    """Alignment errors of the segment rows `gaitchain analyze` uses: each pod's own alignment,
    except thighs whose swing is turned out, which take the knee's axis (`fusion.knee_axis`)."""
    pods = segment_kinematics(walk.recording()).pods
    return {
        pod.spec.name: rotation_angle_deg(
            pods[pod.spec.name].sensor_to_segment, true_sensor_to_segment(walk.body, pod)
        )
        for pod in walk.pods
    }


def relative_heading_series(
    walk: SimulatedWalk, *, true_alignment: bool = False
) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    """Error (rad) of the relative heading of each pair in PAIRS every 50 ms of the walk, without
    a magnetometer: with the common heading, and with each pod's VQF offline 6D filter alone
    (its heading offset removed once at the start, so only drift counts against it).
    `true_alignment`: each pod's true sensor-to-segment rotation instead of its estimate, which
    leaves the heading's own error (an alignment's yaw error adds to it one to one)."""
    grid = np.arange(10.0, walk.body.schedule.plan.duration_s - 10.0, 0.05)
    poses = walk.body.poses(grid)
    inputs: dict[str, PodHeadingInput] = {}
    for pod in walk.pods:
        rows = (
            true_sensor_to_segment(walk.body, pod)
            if true_alignment
            else SegmentAlignment(pod.spec.segment)
            .estimate(pod.acc_mps2, pod.gyr_radps, sampling_rate_hz=pod.spec.rate_hz)
            .sensor_to_segment_
        )
        quat = (
            VqfOrientation(mode="offline")
            .estimate(pod.acc_mps2, pod.gyr_radps, None, sampling_rate_hz=pod.spec.rate_hz)
            .orientation_
        )
        inputs[pod.spec.name] = PodHeadingInput(
            pod.spec.segment, pod.t_s, quat, pod.acc_mps2, pod.gyr_radps, rows, pod.spec.rate_hz
        )
    common = CommonHeading().estimate(inputs)
    knee_rows = knee_aligned_thighs(inputs, common.thigh_turn_rad_)
    ours: dict[str, FloatArray] = {}
    alone: dict[str, FloatArray] = {}
    truth: dict[str, FloatArray] = {}
    for pod in walk.pods:
        name = pod.spec.name
        forward = knee_rows.get(name, inputs[name].sensor_to_segment)[0]
        for store, quat in (
            (ours, common.corrected(name, inputs[name].quat_wxyz)),
            (alone, inputs[name].quat_wxyz),
        ):
            yaw = yaw_of(Rotation.from_quat(quat, scalar_first=True).apply(forward))
            store[name] = np.interp(grid, pod.t_s, np.unwrap(yaw))
        functional = (true_sensor_to_segment(walk.body, pod) @ pod.mount_rotation.T).T
        x_world = np.einsum("nij,j->ni", poses.rotation[pod.spec.body_segment], functional[:, 0])
        truth[name] = np.unwrap(yaw_of(x_world))

    def error(store: dict[str, FloatArray], a: str, b: str, *, remove_start: bool) -> FloatArray:
        series = wrap_rad((store[a] - store[b]) - (truth[a] - truth[b]))
        return wrap_rad(series - series[:200].mean()) if remove_start else series

    pairs = [(a, b) for a, b in PAIRS + THIGH_PAIRS if a in truth and b in truth]
    return (
        {f"{a}-{b}": error(ours, a, b, remove_start=False) for a, b in pairs},
        {f"{a}-{b}": error(alone, a, b, remove_start=True) for a, b in pairs},
    )


def rms_deg(series: FloatArray) -> float:
    return float(np.degrees(np.sqrt(np.mean(series**2))))


def relative_heading_errors(walk: SimulatedWalk) -> tuple[dict[str, float], dict[str, float]]:
    """RMS (deg) of `relative_heading_series`: with the common heading, and with VQF alone."""
    ours, alone = relative_heading_series(walk)
    return (
        {pair: rms_deg(series) for pair, series in ours.items()},
        {pair: rms_deg(series) for pair, series in alone.items()},
    )


SIX_FACES: Final = np.array(
    [[0, 0, 1], [0, 0, -1], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0]], dtype=np.float64
)


def six_face_capture(
    pod: PodSignals, rng: np.random.Generator, *, hold_s: float = 5.0, move_s: float = 1.0
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """What this pod records on a table during the six-face calibration step: t_s, acc, gyr.

    Uses the pod's own accelerometer errors (matrix, bias), so a calibration fitted to it is the
    calibration that pod would have had; moves between faces are smooth turns of the true force.
    """
    rate_hz = pod.spec.rate_hz
    hold = round(hold_s * rate_hz)
    move = round(move_s * rate_hz)
    forces: list[FloatArray] = []
    for k, face in enumerate(SIX_FACES):
        forces.append(np.tile(face * G_MPS2, (hold, 1)))
        if k + 1 < len(SIX_FACES):
            u = np.linspace(0.0, 1.0, move)[:, None]
            path = (1 - u) * face + u * SIX_FACES[k + 1]
            forces.append(G_MPS2 * path / np.linalg.norm(path, axis=1, keepdims=True))
    true_force = np.vstack(forces)
    n = true_force.shape[0]
    acc: FloatArray = (
        true_force @ pod.acc_matrix.T + pod.acc_bias_mps2[0] + rng.normal(0.0, 0.005, (n, 3))
    )
    moving = np.zeros(n)
    for k in range(len(SIX_FACES) - 1):
        start = (k + 1) * hold + k * move
        moving[start : start + move] = 1.0
    gyr: FloatArray = np.outer(moving, [0.0, 1.5, 0.0]) + rng.normal(0.0, 0.001, (n, 3))
    t_s: FloatArray = np.arange(n, dtype=np.float64) / rate_hz
    return t_s, acc, gyr


def six_face_record(pod: PodSignals, rng: np.random.Generator) -> ImuCalibrationRecord:
    """The record `gaitchain calibrate imu` writes for this pod: the accelerometer fitted to a
    simulated six-face capture (`six_face_capture`), the gyroscope's bias as a rest step reads
    it at the start of the walk."""
    t_s, acc, gyr = six_face_capture(pod, rng)
    fit = AccelerometerFit(method="six-position").estimate(find_static_holds(t_s, acc, gyr))
    accelerometer = AccelerometerCalibration(
        "six-position", fit.offset_mps2_, fit.matrix_, G_MPS2, len(SIX_FACES), 0.0
    )
    gyroscope = GyroscopeCalibration(pod.gyr_bias_radps[0].copy(), 10.0)
    return ImuCalibrationRecord(0, "", "", gyroscope, accelerometer, None, [])


def calibrated_alignment_errors(walk: SimulatedWalk, seed: int = 0) -> dict[str, float]:
    """Alignment errors after each pod is corrected by the record of `six_face_record`."""
    rng = np.random.default_rng(seed)
    out: dict[str, float] = {}
    for pod in walk.pods:
        acc, gyr, _ = six_face_record(pod, rng).correct(pod.acc_mps2, pod.gyr_radps)
        estimate = SegmentAlignment(pod.spec.segment).estimate(
            acc, gyr, sampling_rate_hz=pod.spec.rate_hz
        )
        out[pod.spec.name] = rotation_angle_deg(
            estimate.sensor_to_segment_, true_sensor_to_segment(walk.body, pod)
        )
    return out


def live_alignment_errors(
    walk: SimulatedWalk, records: dict[str, ImuCalibrationRecord] | None = None
) -> dict[str, tuple[float, float]]:
    """Per pod: the error (deg) of the alignment the live dashboard makes (`PodFusion`: the first
    one that standing and walking allow, tried every 2 s), corrected by its record in `records`
    where given, and when it was made (s of the recording); (nan, nan) if never."""
    out: dict[str, tuple[float, float]] = {}
    for pod in walk.pods:
        name = pod.spec.name
        fusion = PodFusion(pod.spec.segment, calibration=(records or {}).get(name))
        out[name] = (math.nan, math.nan)
        for chunk in stream_chunks(pod):
            fusion.add(chunk)
            if fusion.sensor_to_segment is not None:
                truth = true_sensor_to_segment(walk.body, pod)
                error_deg = rotation_angle_deg(fusion.sensor_to_segment, truth)
                out[name] = (error_deg, float(chunk.t_host_s[-1]))
                break
    return out
