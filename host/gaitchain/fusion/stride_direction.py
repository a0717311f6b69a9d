"""Walking direction of a shank or foot pod, stride by stride, from its displacement.

Over one stride every point of a leg segment returns to the same place relative to the body, so
its displacement between two instants at the same phase of successive strides is the stride
itself: it points along the walking direction whatever the segment does in between (a shank that
turns about its own axis, or swings in a plane turned out, shifts the principal axis of its
horizontal acceleration by several degrees, but not its displacement).

The displacement comes from the pod's acceleration in its own earth frame (6D orientation,
gravity removed) integrated twice between anchors in mid-stance, where the pod's velocity is
known: the foot is still, and the shank turns about the ankle, which is still, so the pod moves
at angular rate x lever arm (the arm from the ankle to the pod, `pod_from_still_m`). The
velocity's drift between two anchors (a constant accelerometer bias or a tilt error) is removed
linearly, which makes it vanish from the displacement.

Anchors: one per stride, between two swings (peaks of the flexion rate): for a foot the
stillest instant; for a shank the same instant of the foot on its side where there is a foot pod
(only then is the ankle surely still: earlier or later in foot flat the foot still everts or
inverts about a line below the ankle, and the ankle moves sideways; anchored a fixed share of the
stride after the shank's swing, a shank on a side with extra pronation was 3 deg off), else a
fixed share of the stride after its swing, in foot flat.
"""

from itertools import pairwise
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import uniform_filter1d
from scipy.signal import find_peaks
from scipy.spatial.transform import Rotation

from ..signals import G_MPS2
from .alignment import swing_rate_sign

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
SHANK_POD_FROM_ANKLE_M: Final = np.array([0.04, 0.0, 0.28])
"""Ankle to a shank pod in the shank's frame (x forward, z up the long axis), as
`hardware/placement.md` puts it: a third of the way from the knee to the ankle of a 0.42-m
shank, on the tibia's flat anteromedial face, whose skin and the pod's half thickness put it
about 4 cm in front of the bone's axis. The forward part matters: the tibia turns about its long
axis in stance, and that moves the pod sideways."""
SHANK_ANCHOR_AFTER_SWING: Final = 0.33
"""Shank anchor after the peak of its swing, in strides: that peak comes at about 87 % of the
stride, the foot is flat from about 8-10 % to 30-40 % (Perry & Burnfield 2010)."""
MIN_STRIDE_S: Final = 0.6
MAX_STRIDE_S: Final = 2.5
MIN_STRIDE_M: Final = 0.3


def stance_anchors(
    gyr_radps: FloatArray,
    flexion_axis: FloatArray,
    *,
    sampling_rate_hz: float,
    after_swing: float | None = None,
) -> IntArray:
    """Sample indices of one mid-stance instant per stride.

    Swings are the peaks of the flexion rate (smoothed over 0.15 s, so that a jolt at contact
    does not count; signed so that the swing is positive whichever way the axis points). With
    `after_swing` None (a foot pod): the stillest instant (smallest angular speed) in the middle
    half of the interval between two swings. Otherwise (a shank pod, which is stillest at the end
    of its swing, when the foot is not yet flat): the swing's peak plus `after_swing` strides.
    """
    rate = swing_rate_sign(gyr_radps, flexion_axis, sampling_rate_hz) * uniform_filter1d(
        gyr_radps @ flexion_axis, size=max(1, round(0.15 * sampling_rate_hz))
    )
    swing_radps = 0.5 * float(np.quantile(rate, 0.99))
    peaks, _ = find_peaks(
        rate, height=max(swing_radps, 1.0), distance=max(1, round(0.6 * sampling_rate_hz))
    )
    speed = uniform_filter1d(
        np.linalg.norm(gyr_radps, axis=1), size=max(1, round(0.08 * sampling_rate_hz))
    )
    anchors: list[int] = []
    for a, b in pairwise(int(p) for p in peaks):
        if not MIN_STRIDE_S * sampling_rate_hz <= b - a <= MAX_STRIDE_S * sampling_rate_hz:
            continue
        if after_swing is None:
            lo, hi = a + (b - a) // 4, b - (b - a) // 4
            anchors.append(lo + int(np.argmin(speed[lo:hi])))
        else:
            anchors.append(a + round(after_swing * (b - a)))
    return np.asarray(anchors, dtype=np.intp)


