"""Per-stride chain metrics from the angle curves (`gait.angles`) and the stride's events.

Every angle is relative to the client's quiet standing posture (see `gait.kinematics`); signs
are those of `gait.angles` and the same for both sides. Metric names carry their unit. A metric
whose segments are missing is absent; one whose window holds no data is NaN.

- `pelvic_drop_deg`: the opposite side's drop in this side's single-limb support (Trendelenburg):
  peak obliquity toward the swing side, relative to standing.
- `pelvic_obliquity_range_deg`, `pelvic_rotation_range_deg`, `pelvic_tilt_range_deg`: range over
  the stride.
- `hip_rotation_range_deg`, `hip_internal_rotation_peak_stance_deg`: hip internal rotation from
  the thigh pod; without one, the pelvis-to-shank rotation (hip plus knee rotation) and
  `hip_rotation_source` says `proxy`.
- `tibial_rotation_loading_deg`: internal rotation of the shank relative to the pelvis from
  initial contact to the end of loading response; `tibial_progression_loading_deg`: the same
  relative to the walking direction (the line of progression).
- pronation (subtalar eversion, the foot relative to the shank): `eversion_at_contact_deg`;
  `pronation_excursion_deg` (peak eversion in stance minus eversion at initial contact);
  `peak_pronation_stance_pct` (time of that peak in % of stance); `pronated_stance_pct` (share
  of stance everted beyond the eversion at initial contact); `peak_pronation_velocity_dps`;
  `resupination_deg` (eversion given back between the peak and heel off).
- `ankle_dorsiflexion_peak_stance_deg`: peak dorsiflexion in stance.
- `heel_rise_stance_pct`: when, in % of stance, the foot has turned `HEEL_RISE_DEG` toes-down
  from its flat pitch (its median from foot flat to heel off): how early the heel is well up.
- `foot_strike_angle_deg`: the foot's pitch (toes up positive) at initial contact relative to
  standing.
"""

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from .strides import SideEvents, Stride, loading_response_end_s, single_support_s

FloatArray = NDArray[np.float64]
NAN = float("nan")
HEEL_RISE_DEG = 10.0
"""Toes-down turn of the foot from flat that `heel_rise_stance_pct` times (heel about 3 cm up)."""


class Curves:
    """Angle curves on a uniform grid, with windowed reads."""

    def __init__(self, t_s: FloatArray, angles: Mapping[str, FloatArray]) -> None:
        self.t_s = t_s
        self.angles = angles
        self.rate_hz = float((t_s.shape[0] - 1) / (t_s[-1] - t_s[0])) if t_s.size > 1 else 1.0

    def has(self, name: str) -> bool:
        return name in self.angles

    def window(self, name: str, start_s: float, end_s: float) -> FloatArray:
        if not (np.isfinite(start_s) and np.isfinite(end_s)):
            return np.zeros(0)
        lo, hi = np.searchsorted(self.t_s, [start_s, end_s])
        # Cardan angles wrap at +-180 deg; inside one stride an angle never turns a full circle
        return np.unwrap(self.angles[name][lo:hi], period=360.0)

    def at(self, name: str, t_s: float) -> float:
        if not np.isfinite(t_s) or t_s < self.t_s[0] or t_s > self.t_s[-1]:
            return NAN
        return float(np.interp(t_s, self.t_s, self.angles[name]))


def _range(values: FloatArray) -> float:
    return float(np.ptp(values)) if values.size else NAN


def _max(values: FloatArray) -> float:
    return float(values.max()) if values.size else NAN


def pelvis_metrics(curves: Curves, stride: Stride, other: SideEvents | None) -> dict[str, float]:
    start, end = stride.initial_contact_s, stride.next_initial_contact_s
    support_start, support_end = single_support_s(stride, other)
    toward_swing = 1.0 if stride.side == "left" else -1.0
    drop = curves.window("pelvis_obliquity_deg", support_start, support_end)
    return {
        "pelvic_drop_deg": _max(toward_swing * drop),
        "pelvic_obliquity_range_deg": _range(curves.window("pelvis_obliquity_deg", start, end)),
        "pelvic_rotation_range_deg": _range(curves.window("pelvis_rotation_deg", start, end)),
        "pelvic_tilt_range_deg": _range(curves.window("pelvis_tilt_deg", start, end)),
    }


