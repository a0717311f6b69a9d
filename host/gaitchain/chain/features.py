"""The classifier's named features, from the walking summary and the battery.

Per-side features come as a left and a right value (`hip_ir_deg.left`); the standing pelvis is
one signed value each (obliquity: left side higher positive; rotation: turned to the left
positive). `mirror` swaps left and right (and negates the signed pelvic values), which is how
the classifier is fitted symmetric. Walking features are the medians over straight strides of
`gaitchain analyze` (docs/analysis.md); they need the 5-pod set (pelvis, both shanks, both feet).
"""

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from .battery import SIDES, Battery

FloatArray = NDArray[np.float64]

WALK_METRICS: Final = (
    "hip_internal_rotation_peak_stance_deg",
    "hip_rotation_range_deg",
    "tibial_rotation_loading_deg",
    "pronation_excursion_deg",
    "eversion_at_contact_deg",
    "peak_pronation_stance_pct",
    "pronated_stance_pct",
    "ankle_dorsiflexion_peak_stance_deg",
    "pelvic_drop_deg",
    "stance_pct",
    "heel_off_stance_pct",
    "heel_rise_stance_pct",
)
"""Per-side walking medians used as features."""

BATTERY_METRICS: Final = (
    ("hip_ir", "hip_ir_deg"),
    ("single_leg_stance", "pelvic_drop_deg"),
    ("single_leg_stance", "pelvic_drop_drift_deg_per_30s"),
    ("single_leg_squat", "knee_valgus_deg"),
    ("single_leg_squat", "tibial_ir_deg"),
    ("single_leg_squat", "pelvic_drop_deg"),
    ("lunge", "tibial_inclination_deg"),
)
"""Per-side battery measurements used as features: (test, value)."""

FOOT_METRICS: Final = ("arch_height_index", "first_ray_hypermobile", "toe_grip_weak")
PELVIS_METRICS: Final = (
    ("standing_pelvis", "pelvic_obliquity_deg"),
    ("standing_pelvis", "pelvic_rotation_deg"),
)


def walk_names() -> list[str]:
    return [f"walk.{m}.{s}" for m in WALK_METRICS for s in SIDES]


def battery_names() -> list[str]:
    names = [f"{t}.{v}.{s}" for t, v in BATTERY_METRICS for s in SIDES]
    names += [f"foot.{m}.{s}" for m in FOOT_METRICS for s in SIDES]
    names += [f"{t}.{v}" for t, v in PELVIS_METRICS]
    return names


FEATURE_SETS: Final = {
    "walking": tuple(walk_names()),
    "battery+walking": tuple(walk_names() + battery_names()),
}


@dataclass(frozen=True)
class Inputs:
    """Named feature values (None = not measured) and why anything is missing."""

    values: dict[str, float | None]
    missing: list[str]


def walk_values(median: dict[str, dict[str, Any]] | None) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for metric in WALK_METRICS:
        for side in SIDES:
            value = None if median is None else median.get(side, {}).get(metric)
            out[f"walk.{metric}.{side}"] = None if value is None else float(value)
    return out


def battery_values(battery: Battery) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for test, value in BATTERY_METRICS:
        for side in SIDES:
            out[f"{test}.{value}.{side}"] = battery.value(test, side, value)
    for side in SIDES:
        foot = battery.foot.get(side)
        out[f"foot.arch_height_index.{side}"] = None if foot is None else foot.arch_height_index
        out[f"foot.first_ray_hypermobile.{side}"] = (
            None if foot is None else float(foot.first_ray_mobility == "hypermobile")
        )
        out[f"foot.toe_grip_weak.{side}"] = None if foot is None else float(foot.toe_grip == "weak")
    for test, value in PELVIS_METRICS:
        out[f"{test}.{value}"] = battery.value(test, "both", value)
    return out


def inputs(
    median: dict[str, dict[str, Any]] | None,
    missing_pods: dict[str, str] | list[str],
    battery: Battery | None,
) -> Inputs:
    """All named values from a walking summary's medians (None without a walk) and a battery,
    with the reasons for what is missing."""
    values = walk_values(median)
    missing: list[str] = []
    if median is None:
        missing.append("no walking recording")
    else:
        needed = {"pelvis", "left_shank", "right_shank", "left_foot", "right_foot"}
        absent = sorted(needed & set(missing_pods))
        if absent:
            missing.append(f"walking: no {', '.join(absent)} pod")
    if battery is not None:
        values.update(battery_values(battery))
        missing += battery.missing()
    else:
        missing.append("no assessment battery")
    return Inputs(values, missing)


def vector(values: dict[str, float | None], names: tuple[str, ...]) -> FloatArray | None:
    """The feature vector in `names` order, or None if any value is missing."""
    out = [values.get(name) for name in names]
    if any(v is None or not np.isfinite(v) for v in out):
        return None
    return np.array(out, dtype=float)


def mirror_names(names: tuple[str, ...]) -> tuple[list[int], FloatArray]:
    """For mirroring: the index each feature takes its value from, and the sign it gets."""
    index = {name: i for i, name in enumerate(names)}
    source: list[int] = []
    sign: list[float] = []
    for name in names:
        if name.endswith(".left"):
            source.append(index[name[: -len("left")] + "right"])
            sign.append(1.0)
        elif name.endswith(".right"):
            source.append(index[name[: -len("right")] + "left"])
            sign.append(1.0)
        else:
            source.append(index[name])
            sign.append(-1.0)
    return source, np.array(sign)
