"""Measurements of the battery's pod tests from their recordings.

Every test starts with the client still for `START_S` seconds (the reference), then moves at the
signal. Each pod's orientation is VQF's offline 6D estimate, turned into its segment's frame with
`sensor_to_segment` (rows: segment axes in sensor coordinates, as `gait.kinematics` finds it from
the session's walk; for the level bar the pod's fixed seat in the bar, identity by default).
Angles relative to the reference are the Cardan y-x-z angles of `gait.angles` (flexion, frontal,
axial); absolute tilts come from the direction of gravity in the segment frame.

Each function returns a `BatteryResult` whose `problems` say what made the test invalid and what to
redo; a problem never raises, so one bad test does not lose the others.
"""

from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy import stats
from scipy.ndimage import uniform_filter1d
from scipy.signal import find_peaks
from scipy.spatial.transform import Rotation

from ..fusion.orientation import VqfOrientation
from ..gait.angles import cardan_yxz_deg, side_sign
from ..io.recording import PodRecording
from ..signals import G_MPS2, true_runs
from .battery import BatteryResult

FloatArray = NDArray[np.float64]
START_S: Final = 3.0
STILL_RADPS: Final = 0.08
"""Smoothed angular rate below which a pod counts as held still."""
JOLT_RADPS: Final = 2.0
MIN_HOLD_S: Final = 1.0
SLS_HOLD_S: Final = 30.0
LUNGE_DEG_PER_CM: Final = 3.6
IDENTITY: Final = np.eye(3)


def segment_rotation(pod: PodRecording, sensor_to_segment: FloatArray = IDENTITY) -> FloatArray:
    """(n,3,3) segment-to-world rotations of every sample (heading arbitrary but consistent)."""
    quat = (
        VqfOrientation(mode="offline")
        .estimate(pod.acc_mps2, pod.gyr_radps, None, sampling_rate_hz=pod.rate_hz)
        .orientation_6d_
    )
    sensor = Rotation.from_quat(quat, scalar_first=True).as_matrix()
    return sensor @ sensor_to_segment.T


def still_mask(pod: PodRecording) -> NDArray[np.bool_]:
    rate = np.linalg.norm(pod.gyr_radps, axis=1)
    size = max(1, round(0.3 * pod.rate_hz))
    return uniform_filter1d(rate, size=size, mode="nearest") < STILL_RADPS


def still_runs(pod: PodRecording, after_s: float) -> list[tuple[int, int]]:
    """Still stretches of at least `MIN_HOLD_S` after `after_s`, as index ranges."""
    need = MIN_HOLD_S * pod.rate_hz
    first = int(np.searchsorted(pod.t_s, after_s))
    runs = [(max(a, first), b) for a, b in true_runs(still_mask(pod))]
    return [(a, b) for a, b in runs if b - a >= need]


def reference(pod: PodRecording) -> tuple[NDArray[np.bool_], list[str]]:
    """The start window [0.5, START_S - 0.5) s and a problem if the client was not still."""
    window = (pod.t_s >= pod.t_s[0] + 0.5) & (pod.t_s < pod.t_s[0] + START_S - 0.5)
    problems: list[str] = []
    if pod.t_s[-1] - pod.t_s[0] < START_S + 1.0:
        problems.append(f"{pod.name}: the recording is shorter than the protocol; record again")
    elif not still_mask(pod)[window].all():
        problems.append(
            f"{pod.name}: not still during the first {START_S:g} s; start still, then move at "
            "the signal"
        )
    return window, problems


def relative_angles_deg(rotation: FloatArray, window: NDArray[np.bool_]) -> FloatArray:
    """(n,3) flexion (y), frontal (x) and axial (z) angles relative to the mean pose in
    `window`, in the reference's own axes."""
    ref = Rotation.from_matrix(rotation[window]).mean().as_matrix()
    return cardan_yxz_deg(ref.T @ rotation)


def up_in_segment(rotation: FloatArray) -> FloatArray:
    """World up expressed in segment coordinates, (n,3)."""
    return rotation[:, 2, :]


def hip_ir_angle_deg(up: FloatArray, side: str) -> FloatArray:
    """The hanging shank's lateral lean from vertical (deg) given world up in segment
    coordinates: the prone hip internal rotation angle."""
    lateral = up[:, 1] * side_sign(side)
    return np.degrees(np.arctan2(-lateral, -up[:, 2]))


def tibial_inclination_deg(up: FloatArray) -> FloatArray:
    """The shank's forward lean from vertical (deg) given world up in segment coordinates."""
    return np.degrees(np.arctan2(-up[:, 0], up[:, 2]))