def mid_stance_anchors(
    t_s: FloatArray,
    gyr_radps: FloatArray,
    flexion_axis: FloatArray,
    *,
    sampling_rate_hz: float,
    after_swing: float | None,
    anchor_times_s: FloatArray | None,
) -> IntArray:
    """`stance_anchors`, or where the anchors' times are known from elsewhere (a shank's foot's
    stillest instants) the first samples at or after them inside the recording."""
    if anchor_times_s is None:
        return stance_anchors(
            gyr_radps, flexion_axis, sampling_rate_hz=sampling_rate_hz, after_swing=after_swing
        )
    inside = anchor_times_s[(anchor_times_s >= t_s[0]) & (anchor_times_s <= t_s[-1])]
    return np.unique(np.searchsorted(t_s, inside)).astype(np.intp)


def stride_directions(
    t_s: FloatArray,
    quat_wxyz: FloatArray,
    acc_mps2: FloatArray,
    gyr_radps: FloatArray,
    sensor_to_segment: FloatArray,
    *,
    sampling_rate_hz: float,
    pod_from_still_m: FloatArray,
    anchor_times_s: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Stride mid-times and walking directions (rad, unwrapped) in the pod's own earth frame.

    `sensor_to_segment` rows are the segment axes in the sensor frame (y the flexion axis, z the
    long axis); `pod_from_still_m` the pod's position relative to the still point in mid-stance
    (the ankle) in the segment frame, zero for a foot pod. `anchor_times_s`: the anchors' times
    if known from elsewhere (a shank takes its foot's stillest instants, when the ankle is
    still), else `stance_anchors`.
    """
    rotation = Rotation.from_quat(quat_wxyz, scalar_first=True)
    acc_world = rotation.apply(acc_mps2)
    acc_world[:, 2] -= G_MPS2
    lever_world = rotation.apply(sensor_to_segment.T @ pod_from_still_m)
    velocity_anchor = np.cross(rotation.apply(gyr_radps), lever_world)
    anchors = mid_stance_anchors(
        t_s,
        gyr_radps,
        sensor_to_segment[1],
        sampling_rate_hz=sampling_rate_hz,
        after_swing=SHANK_ANCHOR_AFTER_SWING if np.any(pod_from_still_m) else None,
        anchor_times_s=anchor_times_s,
    )
    dt = 1.0 / sampling_rate_hz
    times: list[float] = []
    directions: list[float] = []
    for a, b in pairwise(anchors):
        if not MIN_STRIDE_S * sampling_rate_hz <= b - a <= MAX_STRIDE_S * sampling_rate_hz:
            continue
        acc = acc_world[a : b + 1, :2]
        velocity = velocity_anchor[a, :2] + np.vstack(
            [np.zeros(2), np.cumsum(0.5 * (acc[1:] + acc[:-1]), axis=0) * dt]
        )
        drift = velocity[-1] - velocity_anchor[b, :2]
        velocity -= np.outer(np.linspace(0.0, 1.0, velocity.shape[0]), drift)
        displacement = 0.5 * (velocity[1:] + velocity[:-1]).sum(axis=0) * dt
        if float(np.linalg.norm(displacement)) < MIN_STRIDE_M:
            continue
        times.append(0.5 * float(t_s[a] + t_s[b]))
        directions.append(float(np.arctan2(displacement[1], displacement[0])))
    return np.asarray(times), np.unwrap(np.asarray(directions))