def rotation_metrics(
    curves: Curves, stride: Stride, other: SideEvents | None
) -> dict[str, float | str]:
    side = stride.side
    out: dict[str, float | str] = {}
    thigh = f"{side}_hip_internal_rotation_deg"
    tibia = f"{side}_tibial_internal_rotation_deg"
    hip = thigh if curves.has(thigh) else tibia if curves.has(tibia) else None
    if hip is not None:
        out["hip_rotation_source"] = "thigh" if hip == thigh else "proxy"
        out["hip_rotation_range_deg"] = _range(
            curves.window(hip, stride.initial_contact_s, stride.next_initial_contact_s)
        )
        out["hip_internal_rotation_peak_stance_deg"] = _max(
            curves.window(hip, stride.initial_contact_s, stride.final_contact_s)
        )
    loading_end = loading_response_end_s(stride, other)
    for name, key in (
        (tibia, "tibial_rotation_loading_deg"),
        (f"{side}_shank_progression_deg", "tibial_progression_loading_deg"),
    ):
        if curves.has(name):
            out[key] = curves.at(name, loading_end) - curves.at(name, stride.initial_contact_s)
    return out


def pronation_metrics(curves: Curves, stride: Stride) -> dict[str, float]:
    name = f"{stride.side}_subtalar_eversion_deg"
    if not curves.has(name):
        return {}
    stance = curves.window(name, stride.initial_contact_s, stride.final_contact_s)
    at_contact = curves.at(name, stride.initial_contact_s)
    if stance.size < 3:
        return {
            key: NAN
            for key in (
                "eversion_at_contact_deg",
                "pronation_excursion_deg",
                "peak_pronation_stance_pct",
                "pronated_stance_pct",
                "peak_pronation_velocity_dps",
                "resupination_deg",
            )
        }
    peak = int(np.argmax(stance))
    lo = int(np.searchsorted(curves.t_s, stride.initial_contact_s))
    peak_s = float(curves.t_s[lo + peak])
    velocity = np.gradient(stance) * curves.rate_hz
    return {
        "eversion_at_contact_deg": at_contact,
        "pronation_excursion_deg": float(stance[peak]) - at_contact,
        "peak_pronation_stance_pct": 100.0
        * (peak_s - stride.initial_contact_s)
        / stride.stance_time_s,
        "pronated_stance_pct": 100.0 * float(np.mean(stance > at_contact)),
        "peak_pronation_velocity_dps": float(velocity[: peak + 1].max()),
        "resupination_deg": float(stance[peak]) - curves.at(name, stride.heel_off_s),
    }


def ankle_metrics(curves: Curves, stride: Stride) -> dict[str, float]:
    name = f"{stride.side}_ankle_dorsiflexion_deg"
    if not curves.has(name):
        return {}
    return {
        "ankle_dorsiflexion_peak_stance_deg": _max(
            curves.window(name, stride.initial_contact_s, stride.final_contact_s)
        )
    }


def heel_rise_stance_pct(curves: Curves, stride: Stride) -> float:
    """When the foot has turned `HEEL_RISE_DEG` toes-down from flat, in % of stance (NaN if it
    does not before final contact, or foot flat or heel off is unknown)."""
    name = f"{stride.side}_foot_pitch_deg"
    flat = curves.window(name, stride.foot_flat_s, stride.heel_off_s)
    rising = curves.window(name, stride.heel_off_s, stride.final_contact_s)
    if flat.size == 0 or rising.size < 2:
        return NAN
    level = float(np.median(flat)) - HEEL_RISE_DEG
    below = np.flatnonzero(rising <= level)
    if below.size == 0 or below[0] == 0:
        return NAN
    k = int(below[0])
    t_s = curves.t_s[int(np.searchsorted(curves.t_s, stride.heel_off_s)) :]
    before, after = float(rising[k - 1]), float(rising[k])
    crossing_s = float(np.interp(level, [after, before], [t_s[k], t_s[k - 1]]))
    return 100.0 * (crossing_s - stride.initial_contact_s) / stride.stance_time_s


def foot_pitch_deg(foot: FloatArray) -> FloatArray:
    """The foot's forward axis above the horizontal (toes up positive), degrees."""
    return np.degrees(np.arcsin(np.clip(foot[:, 2, 0], -1.0, 1.0)))


def chain_metrics(
    curves: Curves, stride: Stride, other: SideEvents | None
) -> dict[str, float | str]:
    """All angle-based metrics of one stride that the available curves allow."""
    out: dict[str, float | str] = {}
    if curves.has("pelvis_obliquity_deg"):
        out.update(pelvis_metrics(curves, stride, other))
    out.update(rotation_metrics(curves, stride, other))
    out.update(pronation_metrics(curves, stride))
    out.update(ankle_metrics(curves, stride))
    pitch = f"{stride.side}_foot_pitch_deg"
    if curves.has(pitch):
        out["foot_strike_angle_deg"] = curves.at(pitch, stride.initial_contact_s)
        out["heel_rise_stance_pct"] = heel_rise_stance_pct(curves, stride)
    return out
