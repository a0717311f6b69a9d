"""The chain-driver classifier: ranks the upstream drivers per side with their evidence.

`DriverClassifier().classify(inputs)` picks the stored model that the available inputs allow:
battery and walking together, or walking alone (the 5-pod walk) when no battery was done. With
anything less, or a battery that is incomplete or invalid, it does not guess: `status_` is
"not enough data" and `missing_` says what to record. Otherwise `drivers_` lists every driver and
side with its probability (highest first; `healthy` is the no-driver class) and, per driver, the
evidence: each key measurement with its normal range (the healthy training subjects' 5th-95th
percentiles, and the clinical norm where the battery has one), how far out it is, its share of
the driver's log-odds against healthy, which downstream links amplify it and what to re-test.
"""

from dataclasses import dataclass, field
from typing import Any, Final, Self

import numpy as np

from .features import FEATURE_SETS, Inputs, inputs, vector
from .model import SoftmaxModel
from .store import CLASSES, MODEL_PATH, load_models


@dataclass(frozen=True)
class DriverInfo:
    label: str
    key_features: tuple[str, ...]
    """Feature names with `{side}` for the driver's side and `{other}` for the other one."""
    downstream: str
    retest: tuple[str, ...]


INFO: Final = {
    "hip-ir-deficit": DriverInfo(
        "hip internal-rotation deficit",
        (
            "hip_ir.hip_ir_deg.{side}",
            "walk.hip_internal_rotation_peak_stance_deg.{side}",
            "walk.tibial_rotation_loading_deg.{side}",
            "walk.eversion_at_contact_deg.{side}",
            "walk.pronation_excursion_deg.{side}",
        ),
        "the rotation the hip lacks is taken up below it: more tibial internal rotation in "
        "loading, then more subtalar pronation, which tensions the plantar fascia",
        ("prone hip internal rotation", "walking tibial rotation and pronation"),
    ),
    "glute-med": DriverInfo(
        "gluteus medius insufficiency",
        (
            "single_leg_stance.pelvic_drop_deg.{side}",
            "single_leg_stance.pelvic_drop_drift_deg_per_30s.{side}",
            "single_leg_squat.knee_valgus_deg.{side}",
            "single_leg_squat.pelvic_drop_deg.{side}",
            "walk.pelvic_drop_deg.{side}",
            "walk.tibial_rotation_loading_deg.{side}",
        ),
        "the pelvis drops and the femur turns in, the knee collapses inward, the tibia rotates "
        "internally and the foot pronates; it grows with fatigue",
        ("single-leg stance 30 s", "single-leg squat", "walking pelvic drop late in a walk"),
    ),
    "pelvic-asymmetry": DriverInfo(
        "pelvic asymmetry",
        (
            "standing_pelvis.pelvic_rotation_deg",
            "standing_pelvis.pelvic_obliquity_deg",
            "walk.pronated_stance_pct.{side}",
            "walk.pronation_excursion_deg.{side}",
        ),
        "a pelvis turned away from this side and tilted loads this foot into pronation for "
        "longer in every stance",
        ("standing pelvic position", "walking pronation time"),
    ),
    "ankle-df-limit": DriverInfo(
        "limited ankle dorsiflexion",
        (
            "lunge.tibial_inclination_deg.{side}",
            "walk.ankle_dorsiflexion_peak_stance_deg.{side}",
            "walk.heel_rise_stance_pct.{side}",
            "walk.heel_off_stance_pct.{side}",
            "walk.stance_pct.{side}",
            "walk.peak_pronation_stance_pct.{side}",
        ),
        "the heel rises early and the midfoot collapses to find the missing dorsiflexion, "
        "stretching the plantar fascia at push-off",
        (
            "weight-bearing lunge",
            "walking peak dorsiflexion, heel-rise timing and stance time",
        ),
    ),
    "foot-level": DriverInfo(
        "foot-level (structure and control)",
        (
            "foot.arch_height_index.{side}",
            "foot.first_ray_hypermobile.{side}",
            "foot.toe_grip_weak.{side}",
            "walk.pronation_excursion_deg.{side}",
            "walk.peak_pronation_stance_pct.{side}",
        ),
        "a low or mobile arch and weak toe flexors let the foot pronate further and resupinate "
        "late, with nothing above driving it",
        ("arch height, first ray and toe grip", "walking pronation and its timing"),
    ),
}
NOT_ENOUGH: Final = "not enough data"


