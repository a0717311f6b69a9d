"""A thigh pod's heading from its stride displacement, anchored at the knee in the shank's stance.

A thigh has no still point, but its distal end, the knee, moves in mid-stance at a velocity the
same side's shank gives: the shank turns about the ankle, which is still, so the knee moves at
the shank's angular rate x the ankle-to-knee arm. Once the shank is in the common heading frame
(`stride_direction` and `heading`), that velocity is known in the common frame. Over one stride,
between two of the shank's mid-stance anchors, the thigh pod's displacement is the stride itself,
along the walking direction; integrated in the thigh filter's own earth frame it is

    D_common = R(psi) @ (J - T A / 2 + T (w_a + w_b) / 2) + T (k_a + k_b) / 2

with A and J the single and double integral of the pod's horizontal acceleration over the stride
(T long), w the pod's velocity relative to the knee (thigh rate x knee-to-pod arm) at the anchors,
k the knee's velocity in the common frame at the anchors, and psi the thigh filter's heading in
the common frame. Setting D_common along the reference pod's walking direction at that time gives
psi stride by stride; the velocity's drift between anchors (bias, tilt) drops out as for the
shank. Not the principal axis of the thigh's horizontal acceleration: on a side with a hip
rotation fault the thigh swings in a plane turned out and that axis follows it (14 deg off on a
simulated hip internal-rotation deficit).
"""

from itertools import pairwise
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from ..signals import G_MPS2
from .stride_direction import (
    MAX_STRIDE_S,
    MIN_STRIDE_M,
    MIN_STRIDE_S,
    SHANK_ANCHOR_AFTER_SWING,
    mid_stance_anchors,
)

FloatArray = NDArray[np.float64]
ANKLE_TO_KNEE_M: Final = 0.43
"""Ankle to knee along the shank (0.246 x body height on a 1.75 m adult, Winter 2009); an error
scales the knee's mostly forward velocity, which barely turns the stride."""
POD_TO_KNEE_M: Final = 0.23
"""Thigh pod (mid-thigh) down to the knee along the thigh; in mid-stance the thigh turns slowly
about its flexion axis, so an error here moves the anchor velocity forward, not sideways."""


def knee_headings(
    thigh_t_s: FloatArray,
    thigh_quat_wxyz: FloatArray,
    thigh_acc_mps2: FloatArray,
    thigh_gyr_radps: FloatArray,
    thigh_to_segment: FloatArray,
    shank_t_s: FloatArray,
    shank_quat_common_wxyz: FloatArray,
    shank_gyr_radps: FloatArray,
    shank_to_segment: FloatArray,
    walking_direction_rad: tuple[FloatArray, FloatArray],
    *,
    shank_rate_hz: float,
    anchor_times_s: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Stride mid-times and the thigh filter's heading in the common frame (rad, unwrapped).

    The shank's orientation must already be in the common frame; `walking_direction_rad` is the
    reference pod's (times, direction) in that frame. Segment rows as in `SegmentAlignment`
    (z the long axis, pointing up). `anchor_times_s`: the shank's anchors if known from
    elsewhere (its foot's stillest instants), else the shank's own `stance_anchors`.
    """
    thigh = Rotation.from_quat(thigh_quat_wxyz, scalar_first=True)
    acc_world = thigh.apply(thigh_acc_mps2)
    acc_world[:, 2] -= G_MPS2
    knee_arm = thigh.apply(-POD_TO_KNEE_M * thigh_to_segment[2])
    # the pod's velocity relative to the knee: thigh rate x (pod - knee)
    relative = np.cross(thigh.apply(thigh_gyr_radps), -knee_arm)[:, :2]
    shank = Rotation.from_quat(shank_quat_common_wxyz, scalar_first=True)
    shank_arm = shank.apply(ANKLE_TO_KNEE_M * shank_to_segment[2])
    knee_velocity = np.cross(shank.apply(shank_gyr_radps), shank_arm)[:, :2]
    anchors = mid_stance_anchors(
        shank_t_s,
        shank_gyr_radps,
        shank_to_segment[1],
        sampling_rate_hz=shank_rate_hz,
        after_swing=SHANK_ANCHOR_AFTER_SWING,
        anchor_times_s=anchor_times_s,
    )
    ref_t, ref_direction = walking_direction_rad
    dt = np.diff(thigh_t_s, prepend=thigh_t_s[0])
    times: list[float] = []
    headings: list[float] = []
    for a, b in pairwise(anchors):
        duration = float(shank_t_s[b] - shank_t_s[a])
        if not MIN_STRIDE_S <= duration <= MAX_STRIDE_S:
            continue
        i, j = np.searchsorted(thigh_t_s, [shank_t_s[a], shank_t_s[b]])
        if i < 1 or j >= thigh_t_s.size or j - i < 10:
            continue
        acc = acc_world[i : j + 1, :2]
        step = dt[i + 1 : j + 1, None]
        velocity = np.vstack([np.zeros(2), np.cumsum(0.5 * (acc[1:] + acc[:-1]) * step, axis=0)])
        span = float(thigh_t_s[j] - thigh_t_s[i])
        integral = velocity[-1]
        double = (0.5 * (velocity[1:] + velocity[:-1]) * step).sum(axis=0)
        own = double - 0.5 * span * integral + 0.5 * span * (relative[i] + relative[j])
        common = 0.5 * span * (knee_velocity[a] + knee_velocity[b])
        if float(np.linalg.norm(own + common)) < MIN_STRIDE_M:
            continue
        mid = 0.5 * float(shank_t_s[a] + shank_t_s[b])
        direction = float(np.interp(mid, ref_t, ref_direction))
        lateral = np.array([-np.sin(direction), np.cos(direction)])
        ratio = -float(lateral @ common) / max(float(np.linalg.norm(own)), 1e-9)
        if abs(ratio) >= 0.9:
            continue
        times.append(mid)
        headings.append(direction - float(np.arctan2(own[1], own[0])) + float(np.arcsin(ratio)))
    return np.asarray(times), np.unwrap(np.asarray(headings))
