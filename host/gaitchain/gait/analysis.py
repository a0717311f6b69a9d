"""`gaitchain analyze`: events, strides, per-stride chain metrics and summaries of a recording.

`analyze(recording)` fuses every pod (`kinematics`), finds each side's events (from the foot pod,
else from the shank pod), cuts strides, measures them (`strides`, `metrics`, `load`) and
summarises the straight ones (`summary`). Whatever a missing pod prevents is listed in
`quality.missing`. `Analysis.to_json()` gives the document described in docs/analysis.md.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, cast

import numpy as np
from numpy.typing import NDArray

from ..chain.classifier import walking_drivers
from ..io.recording import Recording
from .angles import SIDES, chain_angles
from .kinematics import SegmentKinematics, segment_kinematics
from .load import FootLoad
from .metrics import Curves, chain_metrics, foot_pitch_deg
from .pelvis_events import pelvis_events
from .shank_events import shank_events
from .strides import (
    SideEvents,
    Stride,
    bouts,
    foot_events,
    is_straight,
    strides_of,
    temporal_metrics,
)
from .summary import Row, asymmetry, drifts, medians

FloatArray = NDArray[np.float64]
SCHEMA: Final = "gaitchain-analysis"
SCHEMA_VERSION: Final = 1
PREVENTS: Final = {
    "pelvis": "pelvic drop, obliquity, rotation and tilt; the hip-rotation proxy and tibial "
    "rotation relative to the pelvis",
    "shank": "hip-rotation proxy, tibial rotation, pronation and ankle dorsiflexion (the foot is "
    "measured relative to the shank)",
    "foot": "foot-pod events (the shank's or else the pelvis's are used instead, without foot "
    "flat and heel off), "
    "pronation, ankle dorsiflexion, foot-strike angle, impact, stride length and speed",
    "thigh": "hip rotation from the thigh (the pelvis-to-shank proxy is used instead)",
}


@dataclass
class SideAnalysis:
    events: SideEvents | None
    strides: list[Stride] = field(default_factory=list[Stride])
    rows: list[Row] = field(default_factory=list[Row])


@dataclass
class Analysis:
    kinematics: SegmentKinematics
    sides: dict[str, SideAnalysis]
    missing: dict[str, str]

    def straight_rows(self, side: str) -> list[Row]:
        return [row for row in self.sides[side].rows if row["straight"] is True]

    def to_json(self, *, drivers: bool = True) -> dict[str, Any]:
        """The `analyze` document; `drivers=False` leaves the classifier out (an empty list), as
        the driver model's own training data must not need a fitted model."""
        events: dict[str, Any] = {}
        strides: dict[str, Any] = {}
        for side, result in self.sides.items():
            ev = result.events
            if ev is None:
                events[side] = {"initial_contact_s": [], "final_contact_s": [], "source": None}
            else:
                mid = 0.5 * (ev.final_contact_s[:-1] + ev.initial_contact_s[1:])
                events[side] = {
                    "initial_contact_s": _finite(ev.initial_contact_s),
                    "final_contact_s": _finite(ev.final_contact_s),
                    "foot_flat_s": _finite(ev.foot_flat_s),
                    "heel_off_s": _finite(ev.heel_off_s),
                    "mid_swing_s": _finite(mid),
                    "source": ev.source,
                }
            strides[side] = [_clean(row) for row in result.rows]
        left, right = (medians(self.straight_rows(side)) for side in SIDES)
        all_ic = sorted(
            t for side in SIDES for t in events[side]["initial_contact_s"] if np.isfinite(t)
        )
        straight = {side: len(self.straight_rows(side)) for side in SIDES}
        cadence = [left.get("cadence_spm"), right.get("cadence_spm")]
        cadences = [c for c in cadence if c is not None]
        summary = {
            "step_count": len(all_ic),
            "cadence_spm": float(np.mean(cadences)) if cadences else None,
            "straight_strides": straight,
            "median": {"left": left, "right": right},
            "asymmetry": asymmetry(left, right),
            "fatigue_drift": {
                side: drifts(
                    self.straight_rows(side),
                    np.array([float(r["step_count"]) for r in self.straight_rows(side)]),
                )
                for side in SIDES
            },
        }
        all_strides = [s for side in SIDES for s in self.sides[side].strides]
        flags = [bool(r["straight"]) for side in SIDES for r in self.sides[side].rows]
        kin = self.kinematics
        quality = {
            "pods": {
                name: {
                    "segment": pod.pod.segment,
                    "side": pod.pod.side,
                    "rate_hz": pod.pod.rate_hz,
                    "duration_s": float(pod.pod.t_s[-1] - pod.pod.t_s[0]),
                    "alignment_quality": pod.alignment_quality,
                }
                for name, pod in kin.pods.items()
            },
            "dropped": kin.dropped,
            "missing": self.missing,
            "heading_straight_share": _number(kin.straight_share),
        }
        return _clean(
            {
                "schema": SCHEMA,
                "version": SCHEMA_VERSION,
                "events": events,
                "strides": strides,
                "bouts": [
                    {"start_s": a, "end_s": b, "strides": n}
                    for a, b, n in bouts(all_strides, flags)
                ],
                "summary": summary,
                "quality": quality,
                "drivers": walking_drivers({"left": left, "right": right}, self.missing)
                if drivers
                else [],
            }
        )


