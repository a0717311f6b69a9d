"""Ground truth of a simulated walk: joint and pelvic angles from the segment poses, gait events.

Angle definitions (degrees; the same functions serve the accuracy tests of later stages):
- Joint angles are Cardan angles of the distal segment relative to the proximal one in the order
  flexion (about the proximal y, lateral), then ab/adduction or inversion/eversion (floating x),
  then axial rotation (distal z): the joint coordinate system of Grood & Suntay / ISB (Wu et al.
  2002) for segment frames with x forward, y left, z up.
- Signs are anatomical and the same for both sides: hip flexion, adduction and internal rotation
  positive; knee flexion positive; ankle dorsiflexion positive; subtalar eversion (pronation)
  positive; tibial internal rotation (shank relative to pelvis: hip plus knee rotation) positive.
- Pelvic angles are relative to the walking direction (path heading, z up) in the order rotation,
  obliquity, tilt (Baker 2001): rotation positive when the pelvis turns left (counter-clockwise
  seen from above), obliquity positive when the left side is higher, tilt positive anterior.
"""

from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from .body import Poses, rot_z
from .schedule import SIDES, Schedule, side_sign

FloatArray = NDArray[np.float64]

ANGLE_COLUMNS: Final = (
    "pelvis_rotation_deg",
    "pelvis_obliquity_deg",
    "pelvis_tilt_deg",
    *(
        f"{side}_{name}"
        for side in SIDES
        for name in (
            "hip_flexion_deg",
            "hip_adduction_deg",
            "hip_internal_rotation_deg",
            "knee_flexion_deg",
            "tibial_internal_rotation_deg",
            "ankle_dorsiflexion_deg",
            "subtalar_eversion_deg",
        )
    ),
)


def relative(proximal: FloatArray, distal: FloatArray) -> FloatArray:
    """Rotation of the distal segment in the proximal segment's frame."""
    return np.swapaxes(proximal, -1, -2) @ distal


def cardan_yxz_deg(rotation: FloatArray) -> FloatArray:
    """(flexion-axis y, floating x, axial z) angles in degrees of rotations (n,3,3)."""
    return np.degrees(Rotation.from_matrix(rotation).as_euler("YXZ"))


def joint_angles(poses: Poses) -> dict[str, FloatArray]:
    """All truth angles of `ANGLE_COLUMNS` at the poses' times."""
    out: dict[str, FloatArray] = {}
    heading = rot_z(poses.heading_rad)
    pelvis = np.degrees(
        Rotation.from_matrix(relative(heading, poses.rotation["pelvis"])).as_euler("ZXY")
    )
    out["pelvis_rotation_deg"] = pelvis[:, 0]
    out["pelvis_obliquity_deg"] = pelvis[:, 1]
    out["pelvis_tilt_deg"] = pelvis[:, 2]
    for side in SIDES:
        sign = side_sign(side)
        thigh = poses.rotation[f"{side}_thigh"]
        shank = poses.rotation[f"{side}_shank"]
        foot = poses.rotation[f"{side}_foot"]
        hip = cardan_yxz_deg(relative(poses.rotation["pelvis"], thigh))
        knee = cardan_yxz_deg(relative(thigh, shank))
        ankle = cardan_yxz_deg(relative(shank, foot))
        tibia = cardan_yxz_deg(relative(poses.rotation["pelvis"], shank))
        out[f"{side}_hip_flexion_deg"] = -hip[:, 0]
        out[f"{side}_hip_adduction_deg"] = -sign * hip[:, 1]
        out[f"{side}_hip_internal_rotation_deg"] = -sign * hip[:, 2]
        out[f"{side}_knee_flexion_deg"] = knee[:, 0]
        out[f"{side}_tibial_internal_rotation_deg"] = -sign * tibia[:, 2]
        out[f"{side}_ankle_dorsiflexion_deg"] = -ankle[:, 0]
        out[f"{side}_subtalar_eversion_deg"] = sign * ankle[:, 1]
    return out


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
