"""Footprints and gait events of each foot, and the gait clock, for a plan.

Every foot has a list of footprints. Footprint j is reached at initial contact `ic[j]`, the foot is
flat from `ff[j]`, the heel rises at `ho[j]` and the toes leave at `to[j]`; the swing from
footprint j to j+1 runs from `to[j]` to `ic[j+1]`. The first footprint is where the walker stands
at the start (`ic` and `ff` before time 0); the last one is held to the end (`ho`, `to` after it).
"""

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from ..gait.angles import SIDES, side_sign
from .params import Walker
from .plan import Plan

FloatArray = NDArray[np.float64]

FOOT_FLAT_STANCE_FRACTION: Final = 0.13
"""Foot flat at about 8 % of the stride (Perry & Burnfield 2010)."""
HIP_OVER_ANKLE_STANCE_FRACTION: Final = 0.4
"""The hip passes over the stance ankle at about 40 % of stance (25 % of the stride)."""
ANKLE_FORWARD_FOOT_FRACTION: Final = 0.2
"""The ankle joint centre sits above this fraction of the foot length from the heel."""
_NEVER_S: Final = 1e9


@dataclass
class Footprints:
    """One foot's footprints (heel position on the floor, heading) and event times."""

    side: str
    heel_xy_m: FloatArray
    heading_rad: FloatArray
    ic_s: FloatArray
    ff_s: FloatArray
    ho_s: FloatArray
    to_s: FloatArray
    amplitude: FloatArray
    """Gait amplitude (fraction of cruise speed) of the step that reached this footprint."""

    @property
    def count(self) -> int:
        return int(self.ic_s.shape[0])


@dataclass
class Schedule:
    walker: Walker
    plan: Plan
    feet: dict[str, Footprints]

    def gait_state(self, t_s: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Arc length of the pelvis along the path, gait amplitude (0 standing, 1 cruising) and
        the left leg's gait phase (left initial contact at whole numbers) at `t_s`."""
        stride_s = self.walker.gait.stride_s
        s = np.zeros_like(t_s)
        amplitude = np.zeros_like(t_s)
        phase_left = np.zeros_like(t_s)
        for bout in self.plan.bouts:
            walked, fraction = bout.progress(t_s)
            started = t_s >= bout.t_start_s
            s = np.where(started, bout.s_start_m + walked, s)
            amplitude = np.where(fraction > 0, fraction, amplitude)
            first_ic = bout.t_start_s + (1 - self.walker.gait.stance_fraction) * stride_s
            left_ic0 = first_ic if bout.lead == "left" else first_ic + stride_s / 2
            phase_left = np.where(started, (t_s - left_ic0) / stride_s, phase_left)
        return s, amplitude, phase_left

    def steps_before(self, t_s: FloatArray) -> FloatArray:
        """Number of initial contacts (both feet) at or before each time."""
        ics = np.sort(np.concatenate([f.ic_s[f.ic_s > 0] for f in self.feet.values()]))
        return np.searchsorted(ics, t_s, side="right").astype(np.float64)


def build_schedule(walker: Walker, plan: Plan) -> Schedule:
    gait = walker.gait
    stride_s = gait.stride_s
    stance_s = gait.stance_fraction * stride_s
    swing_s = stride_s - stance_s
    schedule = Schedule(walker, plan, {})
    lists: dict[str, dict[str, list[float]]] = {
        side: {"s": [0.0], "ic": [-_NEVER_S], "to": [], "amp": [0.0]} for side in SIDES
    }
    for bout in plan.bouts:
        first_ic = bout.t_start_s + swing_s
        trail = "right" if bout.lead == "left" else "left"
        k = 0
        while True:
            t_ic = first_ic + k * stride_s / 2
            side = bout.lead if k % 2 == 0 else trail
            t_mid = np.array([t_ic + HIP_OVER_ANKLE_STANCE_FRACTION * stance_s])
            walked, _ = bout.progress(t_mid)
            _, fraction = bout.progress(np.array([t_ic]))
            s_foot = bout.s_start_m + float(walked[0])
            foot = lists[side]
            if s_foot - foot["s"][-1] < 0.03:
                if t_ic > bout.t_end_s:
                    break
                k += 1
                continue
            foot["to"].append(t_ic - swing_s)
            foot["ic"].append(t_ic)
            foot["s"].append(s_foot)
            foot["amp"].append(max(float(fraction[0]), 0.3))
            k += 1
    for side in SIDES:
        foot = lists[side]
        foot["to"].append(_NEVER_S)
        s_arr = np.asarray(foot["s"])
        x, y, heading = plan.path.point(s_arr)
        sign = side_sign(side)
        lateral = sign * gait.step_width_m / 2
        foot_heading = heading + sign * np.radians(gait.toe_out_deg)
        ankle_back = ANKLE_FORWARD_FOOT_FRACTION * walker.body.foot_m
        heel_x = x - np.sin(heading) * lateral - np.cos(foot_heading) * ankle_back
        heel_y = y + np.cos(heading) * lateral - np.sin(foot_heading) * ankle_back
        ic = np.asarray(foot["ic"])
        to = np.asarray(foot["to"])
        ff = np.minimum(ic + FOOT_FLAT_STANCE_FRACTION * stance_s, to - 0.5 * stance_s)
        ho = to - (1 - gait.heel_off_fraction) * stance_s
        schedule.feet[side] = Footprints(
            side,
            np.stack([heel_x, heel_y], axis=1),
            foot_heading,
            ic,
            ff,
            ho,
            to,
            np.asarray(foot["amp"]),
        )
    return schedule
