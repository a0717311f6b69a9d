"""Segment orientations of a whole recording on one time grid, in one heading frame.

Per pod: the offline 6D orientation (magnetometer not trusted indoors), the sensor-to-segment
alignment from the recording itself (quiet standing, then walking), and the common-heading
correction that puts every pod in the reference pod's heading frame (the pelvis when present).
Each segment's functional frame (x forward, y left, z up in the client's quiet standing) is then
resampled to a uniform grid. Angles from these frames are therefore relative to the client's own
standing posture.

The walking direction (the reference of pelvic and progression angles) is the reference
segment's forward heading averaged over one stride, which removes the pelvis's own rotation.

Pods whose data cannot give an alignment are left out and their reason kept in `dropped`.
"""

from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import uniform_filter1d
from scipy.spatial.transform import Rotation, Slerp

from ..fusion.alignment import AlignmentError, SegmentAlignment
from ..fusion.heading import CommonHeading, PodHeadingInput, wrap_rad, yaw_of
from ..fusion.knee_axis import knee_aligned_thighs
from ..fusion.orientation import VqfOrientation
from ..io.recording import PodRecording, Recording

FloatArray = NDArray[np.float64]
REFERENCE_ORDER: Final = ("pelvis", "left_shank", "right_shank", "left_foot", "right_foot")


@dataclass(frozen=True)
class PodKinematics:
    """One pod after fusion: its recording, 6D orientation in the common heading frame
    (w,x,y,z sensor to world) and alignment (rows: segment axes in sensor coordinates)."""

    pod: PodRecording
    quat_wxyz: FloatArray
    sensor_to_segment: FloatArray
    alignment_quality: float


@dataclass(frozen=True)
class SegmentKinematics:
    """Functional segment frames (n,3,3) segment to world on the grid `t_s`, keyed by pod name
    (`pelvis`, `left_shank`, ...), and the walking direction `heading_rad` (None when no
    reference pod could be fused)."""

    t_s: FloatArray
    rotation: dict[str, FloatArray]
    heading_rad: FloatArray | None
    pods: dict[str, PodKinematics]
    dropped: dict[str, str] = field(default_factory=dict[str, str])
    straight_share: float = float("nan")


def fuse_pod(pod: PodRecording) -> tuple[FloatArray, FloatArray, float]:
    """6D orientation (own heading), alignment rows and alignment quality of one pod."""
    rate_hz = pod.rate_hz
    alignment = SegmentAlignment(pod.segment).estimate(
        pod.acc_mps2, pod.gyr_radps, sampling_rate_hz=rate_hz
    )
    quat = (
        VqfOrientation(mode="offline")
        .estimate(pod.acc_mps2, pod.gyr_radps, None, sampling_rate_hz=rate_hz)
        .orientation_6d_
    )
    return quat, alignment.sensor_to_segment_, alignment.quality_


def resample_rotations(t_s: FloatArray, quat_wxyz: FloatArray, grid_s: FloatArray) -> Rotation:
    inside = np.clip(grid_s, t_s[0], t_s[-1])
    return Slerp(t_s, Rotation.from_quat(quat_wxyz, scalar_first=True))(inside)


def stride_mean_heading(yaw_rad: FloatArray, rate_hz: float, stride_s: float) -> FloatArray:
    """Yaw averaged over one stride (unwrapped first), wrapped to [-pi, pi)."""
    size = max(1, round(stride_s * rate_hz))
    smooth = uniform_filter1d(np.unwrap(yaw_rad), size=size, mode="nearest")
    return wrap_rad(smooth)


FusedPod = tuple[PodRecording, FloatArray, FloatArray, float]
"""A pod after fusion: its recording, 6D orientation (w,x,y,z sensor to its own earth frame),
alignment rows and alignment quality."""


def segment_kinematics(
    recording: Recording, *, grid_rate_hz: float = 100.0, stride_s: float = 1.1
) -> SegmentKinematics:
    """Fuse every pod of `recording` and express its segment on a common grid."""
    if not recording.pods:
        raise ValueError("the recording has no pods")
    dropped: dict[str, str] = {}
    fused: dict[str, FusedPod] = {}
    for pod in recording.pods:
        try:
            quat, rows, quality = fuse_pod(pod)
        except AlignmentError as error:
            dropped[pod.name] = str(error)
            continue
        fused[pod.name] = (pod, quat, rows, quality)
    return common_kinematics(fused, dropped, grid_rate_hz=grid_rate_hz, stride_s=stride_s)


def common_kinematics(
    fused: dict[str, FusedPod],
    dropped: dict[str, str] | None = None,
    *,
    grid_rate_hz: float = 100.0,
    stride_s: float = 1.1,
) -> SegmentKinematics:
    """Already fused pods (keyed by pod name) in the reference pod's heading frame, on a common
    grid over the time all of them cover, with the walking direction. The live dashboard calls
    this on a window of its streaming orientations."""
    dropped = dict(dropped or {})
    start = max((p.t_s[0] for p, *_ in fused.values()), default=0.0)
    end = min((p.t_s[-1] for p, *_ in fused.values()), default=0.0)
    grid = np.arange(start, end, 1.0 / grid_rate_hz)
    if not fused or grid.size < 2:
        return SegmentKinematics(grid, {}, None, {}, dropped)
    reference = next((name for name in REFERENCE_ORDER if name in fused), next(iter(fused)))
    inputs = {
        name: PodHeadingInput(
            pod.segment, pod.t_s, quat, pod.acc_mps2, pod.gyr_radps, rows, pod.rate_hz
        )
        for name, (pod, quat, rows, _) in fused.items()
    }
    straight_share = float("nan")
    knee_rows: dict[str, FloatArray] = {}
    if len(inputs) > 1:
        common = CommonHeading(reference).estimate(inputs)
        straight_share = common.straight_share_
        corrected = {name: common.corrected(name, inputs[name].quat_wxyz) for name in inputs}
        knee_rows = knee_aligned_thighs(inputs, common.thigh_turn_rad_)
    else:
        corrected = {name: inputs[name].quat_wxyz for name in inputs}
    rotation: dict[str, FloatArray] = {}
    pods: dict[str, PodKinematics] = {}
    for name, (pod, _, own_rows, quality) in fused.items():
        rows = knee_rows.get(name, own_rows)
        sensor_to_world = resample_rotations(pod.t_s, corrected[name], grid).as_matrix()
        rotation[name] = sensor_to_world @ rows.T
        pods[name] = PodKinematics(pod, corrected[name], rows, quality)
    yaw = yaw_of(rotation[reference][:, :, 0])
    heading = stride_mean_heading(yaw, grid_rate_hz, stride_s)
    return SegmentKinematics(grid, rotation, heading, pods, dropped, straight_share)
