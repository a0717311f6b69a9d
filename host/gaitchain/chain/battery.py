"""The assessment battery: what each test asks of the client, how it is checked, its normal range.

Each pod-measured test has a fixed protocol timing, so its recording can be measured without
markers: the app (or the coach) says "stand still", then "go" at `start_s`. The measurement
functions are in `chain.measure`; the manual entries (foot structure, symptoms) are typed in.
Normal ranges are the clinical norms the project works with, with their sources; they are what
the report compares against, not outputs of a model.
"""

from dataclasses import dataclass
from typing import Any, Final

SIDES: Final = ("left", "right")


@dataclass(frozen=True)
class BatteryTest:
    key: str
    name: str
    pods: tuple[str, ...]
    """Pods the test needs, `{side}` standing for the tested side."""
    instructions: str
    validity: str
    measures: str
    normal: str
    source: str
    per_side: bool = True


TESTS: Final = (
    BatteryTest(
        "hip_ir",
        "Prone hip internal rotation",
        ("{side}_shank",),
        "Client prone, pelvis flat, knee of the tested leg bent to 90 deg with the shank vertical. "
        "Hold still 3 s; at the signal the examiner turns the foot outward (hip internal rotation) "
        "slowly to the end of range without lifting the pelvis, holds 3 s, and returns.",
        "still start with the shank within 15 deg of vertical; end position held still for at "
        "least 1 s; the shank turned outward (not inward) and stayed within 15 deg of the "
        "frontal plane",
        "hip internal rotation = the shank's frontal-plane angle from vertical at end range (deg)",
        "35-45 deg; below 30 deg a red flag",
        "clinical prone hip rotation norms (e.g. Ellison et al., Phys Ther 70:537, 1990)",
    ),
    BatteryTest(
        "single_leg_stance",
        "Single-leg stance, 30 s",
        ("pelvis",),
        "Stand on both feet, hands on hips, still for 3 s; at the signal lift the other foot "
        "and stand on the tested leg for 30 s.",
        "still start; 30 s of stance recorded after the lift; no sudden jolt (a touch-down or "
        "loss of balance) during the hold",
        "pelvic drop = obliquity toward the lifted side relative to standing, median over the "
        "hold (deg), and its drift over the hold (deg per 30 s: fatigue-dependent loss of "
        "control)",
        "pelvis level or raised on the lifted side; a drop above 2 deg is a positive "
        "Trendelenburg sign",
        "Trendelenburg test (Hardcastle & Nade, J Bone Joint Surg Br 67:741, 1985)",
    ),
    BatteryTest(
        "single_leg_squat",
        "Single-leg squat, 5 repetitions",
        ("{side}_shank", "pelvis"),
        "Stand on the tested leg, still for 3 s; at the signal do 5 slow squats (about 1.5 s "
        "down, 1.5 s up) to about 45 deg of knee flexion, arms crossed.",
        "still start; at least 3 squats deeper than 20 deg of shank inclination",
        "knee valgus proxy = the shank's medial frontal tilt at the deepest point; tibial "
        "internal rotation from start to depth; pelvic drop at depth (medians over the squats, "
        "deg)",
        "shank medial tilt up to about 5 deg, tibial internal rotation up to about 8 deg, pelvis "
        "level (drop below 2 deg)",
        "single-leg squat frontal-plane assessment (Crossley et al., Am J Sports Med 39:866, 2011)",
    ),
    BatteryTest(
        "standing_pelvis",
        "Standing pelvic position (level bar)",
        ("bar",),
        "Put the pod in the level bar's slot. Lay the bar on the floor touching the client's "
        "toe tips, its marked end on the client's left, still for 3 s; then hold it against both "
        "front iliac spines (marked end on the left) still for 3 s.",
        "both placements still for at least 1 s; the bar flat on the floor within 5 deg",
        "pelvic obliquity (left side higher positive) and pelvic rotation (turned to the left, "
        "counter-clockwise seen from above, positive) relative to the feet (deg)",
        "obliquity within +-2 deg, rotation within +-3 deg",
        "pelvic obliquity with a palpation meter (Petrone et al., J Manip Physiol Ther 26:"
        "11, 2003)",
        per_side=False,
    ),
    BatteryTest(
        "lunge",
        "Weight-bearing lunge",
        ("{side}_shank",),
        "Stand facing a wall, tested foot in front, still for 3 s; at the signal lunge the knee "
        "toward the wall as far as possible with the heel down, hold 3 s at maximal "
        "dorsiflexion, and come back.",
        "still start; the maximal position held still for at least 1 s",
        "tibial inclination from vertical at maximal dorsiflexion (deg); knee-to-wall equivalent "
        "at about 3.6 deg per cm",
        "about 36-43 deg, which corresponds to the 10-12 cm knee-to-wall norm",
        "weight-bearing lunge test (Bennell et al., Aust J Physiother 44:175, 1998)",
    ),
)
TEST_KEYS: Final = tuple(t.key for t in TESTS)

