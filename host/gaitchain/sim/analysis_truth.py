"""Scoring `gaitchain analyze` on a simulated walk: the same per-stride metrics computed from the
truth (true functional segment frames, true walking direction, true events) and the errors of
the analysis against them, stride by stride.

The truth uses the functional frames of `frame_truth` (the frames the alignment defines, from the
client's standing posture), so both sides of the comparison share the definition of zero.
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..gait.analysis import Analysis
from ..gait.angles import SIDES, chain_angles
from ..gait.metrics import Curves, chain_metrics, foot_pitch_deg
from ..gait.strides import SideEvents, Stride
from .frame_truth import functional_rotations
from .walk import SimulatedWalk

FloatArray = NDArray[np.float64]
MATCH_S = 0.15


def truth_curves(walk: SimulatedWalk, t_s: FloatArray) -> Curves:
    rotation = functional_rotations(walk, t_s)
    angles = chain_angles(rotation, walk.body.poses(t_s).heading_rad)
    for side in SIDES:
        foot = rotation.get(f"{side}_foot")
        if foot is not None:
            angles[f"{side}_foot_pitch_deg"] = foot_pitch_deg(foot)
    return Curves(t_s, angles)


def truth_events(walk: SimulatedWalk) -> dict[str, SideEvents]:
    out: dict[str, SideEvents] = {}
    for side in SIDES:
        feet = walk.body.schedule.feet[side]
        n = min(feet.ic_s.shape[0], feet.to_s.shape[0])
        out[side] = SideEvents(feet.ic_s[:n], feet.ff_s[:n], feet.ho_s[:n], feet.to_s[:n], "truth")
    return out


@dataclass
class StrideErrors:
    """Per metric and side: estimate minus truth for every matched stride; and the event timing
    errors (s) of initial and final contact."""

    metrics: dict[str, dict[str, FloatArray]]
    initial_contact_s: dict[str, FloatArray]
    final_contact_s: dict[str, FloatArray]
    matched: dict[str, int]
    strides: dict[str, int]

    def rmse(self, metric: str) -> float:
        values = np.concatenate([self.metrics[metric][side] for side in SIDES])
        values = values[np.isfinite(values)]
        return float(np.sqrt(np.mean(values**2))) if values.size else float("nan")


def stride_errors(walk: SimulatedWalk, analysis: Analysis) -> StrideErrors:
    """Compare every straight stride of `analysis` with the true stride starting nearest it."""
    truth = truth_events(walk)
    curves = truth_curves(walk, analysis.kinematics.t_s)
    metrics: dict[str, dict[str, list[float]]] = {}
    ic_errors: dict[str, FloatArray] = {}
    fc_errors: dict[str, FloatArray] = {}
    matched: dict[str, int] = {}
    counts: dict[str, int] = {}
    for side in SIDES:
        other = truth["right" if side == "left" else "left"]
        ev = truth[side]
        ic_list: list[float] = []
        fc_list: list[float] = []
        rows = [r for r in analysis.sides[side].rows if r["straight"] is True]
        counts[side] = len(rows)
        for row in rows:
            start = float(row["initial_contact_s"])
            k = int(np.argmin(np.abs(ev.initial_contact_s - start)))
            if abs(ev.initial_contact_s[k] - start) > MATCH_S or k + 1 >= ev.initial_contact_s.size:
                continue
            stride = Stride(
                side,
                k,
                k,
                float(ev.initial_contact_s[k]),
                float(ev.foot_flat_s[k]),
                float(ev.heel_off_s[k]),
                float(ev.final_contact_s[k]),
                float(ev.initial_contact_s[k + 1]),
            )
            true_row = chain_metrics(curves, stride, other)
            ic_list.append(start - stride.initial_contact_s)
            fc_list.append(float(row["final_contact_s"]) - stride.final_contact_s)
            for key, value in true_row.items():
                estimate = row.get(key)
                if isinstance(value, float) and isinstance(estimate, float):
                    metrics.setdefault(key, {s: [] for s in SIDES})[side].append(estimate - value)
        ic_errors[side] = np.asarray(ic_list)
        fc_errors[side] = np.asarray(fc_list)
        matched[side] = len(ic_list)
    arrays = {
        key: {side: np.asarray(values[side]) for side in SIDES} for key, values in metrics.items()
    }
    return StrideErrors(arrays, ic_errors, fc_errors, matched, counts)