def prone_hip_ir(
    shank: PodRecording, side: str, sensor_to_segment: FloatArray = IDENTITY
) -> BatteryResult:
    """Hip internal rotation: the shank hangs up from the knee (its +z points down); turning the
    hip inward swings the ankle outward, so the shank's long axis leans laterally by the hip's
    rotation, measured against gravity."""
    window, problems = reference(shank)
    if problems:
        return BatteryResult("hip_ir", side, {}, tuple(problems))
    up = up_in_segment(segment_rotation(shank, sensor_to_segment))
    angle = hip_ir_angle_deg(up, side)
    sagittal = np.degrees(np.arcsin(np.clip(up[:, 0], -1.0, 1.0)))
    start_tilt = float(np.degrees(np.arccos(np.clip(-np.mean(up[window, 2]), -1.0, 1.0))))
    if start_tilt > 15.0:
        problems.append(
            f"the shank was {start_tilt:.0f} deg from vertical at the start (at most 15): bend "
            "the knee to 90 deg with the shank upright"
        )
    runs = still_runs(shank, shank.t_s[0] + START_S + 0.5)
    if not runs:
        return BatteryResult(
            "hip_ir",
            side,
            {},
            (*problems, "no end position held still for 1 s; hold the end of range 3 s"),
        )
    start = float(np.mean(angle[window]))
    a, b = max(runs, key=lambda r: float(np.median(angle[r[0] : r[1]])))
    value = float(np.median(angle[a:b])) - start
    if value < 3.0:
        problems.append(
            "the ankle did not swing outward: turn the foot outward (hip internal rotation)"
        )
    off_plane = float(np.max(np.abs(sagittal[a:b] - np.mean(sagittal[window]))))
    if off_plane > 15.0:
        problems.append(
            f"the shank left the frontal plane by {off_plane:.0f} deg (at most 15): rotate "
            "about the thigh, keep the knee at 90 deg"
        )
    return BatteryResult("hip_ir", side, {"hip_ir_deg": value}, tuple(problems))


def _jolt(pod: PodRecording, mask: NDArray[np.bool_]) -> float | None:
    """Time of the first jolt (fast rotation or a large acceleration) in `mask`, if any."""
    rate = np.linalg.norm(pod.gyr_radps, axis=1)
    acc_dev = np.abs(np.linalg.norm(pod.acc_mps2, axis=1) - G_MPS2)
    bad = mask & ((rate > JOLT_RADPS) | (acc_dev > 0.5 * G_MPS2))
    return float(pod.t_s[np.argmax(bad)]) if bad.any() else None


def single_leg_stance(
    pelvis: PodRecording, side: str, sensor_to_segment: FloatArray = IDENTITY
) -> BatteryResult:
    """Pelvic drop toward the lifted side during 30 s on `side`, relative to standing on both
    feet, and its drift over the hold."""
    window, problems = reference(pelvis)
    if problems:
        return BatteryResult("single_leg_stance", side, {}, tuple(problems))
    t0 = pelvis.t_s[0]
    hold = pelvis.t_s >= t0 + START_S + 2.0
    held_s = float(pelvis.t_s[-1] - (t0 + START_S))
    if held_s < SLS_HOLD_S - 0.5:
        problems.append(f"the stance lasted {held_s:.0f} s of {SLS_HOLD_S:g}; record the full 30 s")
    jolt = _jolt(pelvis, hold)
    if jolt is not None:
        problems.append(
            f"a jolt at {jolt - t0:.1f} s (foot down or loss of balance); repeat the test"
        )
    angles = relative_angles_deg(segment_rotation(pelvis, sensor_to_segment), window)
    drop = side_sign(side) * angles[:, 1]
    values: dict[str, float] = {}
    if hold.sum() > 10:
        fit = stats.linregress(pelvis.t_s[hold], drop[hold])
        values = {
            "pelvic_drop_deg": float(np.median(drop[hold])),
            "pelvic_drop_drift_deg_per_30s": float(fit.slope) * SLS_HOLD_S,
        }
    return BatteryResult("single_leg_stance", side, values, tuple(problems))


def single_leg_squat(
    shank: PodRecording,
    pelvis: PodRecording,
    side: str,
    shank_to_segment: FloatArray = IDENTITY,
    pelvis_to_segment: FloatArray = IDENTITY,
) -> BatteryResult:
    """Per squat (peaks of the shank's forward inclination above 20 deg): the shank's medial
    frontal tilt (knee valgus proxy), its internal rotation and the pelvic drop at depth."""
    window, problems = reference(shank)
    pelvis_window, pelvis_problems = reference(pelvis)
    problems += pelvis_problems
    if problems:
        return BatteryResult("single_leg_squat", side, {}, tuple(problems))
    sign = side_sign(side)
    shank_angles = relative_angles_deg(segment_rotation(shank, shank_to_segment), window)
    pelvis_angles = relative_angles_deg(segment_rotation(pelvis, pelvis_to_segment), pelvis_window)
    flexion = shank_angles[:, 0]
    peaks, _ = find_peaks(flexion, height=20.0, distance=max(1, round(1.5 * shank.rate_hz)))
    if peaks.size < 3:
        return BatteryResult(
            "single_leg_squat",
            side,
            {},
            (f"{peaks.size} squats deeper than 20 deg found (at least 3); squat deeper",),
        )
    drop = sign * np.interp(shank.t_s[peaks], pelvis.t_s, pelvis_angles[:, 1])
    values = {
        "knee_valgus_deg": float(np.median(sign * shank_angles[peaks, 1])),
        "tibial_ir_deg": float(np.median(-sign * shank_angles[peaks, 2])),
        "pelvic_drop_deg": float(np.median(drop)),
        "squats": float(peaks.size),
    }
    return BatteryResult("single_leg_squat", side, values, ())


