"""From the verdict to a phased plan with measurable targets, and sessions compared over time.

The phases follow the chain from the top down: restore the hip (weeks 1-3), integrate the chain
(weeks 3-6), build the foot's resilience (weeks 4-8), and footwear (ongoing). Each phase's
emphasis follows the leading driver, and each target is a measurement the next session re-tests
with its current value, so progress is a number, not an impression.
"""

from dataclasses import dataclass
from typing import Any, Final

from .battery import SIDES


@dataclass(frozen=True)
class Target:
    measure: str
    """Feature name (`hip_ir.hip_ir_deg.left`, `walk.pronation_excursion_deg.right`, ...)."""
    label: str
    goal: str
    """`>= 35`, `<= 2`, ..."""
    current: float | None

    @property
    def met(self) -> bool | None:
        if self.current is None:
            return None
        op, number = self.goal.split()
        return self.current >= float(number) if op == ">=" else self.current <= float(number)


@dataclass(frozen=True)
class Phase:
    name: str
    weeks: str
    focus: str
    targets: tuple[Target, ...]


FOCUS: Final = {
    "hip-ir-deficit": "hip internal-rotation mobility (capsule and posterior hip), daily",
    "glute-med": "gluteus medius strength and endurance in single-leg positions",
    "pelvic-asymmetry": "pelvic position: lumbopelvic mobility and symmetric loading",
    "ankle-df-limit": "ankle dorsiflexion: calf and posterior ankle mobility",
    "foot-level": "intrinsic foot strength and arch control",
    "healthy": "maintenance: no upstream driver stands out",
}


def phased_plan(driver: str, side: str, values: dict[str, float | None]) -> list[Phase]:
    """The four phases for the leading `driver` on `side` with targets read from `values` (the
    classifier's named inputs; None where not measured)."""
    sides = SIDES if side not in SIDES else (side,)

    def t(measure: str, label: str, goal: str) -> list[Target]:
        return [
            Target(
                measure.format(side=s), f"{label} ({s})", goal, values.get(measure.format(side=s))
            )
            for s in sides
        ]

    hip = [
        *t("hip_ir.hip_ir_deg.{side}", "prone hip internal rotation, deg", ">= 35"),
        *t(
            "single_leg_stance.pelvic_drop_deg.{side}", "single-leg stance pelvic drop, deg", "<= 2"
        ),
        *t(
            "single_leg_stance.pelvic_drop_drift_deg_per_30s.{side}",
            "single-leg stance drop drift over 30 s, deg",
            "<= 1",
        ),
    ]
    chain = [
        *t("single_leg_squat.knee_valgus_deg.{side}", "squat knee valgus proxy, deg", "<= 5"),
        *t("single_leg_squat.tibial_ir_deg.{side}", "squat tibial internal rotation, deg", "<= 8"),
        *t(
            "walk.tibial_rotation_loading_deg.{side}",
            "walking tibial rotation in loading, deg",
            "<= 10",
        ),
        *t("lunge.tibial_inclination_deg.{side}", "lunge tibial inclination, deg", ">= 36"),
    ]
    foot = [
        *t("walk.pronation_excursion_deg.{side}", "walking pronation excursion, deg", "<= 8"),
        *t("walk.peak_pronation_stance_pct.{side}", "peak pronation timing, % stance", "<= 40"),
        *t("foot.toe_grip_weak.{side}", "toe grip weak (1) / normal (0)", "<= 0"),
    ]
    standing = [
        Target(
            "standing_pelvis.pelvic_rotation_deg",
            "standing pelvic rotation, |deg|",
            "<= 3",
            None
            if values.get("standing_pelvis.pelvic_rotation_deg") is None
            else abs(values["standing_pelvis.pelvic_rotation_deg"] or 0.0),
        )
    ]
    focus = FOCUS.get(driver, FOCUS["healthy"])
    return [
        Phase(
            "Hip restoration",
            "weeks 1-3",
            focus
            if driver in ("hip-ir-deficit", "glute-med", "pelvic-asymmetry")
            else "hip mobility and control as a base",
            tuple(hip + (standing if driver == "pelvic-asymmetry" else [])),
        ),
        Phase(
            "Chain integration",
            "weeks 3-6",
            "single-leg squats, step-downs and gait drills with the knee over the foot"
            + ("; " + focus if driver == "ankle-df-limit" else ""),
            tuple(chain),
        ),
        Phase(
            "Foot resilience",
            "weeks 4-8",
            focus if driver == "foot-level" else "toe-flexor and arch strength, calf raises",
            tuple(foot),
        ),
        Phase(
            "Footwear",
            "ongoing",
            "shoes with a stable heel counter and enough toe room; review at every session",
            (),
        ),
    ]


def plan_json(phases: list[Phase]) -> list[dict[str, Any]]:
    return [
        {
            "phase": p.name,
            "weeks": p.weeks,
            "focus": p.focus,
            "targets": [
                {
                    "measure": t.measure,
                    "label": t.label,
                    "goal": t.goal,
                    "current": t.current,
                    "met": t.met,
                }
                for t in p.targets
            ],
        }
        for p in phases
    ]


def compare_sessions(
    sessions: list[tuple[str, dict[str, float | None]]], measures: list[str]
) -> list[dict[str, Any]]:
    """One row per measure: its value in each session (oldest first) and the change from the
    first session to the last that measured it."""
    rows: list[dict[str, Any]] = []
    for measure in measures:
        series = [values.get(measure) for _, values in sessions]
        known = [v for v in series if v is not None]
        rows.append(
            {
                "measure": measure,
                "values": series,
                "change": known[-1] - known[0] if len(known) >= 2 else None,
            }
        )
    return rows
