"""A common heading for all pods, without a magnetometer.

Each pod's 6D orientation has its own, arbitrary and drifting, heading. What every pod can see is
the direction the walker goes, in its own earth frame:
- shank and foot: stride by stride, the direction of the pod's displacement over the stride,
  anchored in mid-stance where its velocity is known (`stride_direction`). Not the principal
  axis of their horizontal acceleration: on a side with a hip internal-rotation deficit the knee
  swings in a plane turned out and that axis leaves the walking direction by several degrees;
- pelvis: its functional x axis, the walking direction by definition (see `alignment`);
- thigh: stride by stride, its displacement anchored at the knee, whose velocity in the same
  side's shank's mid-stance the corrected shank gives (`knee_direction`); thighs are therefore
  done after the shanks;
- a thigh without a shank on its side, and a shank or foot whose strides could not be found: the
  principal axis of its horizontal acceleration over a couple of strides (on a side with a hip
  rotation fault that axis follows the thigh's turned swing).
That direction is the true walking direction plus the pod's heading offset and drift.
The difference between a pod's estimate and the reference pod's (the pelvis) is therefore the
relative heading error of the two filters. It is taken where the walk is straight (where these
estimates are sharp; turns blur them) and has two parts: a slow drift, smoothed over
`smoothing_s`, and a share of the walker's turning (`turn_gain`: the two gyroscopes' gains about
the vertical differ), fitted against the reference's heading and removed throughout. Turning
every pod's heading by that difference puts all pods in the reference pod's heading frame:
relative headings between segments are then consistent over the whole walk.
"""

from dataclasses import dataclass
from typing import Self

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import median_filter
from scipy.spatial.transform import Rotation

from .alignment import walking_mask
from .knee_direction import knee_headings
from .stride_direction import SHANK_POD_FROM_ANKLE_M, stance_anchors, stride_directions

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def yaw_of(vectors: FloatArray) -> FloatArray:
    return np.arctan2(vectors[..., 1], vectors[..., 0])


def wrap_rad(angle: FloatArray) -> FloatArray:
    return (angle + np.pi) % (2 * np.pi) - np.pi


POD_FROM_STILL_M = {"shank": SHANK_POD_FROM_ANKLE_M, "foot": np.zeros(3)}
"""Segments whose walking direction comes from their stride displacement, and the pod's position
relative to their still point in mid-stance, in the segment frame."""
MIN_STRIDES = 10
"""Fewer strides found than this: the acceleration's principal axis is used instead."""


@dataclass(frozen=True)
class PodHeadingInput:
    """One pod: sample times, 6D orientation (w,x,y,z sensor to its own earth frame), raw
    accelerometer and gyroscope, and its sensor-to-segment alignment."""

    segment: str
    t_s: FloatArray
    quat_wxyz: FloatArray
    acc_mps2: FloatArray
    gyr_radps: FloatArray
    sensor_to_segment: FloatArray
    sampling_rate_hz: float