def standing_pelvis(bar: PodRecording, pod_to_bar: FloatArray = IDENTITY) -> BatteryResult:
    """Pelvic obliquity and rotation from the level bar: flat on the floor at the toes first (the
    reference of rotation), then across both front iliac spines. Bar x runs from the client's
    right to the marked left end."""
    window, problems = reference(bar)
    if problems:
        return BatteryResult("standing_pelvis", "both", {}, tuple(problems))
    rotation = segment_rotation(bar, pod_to_bar)
    axis = rotation[:, :, 0]
    flat_deg = float(np.degrees(np.arccos(np.clip(np.mean(rotation[window, 2, 2]), -1.0, 1.0))))
    if flat_deg > 5.0:
        problems.append(
            f"the bar was {flat_deg:.0f} deg from flat on the floor (at most 5); lay it flat"
        )
    runs = still_runs(bar, bar.t_s[0] + START_S + 0.5)
    if not runs:
        problems.append("no still placement on the iliac spines for 1 s; hold the bar still 3 s")
        return BatteryResult("standing_pelvis", "both", {}, tuple(problems))
    a, b = runs[-1]
    yaw = np.unwrap(np.arctan2(axis[:, 1], axis[:, 0]))
    rotation_deg = float(np.degrees(np.median(yaw[a:b]) - np.mean(yaw[window])))
    obliquity_deg = float(np.degrees(np.median(np.arcsin(np.clip(axis[a:b, 2], -1.0, 1.0)))))
    values = {"pelvic_obliquity_deg": obliquity_deg, "pelvic_rotation_deg": rotation_deg}
    return BatteryResult("standing_pelvis", "both", values, tuple(problems))


def lunge(
    shank: PodRecording, side: str, sensor_to_segment: FloatArray = IDENTITY
) -> BatteryResult:
    """Tibial inclination from vertical at maximal dorsiflexion (the still position with the
    largest forward lean after the signal), and its knee-to-wall equivalent."""
    _, problems = reference(shank)
    if problems:
        return BatteryResult("lunge", side, {}, tuple(problems))
    up = up_in_segment(segment_rotation(shank, sensor_to_segment))
    inclination = tibial_inclination_deg(up)
    runs = still_runs(shank, shank.t_s[0] + START_S + 0.5)
    if not runs:
        return BatteryResult(
            "lunge", side, {}, ("no maximal position held still for 1 s; hold it 3 s",)
        )
    a, b = max(runs, key=lambda r: float(np.median(inclination[r[0] : r[1]])))
    value = float(np.median(inclination[a:b]))
    if value < 10.0:
        problems.append(f"the shank leaned only {value:.0f} deg; lunge the knee toward the wall")
    values = {"tibial_inclination_deg": value, "knee_to_wall_cm": value / LUNGE_DEG_PER_CM}
    return BatteryResult("lunge", side, values, tuple(problems))


def measure_test(
    key: str,
    side: str,
    pods: dict[str, PodRecording],
    alignment: dict[str, FloatArray] | None = None,
) -> BatteryResult:
    """Measure one test from its pods (keyed `pelvis`, `left_shank`, `bar`, ...), with each
    pod's sensor-to-segment rotation from `alignment` (identity when not given)."""
    align = alignment or {}
    needs = {
        "hip_ir": (f"{side}_shank",),
        "lunge": (f"{side}_shank",),
        "single_leg_stance": ("pelvis",),
        "single_leg_squat": (f"{side}_shank", "pelvis"),
        "standing_pelvis": ("bar",),
    }
    if key not in needs:
        raise ValueError(f"unknown battery test {key!r}; one of {', '.join(needs)}")
    absent = [name for name in needs[key] if name not in pods]
    if absent:
        return BatteryResult(key, side, {}, (f"no recording of the {', '.join(absent)} pod",))

    shank = f"{side}_shank"

    def rot(name: str) -> FloatArray:
        return align.get(name, IDENTITY)

    if key == "hip_ir":
        return prone_hip_ir(pods[shank], side, rot(shank))
    if key == "lunge":
        return lunge(pods[shank], side, rot(shank))
    if key == "single_leg_stance":
        return single_leg_stance(pods["pelvis"], side, rot("pelvis"))
    if key == "single_leg_squat":
        return single_leg_squat(pods[shank], pods["pelvis"], side, rot(shank), rot("pelvis"))
    return standing_pelvis(pods["bar"], rot("bar"))