def _number(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _finite(values: FloatArray) -> list[float]:
    return [round(float(v), 4) for v in values if np.isfinite(v)]


def _clean(value: object) -> Any:
    """JSON-safe: NaN and infinities become null, numpy scalars plain numbers."""
    if isinstance(value, dict):
        items = cast(dict[object, object], value)
        return {str(k): _clean(v) for k, v in items.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in cast(Sequence[object], value)]
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, int):
        return value
    number = float(cast(float, value))
    return round(number, 6) if np.isfinite(number) else None


def missing_pods(recording: Recording) -> dict[str, str]:
    """What each pod absent from the recording prevents (pods present but left out are listed
    with their reason in `quality.dropped`)."""
    present = {pod.name for pod in recording.pods}
    out: dict[str, str] = {}
    if "pelvis" not in present:
        out["pelvis"] = PREVENTS["pelvis"]
    for side in SIDES:
        for segment in ("shank", "foot", "thigh"):
            name = f"{side}_{segment}"
            if name not in present:
                out[name] = PREVENTS[segment]
    return out


def side_events(
    recording: Recording, kin: SegmentKinematics, angles: dict[str, FloatArray]
) -> dict[str, SideEvents | None]:
    """Per side: events from the foot pod (raw signals, no alignment needed), else from the
    shank pod once aligned, else from the pelvis pod, else None."""
    out: dict[str, SideEvents | None] = {}
    from_pelvis: dict[str, SideEvents] | None = None
    for side in SIDES:
        foot = recording.pod("foot", side)
        shank = kin.pods.get(f"{side}_shank")
        pelvis = kin.pods.get("pelvis")
        if foot is not None:
            out[side] = foot_events(foot)
        elif shank is not None:
            out[side] = shank_events(shank.pod, shank.sensor_to_segment)
        elif pelvis is not None and "pelvis_rotation_deg" in angles:
            if from_pelvis is None:
                from_pelvis = pelvis_events(pelvis, kin.t_s, angles["pelvis_rotation_deg"])
            out[side] = from_pelvis[side]
        else:
            out[side] = None
    return out


def analyze(recording: Recording) -> Analysis:
    if not recording.pods:
        raise ValueError("the recording has no pods")
    return analyze_kinematics(recording, segment_kinematics(recording))


def analyze_kinematics(recording: Recording, kin: SegmentKinematics) -> Analysis:
    """Events, strides and per-stride metrics of `recording` whose segments are `kin` (the live
    dashboard passes a window of its streaming orientations)."""
    angles = chain_angles(kin.rotation, kin.heading_rad)
    for side in SIDES:
        foot = kin.rotation.get(f"{side}_foot")
        if foot is not None:
            angles[f"{side}_foot_pitch_deg"] = foot_pitch_deg(foot)
    curves = Curves(kin.t_s, angles)
    events = side_events(recording, kin, angles)
    all_ic = np.sort(
        np.concatenate(
            [
                ev.initial_contact_s[np.isfinite(ev.initial_contact_s)]
                for ev in events.values()
                if ev
            ]
            or [np.zeros(0)]
        )
    )
    sides: dict[str, SideAnalysis] = {}
    for side in SIDES:
        ev = events[side]
        result = SideAnalysis(ev)
        sides[side] = result
        if ev is None:
            continue
        other = events["right" if side == "left" else "left"]
        fused_foot = kin.pods.get(f"{side}_foot")
        load = FootLoad(fused_foot) if fused_foot is not None else None
        for stride in strides_of(side, ev):
            row: Row = {
                "initial_contact_s": stride.initial_contact_s,
                "final_contact_s": stride.final_contact_s,
                "step_count": float(np.searchsorted(all_ic, stride.initial_contact_s) + 1),
                "straight": is_straight(stride, kin.t_s, kin.heading_rad),
            }
            row.update(temporal_metrics(stride, other))
            row.update(chain_metrics(curves, stride, other))
            if load is not None:
                row.update(load.impact(stride))
                row.update(load.progression(stride, ev))
            result.strides.append(stride)
            result.rows.append(row)
    return Analysis(kin, sides, missing_pods(recording))