def walking_direction(
    pod: PodHeadingInput,
    *,
    window_s: float,
    step_s: float,
    anchor_times_s: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Window centre times and the walking direction (rad) in the pod's own earth frame.

    Shank and foot: stride by stride, from the pod's displacement over each stride
    (`stride_direction`). Other segments: the pelvis's functional forward axis, the thigh's
    principal axis of horizontal acceleration, over windows of `window_s` every `step_s` (a
    thigh with a shank on its side is anchored at the knee instead, in `CommonHeading`)."""
    if pod.segment in POD_FROM_STILL_M:
        strides = stride_directions(
            pod.t_s,
            pod.quat_wxyz,
            pod.acc_mps2,
            pod.gyr_radps,
            pod.sensor_to_segment,
            sampling_rate_hz=pod.sampling_rate_hz,
            pod_from_still_m=POD_FROM_STILL_M[pod.segment],
            anchor_times_s=anchor_times_s,
        )
        if strides[0].size >= MIN_STRIDES:
            return strides
    rotation = Rotation.from_quat(pod.quat_wxyz, scalar_first=True)
    segment_yaw = yaw_of(rotation.apply(pod.sensor_to_segment[0]))
    walking = walking_mask(pod.acc_mps2, pod.gyr_radps, sampling_rate_hz=pod.sampling_rate_hz)
    acc_world = rotation.apply(pod.acc_mps2)
    window = round(window_s * pod.sampling_rate_hz)
    step = max(1, round(step_s * pod.sampling_rate_hz))
    centres: list[float] = []
    directions: list[float] = []
    for start in range(0, pod.t_s.shape[0] - window, step):
        inside = slice(start, start + window)
        if walking[inside].mean() < 0.9:
            continue
        reference = float(np.angle(np.mean(np.exp(1j * segment_yaw[inside]))))
        if pod.segment == "pelvis":
            direction = reference
        else:
            horizontal = acc_world[inside, :2] - acc_world[inside, :2].mean(axis=0)
            _, axes = np.linalg.eigh(horizontal.T @ horizontal)
            direction = float(np.arctan2(axes[1, -1], axes[0, -1]))
            if abs(float(wrap_rad(np.array(direction - reference)))) > np.pi / 2:
                direction = float(wrap_rad(np.array(direction + np.pi)))
        centres.append(float(pod.t_s[start + window // 2]))
        directions.append(direction)
    return np.asarray(centres), np.unwrap(np.asarray(directions))


def foot_still_times(name: str, pods: dict[str, PodHeadingInput]) -> FloatArray | None:
    """For a shank with a foot pod on its side: the foot's stillest instant in each stance, when
    the ankle the shank turns about is still (a fixed share of the stride after the shank's swing
    can fall while the foot still pronates, and the ankle then moves sideways)."""
    foot = pods.get(name.replace("shank", "foot"))
    if pods[name].segment != "shank" or foot is None or foot.segment != "foot":
        return None
    anchors = stance_anchors(
        foot.gyr_radps, foot.sensor_to_segment[1], sampling_rate_hz=foot.sampling_rate_hz
    )
    return foot.t_s[anchors] if anchors.size >= MIN_STRIDES else None


MAX_TURN_GAIN = 0.05
"""Largest relative gain two pods' gyroscopes may have about the vertical (sensitivity and
cross-axis errors of a few per cent each); a fit beyond it is taken as this."""


def turn_gain(times_s: FloatArray, turned_rad: FloatArray, difference_rad: FloatArray) -> float:
    """How much of the reference's turning shows in the heading difference: fitted with an
    offset and a linear drift, so that turns (180 deg at each end of a corridor) are told from
    the gyroscope bias's slow drift. Two pods whose gyroscopes differ in gain by 1 % disagree by
    1.8 deg after each half turn, and back after the next turn the other way: faster than any
    smoothing of the drift can follow."""
    if times_s.size < 3 or np.ptp(turned_rad) < np.pi / 2:
        return 0.0
    design = np.stack([np.ones_like(times_s), times_s - times_s.mean(), turned_rad], axis=1)
    coefficients = np.linalg.lstsq(design, difference_rad, rcond=None)[0]
    return float(np.clip(coefficients[2], -MAX_TURN_GAIN, MAX_TURN_GAIN))


class CommonHeading:
    """Heading corrections that put every pod in the reference pod's heading frame.

    `estimate(pods)` with a dict of `PodHeadingInput`; results: `correction_rad_[name]` per sample
    of that pod (turn its orientation by this angle about the vertical: `corrected(name, quat)`),
    `straight_share_`, the share of walking windows that were straight enough to use, and
    `thigh_turn_rad_[name]` for every thigh anchored at its knee: the mean angle between the
    principal axis of its horizontal acceleration and its stride direction (how far its swing is
    turned out of the walking direction).
    """

    def __init__(
        self,
        reference: str = "pelvis",
        *,
        window_s: float = 2.2,
        step_s: float = 0.25,
        smoothing_s: float = 40.0,
        max_turn_rate_dps: float = 8.0,
    ) -> None:
        self.reference = reference
        self.window_s = window_s
        self.step_s = step_s
        self.smoothing_s = smoothing_s
        self.max_turn_rate_dps = max_turn_rate_dps

    def estimate(self, pods: dict[str, PodHeadingInput]) -> Self:
        if self.reference not in pods:
            raise ValueError(f"reference pod {self.reference!r} is not among {sorted(pods)}")
        still = {name: foot_still_times(name, pods) for name in pods}
        directions = {
            name: walking_direction(
                pod, window_s=self.window_s, step_s=self.step_s, anchor_times_s=still[name]
            )
            for name, pod in pods.items()
        }
        ref_t, ref_dir = directions[self.reference]
        if ref_t.size < 3:
            raise ValueError("too little walking to align the pods' headings")
        turn_rate = np.abs(np.gradient(ref_dir, ref_t))
        straight = turn_rate < np.radians(self.max_turn_rate_dps)
        self.straight_share_ = float(straight.mean())
        self.correction_rad_: dict[str, FloatArray] = {}
        self.thigh_turn_rad_: dict[str, float] = {}
        self.turn_gain_: dict[str, float] = {self.reference: 0.0}
        # thighs last: their heading is anchored on the same side's shank once that is corrected
        for name in sorted(pods, key=lambda n: pods[n].segment == "thigh"):
            pod = pods[name]
            if name == self.reference:
                self.correction_rad_[name] = np.zeros_like(pod.t_s)
                continue
            knee = self._knee_direction(name, pods, (ref_t, ref_dir), still)
            t, direction = knee or directions[name]
            if knee is not None:
                # how far the thigh's swing is turned from the walking direction (the principal
                # axis of its horizontal acceleration against its stride displacement)
                axis_t, axis_direction = directions[name]
                turned = wrap_rad(np.interp(t, axis_t, axis_direction) - direction)
                self.thigh_turn_rad_[name] = float(np.angle(np.mean(np.exp(1j * turned))))
            # taken at the pod's own estimates where the reference went straight all along,
            # and unwrapped over those only: in turns the estimates are blurred and can jump by
            # more than half a turn, which would leave a full turn in the series
            straight_at = np.interp(t, ref_t, np.asarray(straight, dtype=np.float64))
            keep: BoolArray = straight_at > 0.999
            if np.count_nonzero(keep) < 3:
                raise ValueError(f"{name}: too little straight walking to align its heading")
            times = t[keep]
            reference_rad = np.interp(times, ref_t, ref_dir)
            difference = np.unwrap(wrap_rad(direction[keep] - reference_rad))
            gain = turn_gain(times, reference_rad, difference)
            spacing_s = float(np.median(np.diff(times))) if times.size > 1 else self.step_s
            size = max(1, round(self.smoothing_s / max(spacing_s, self.step_s)))
            smooth = median_filter(difference - gain * reference_rad, size=size, mode="nearest")
            self.turn_gain_[name] = gain
            self.correction_rad_[name] = -(
                np.interp(pod.t_s, times, smooth) + gain * np.interp(pod.t_s, ref_t, ref_dir)
            )
        return self

    def _knee_direction(
        self,
        name: str,
        pods: dict[str, PodHeadingInput],
        reference: tuple[FloatArray, FloatArray],
        still: dict[str, FloatArray | None],
    ) -> tuple[FloatArray, FloatArray] | None:
        """A thigh's walking direction in its own earth frame from its stride displacement
        anchored at the knee (`knee_direction`) at the shank's anchors (`still`: its foot's
        stillest instants, if known), or None without a corrected shank on its side or with
        fewer than MIN_STRIDES strides."""
        thigh = pods[name]
        shank_name = name.replace("thigh", "shank")
        if thigh.segment != "thigh" or shank_name not in self.correction_rad_:
            return None
        shank = pods[shank_name]
        times, headings = knee_headings(
            thigh.t_s,
            thigh.quat_wxyz,
            thigh.acc_mps2,
            thigh.gyr_radps,
            thigh.sensor_to_segment,
            shank.t_s,
            self.corrected(shank_name, shank.quat_wxyz),
            shank.gyr_radps,
            shank.sensor_to_segment,
            reference,
            shank_rate_hz=shank.sampling_rate_hz,
            anchor_times_s=still[shank_name],
        )
        if times.size < MIN_STRIDES:
            return None
        return times, np.interp(times, *reference) - headings

    def corrected(self, name: str, quat_wxyz: FloatArray) -> FloatArray:
        turn = Rotation.from_rotvec(np.outer(self.correction_rad_[name], [0.0, 0.0, 1.0]))
        out = (turn * Rotation.from_quat(quat_wxyz, scalar_first=True)).as_quat(scalar_first=True)
        return np.asarray(out, dtype=np.float64)