FOOT_STRUCTURE_NORMAL: Final = {
    "arch_height_index": "0.31-0.37 (Williams & McClay, Phys Ther 80:864, 2000)",
    "first_ray_mobility": "normal (hypermobile or stiff is out of range)",
    "toe_grip": "normal (able to hold a card under the toes against a pull)",
}


@dataclass(frozen=True)
class FootStructure:
    """Manual entries per foot."""

    arch_height_index: float
    first_ray_mobility: str
    """`normal`, `hypermobile` or `stiff`."""
    toe_grip: str
    """`normal` or `weak`."""

    def validate(self, side: str) -> None:
        if not 0.15 <= self.arch_height_index <= 0.5:
            raise ValueError(
                f"{side} arch_height_index = {self.arch_height_index:g} is outside 0.15 to 0.5; "
                "measure dorsum height at half foot length over truncated foot length"
            )
        if self.first_ray_mobility not in ("normal", "hypermobile", "stiff"):
            raise ValueError(
                f"{side} first_ray_mobility = {self.first_ray_mobility!r}; use normal, "
                "hypermobile or stiff"
            )
        if self.toe_grip not in ("normal", "weak"):
            raise ValueError(f"{side} toe_grip = {self.toe_grip!r}; use normal or weak")


@dataclass(frozen=True)
class Symptoms:
    """What the client reports. Recorded for the report and the plan; the classifier does not
    use it, so the driver's side comes from measurements only."""

    side: str
    """`left`, `right`, `both` or `none`."""
    first_step_morning_pain: bool
    duration_weeks: float

    def validate(self) -> None:
        if self.side not in ("left", "right", "both", "none"):
            raise ValueError(f"symptoms side = {self.side!r}; use left, right, both or none")
        if not 0 <= self.duration_weeks <= 5200:
            raise ValueError(f"symptoms duration_weeks = {self.duration_weeks:g} is outside 0-5200")


@dataclass(frozen=True)
class BatteryResult:
    """One test's measurement: `values` (named, with units in the names), and the problems the
    validity checks found (empty when valid)."""

    key: str
    side: str
    values: dict[str, float]
    problems: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.problems


@dataclass
class Battery:
    """A client's battery: measured tests (per side where the test is per side), foot structure
    per side, symptoms. Anything may be missing; the classifier says what is."""

    results: dict[tuple[str, str], BatteryResult]
    foot: dict[str, FootStructure]
    symptoms: Symptoms | None = None

    def value(self, key: str, side: str, name: str) -> float | None:
        result = self.results.get((key, side))
        if result is None or not result.valid:
            return None
        return result.values.get(name)

    def missing(self) -> list[str]:
        """Tests absent or invalid, and foot entries absent, as readable names."""
        out: list[str] = []
        for test in TESTS:
            for side in SIDES if test.per_side else ("both",):
                result = self.results.get((test.key, side))
                label = test.name if side == "both" else f"{test.name} ({side})"
                if result is None:
                    out.append(f"{label}: not done")
                elif not result.valid:
                    out.append(f"{label}: invalid ({'; '.join(result.problems)})")
        out += [f"foot structure ({side}): not entered" for side in SIDES if side not in self.foot]
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "gaitchain-battery",
            "version": 1,
            "tests": [
                {
                    "test": r.key,
                    "side": r.side,
                    "values": r.values,
                    "problems": list(r.problems),
                }
                for r in self.results.values()
            ],
            "foot": {
                side: {
                    "arch_height_index": f.arch_height_index,
                    "first_ray_mobility": f.first_ray_mobility,
                    "toe_grip": f.toe_grip,
                }
                for side, f in self.foot.items()
            },
            "symptoms": None
            if self.symptoms is None
            else {
                "side": self.symptoms.side,
                "first_step_morning_pain": self.symptoms.first_step_morning_pain,
                "duration_weeks": self.symptoms.duration_weeks,
            },
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "Battery":
        if doc.get("schema") != "gaitchain-battery":
            raise ValueError("not a battery file: its schema is not gaitchain-battery")
        if int(doc.get("version", 0)) > 1:
            raise ValueError(f"battery version {doc['version']} is newer than 1; update gaitchain")
        results: dict[tuple[str, str], BatteryResult] = {}
        for entry in doc.get("tests", []):
            if entry["test"] not in TEST_KEYS:
                raise ValueError(f"unknown battery test {entry['test']!r}; one of {TEST_KEYS}")
            values = {str(k): float(v) for k, v in entry["values"].items()}
            result = BatteryResult(
                entry["test"], entry["side"], values, tuple(entry.get("problems", []))
            )
            results[(result.key, result.side)] = result
        foot: dict[str, FootStructure] = {}
        for side, f in doc.get("foot", {}).items():
            entry = FootStructure(
                float(f["arch_height_index"]), str(f["first_ray_mobility"]), str(f["toe_grip"])
            )
            entry.validate(side)
            foot[side] = entry
        s = doc.get("symptoms")
        symptoms = None
        if s is not None:
            symptoms = Symptoms(
                str(s["side"]), bool(s["first_step_morning_pain"]), float(s["duration_weeks"])
            )
            symptoms.validate()
        return cls(results, foot, symptoms)
