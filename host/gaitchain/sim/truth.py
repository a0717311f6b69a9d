"""Ground truth of a simulated walk: joint and pelvic angles from the segment poses, gait events.

The angles are those of `gaitchain.gait.angles` (definitions, frames and signs there), computed
from the true segment poses, so the analysis and its truth share one definition.
"""

from typing import Final

from ..gait.angles import JOINT_ANGLES, PELVIC_ANGLES, SIDES, FloatArray, chain_angles
from .body import Poses
from .schedule import Schedule

ANGLE_COLUMNS: Final = (
    *PELVIC_ANGLES,
    *(f"{side}_{name}" for side in SIDES for name in JOINT_ANGLES),
)


def joint_angles(poses: Poses) -> dict[str, FloatArray]:
    """All truth angles of `ANGLE_COLUMNS` (and the shanks' progression angles) at the poses'
    times."""
    return chain_angles(poses.rotation, poses.heading_rad)


def events(schedule: Schedule) -> list[tuple[float, str, str]]:
    """(time, side, event) for every initial contact, foot flat, heel off, final contact and
    mid-swing inside the recording, sorted by time."""
    duration = schedule.plan.duration_s
    rows: list[tuple[float, str, str]] = []
    for side in SIDES:
        feet = schedule.feet[side]
        for name, times in (
            ("initial_contact", feet.ic_s),
            ("foot_flat", feet.ff_s),
            ("heel_off", feet.ho_s),
            ("final_contact", feet.to_s),
        ):
            rows += [(float(t), side, name) for t in times if 0 <= t <= duration]
        mid_swing = 0.5 * (feet.to_s[:-1] + feet.ic_s[1:])
        rows += [(float(t), side, "mid_swing") for t in mid_swing if 0 <= t <= duration]
    return sorted(rows)