@dataclass
class DriverClassifier:
    """`model_path`: the versioned model JSON (the package's by default)."""

    model_path: str = str(MODEL_PATH)
    status_: str = field(default="", init=False)
    model_: str = field(default="", init=False)
    missing_: list[str] = field(default_factory=list[str], init=False)
    drivers_: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]], init=False)

    def classify(self, data: Inputs) -> Self:
        models = load_models(self.model_path)
        self.missing_ = list(data.missing)
        self.drivers_ = []
        walking_ok = not any(m.startswith(("no walking", "walking:")) for m in data.missing)
        battery_ok = not [m for m in data.missing if not m.startswith(("no walking", "walking:"))]
        battery_absent = "no assessment battery" in data.missing
        if walking_ok and battery_ok:
            name = "battery+walking"
        elif walking_ok and battery_absent:
            name = "walking"
        else:
            self.status_ = NOT_ENOUGH
            return self
        x = vector(data.values, FEATURE_SETS[name])
        if x is None:
            absent = [k for k in FEATURE_SETS[name] if data.values.get(k) is None]
            self.missing_.append(f"not measured: {', '.join(absent)}")
            self.status_ = NOT_ENOUGH
            return self
        model, normal = models[name]
        self.model_ = name
        self.status_ = "ok"
        self.drivers_ = ranked(model, normal, x)
        return self

    def to_json(self) -> list[dict[str, Any]]:
        """The `drivers` list of `analyze --json` (docs/analysis.md)."""
        if self.status_ != "ok":
            return [
                {
                    "driver": NOT_ENOUGH,
                    "side": "none",
                    "probability": None,
                    "evidence": list(self.missing_),
                }
            ]
        return self.drivers_


def ranked(
    model: SoftmaxModel, normal: dict[str, list[float]], x: np.ndarray
) -> list[dict[str, Any]]:
    proba = model.proba(x)[0]
    out: list[dict[str, Any]] = []
    healthy = CLASSES.index("healthy")
    contributions = model.contributions(x, healthy)
    values = dict(zip(model.features, x.tolist(), strict=True))
    for index, name in enumerate(model.classes):
        if name == "healthy":
            out.append(
                {
                    "driver": "healthy",
                    "side": "none",
                    "probability": float(proba[index]),
                    "evidence": [],
                }
            )
            continue
        side, _, driver = name.partition("-")
        info = INFO[driver]
        share = dict(zip(model.features, contributions[index].tolist(), strict=True))
        evidence = [
            item(feature.format(side=side), values, normal, share)
            for feature in info.key_features
            if feature.format(side=side) in values
        ]
        out.append(
            {
                "driver": driver,
                "side": side,
                "probability": float(proba[index]),
                "label": info.label,
                "evidence": evidence,
                "downstream": info.downstream,
                "retest": list(info.retest),
            }
        )
    return sorted(out, key=lambda d: -float(d["probability"]))


CLINICAL_NORMS: Final = {
    "hip_ir.hip_ir_deg": "35-45 deg; below 30 a red flag",
    "single_leg_stance.pelvic_drop_deg": "below 2 deg",
    "single_leg_squat.knee_valgus_deg": "up to about 5 deg",
    "single_leg_squat.pelvic_drop_deg": "below 2 deg",
    "lunge.tibial_inclination_deg": "about 36-43 deg (10-12 cm knee to wall)",
    "standing_pelvis.pelvic_obliquity_deg": "within +-2 deg",
    "standing_pelvis.pelvic_rotation_deg": "within +-3 deg",
    "foot.arch_height_index": "0.31-0.37",
}


def base_name(feature: str) -> str:
    return feature.rsplit(".", 1)[0] if feature.endswith((".left", ".right")) else feature


def item(
    feature: str, values: dict[str, float], normal: dict[str, list[float]], share: dict[str, float]
) -> dict[str, Any]:
    low, high, mean, sd = normal[feature]
    value = values[feature]
    beyond = value - high if value > high else (value - low if value < low else 0.0)
    entry: dict[str, Any] = {
        "measure": base_name(feature),
        "value": value,
        "normal_low": low,
        "normal_high": high,
        "out_of_range": beyond,
        "z": (value - mean) / sd if sd > 0 else 0.0,
        "log_odds_vs_healthy": share[feature],
    }
    norm = CLINICAL_NORMS.get(base_name(feature))
    if norm is not None:
        entry["clinical_norm"] = norm
    return entry


def walking_drivers(
    median: dict[str, dict[str, Any]], missing_pods: dict[str, str]
) -> list[dict[str, Any]]:
    """The `drivers` list of `analyze --json`: the walking-only model on the summary's
    medians."""
    return DriverClassifier().classify(inputs(median, missing_pods, None)).to_json()
