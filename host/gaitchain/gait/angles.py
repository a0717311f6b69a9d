"""Joint and pelvic angles from segment orientations: the one definition used by the analysis and
by the simulator's ground truth.

Segment frames have x forward, y left, z up; rotations (n,3,3) map segment to world (z up).
- Joint angles are Cardan angles of the distal segment relative to the proximal one in the order
  flexion (about the proximal y, lateral), then ab/adduction or inversion/eversion (floating x),
  then axial rotation (distal z): the joint coordinate system of Grood & Suntay / ISB (Wu et al.
  2002).
- Signs are anatomical and the same for both sides: hip flexion, adduction and internal rotation
  positive; knee flexion positive; ankle dorsiflexion positive; subtalar eversion (pronation)
  positive; tibial internal rotation (shank relative to pelvis: hip plus knee rotation) positive.
- Pelvic angles are relative to the walking direction (heading, z up) in the order rotation,
  obliquity, tilt (Baker 2001): rotation positive when the pelvis turns left (counter-clockwise
  seen from above), obliquity positive when the left side is higher, tilt positive anterior.
- Shank progression angle: the shank's forward axis relative to the walking direction about the
  vertical, internal (toward the other leg) positive.

Which angles come out depends on which segments are given (keys `pelvis`, `left_thigh`,
`left_shank`, `left_foot`, and the same for `right`); an angle needing a missing segment is left
out.
"""

from collections.abc import Mapping
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from ..fusion.heading import wrap_rad, yaw_of

FloatArray = NDArray[np.float64]
SIDES: Final = ("left", "right")
JOINT_ANGLES: Final = (
    "hip_flexion_deg",
    "hip_adduction_deg",
    "hip_internal_rotation_deg",
    "knee_flexion_deg",
    "tibial_internal_rotation_deg",
    "ankle_dorsiflexion_deg",
    "subtalar_eversion_deg",
)
PELVIC_ANGLES: Final = ("pelvis_rotation_deg", "pelvis_obliquity_deg", "pelvis_tilt_deg")


def side_sign(side: str) -> float:
    """+1 for left, -1 for right: left is +y in the walker's frame."""
    return 1.0 if side == "left" else -1.0


def rot_z(angle_rad: FloatArray) -> FloatArray:
    """Rotations (n,3,3) about the vertical by `angle_rad`."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    zero, one = np.zeros_like(c), np.ones_like(c)
    return np.stack(
        [np.stack([c, -s, zero], -1), np.stack([s, c, zero], -1), np.stack([zero, zero, one], -1)],
        -2,
    )


def relative(proximal: FloatArray, distal: FloatArray) -> FloatArray:
    """Rotation of the distal segment in the proximal segment's frame."""
    return np.swapaxes(proximal, -1, -2) @ distal


def cardan_yxz_deg(rotation: FloatArray) -> FloatArray:
    """(flexion-axis y, floating x, axial z) angles in degrees of rotations (n,3,3)."""
    return np.degrees(Rotation.from_matrix(rotation).as_euler("YXZ"))


def pelvic_angles(pelvis: FloatArray, heading_rad: FloatArray) -> dict[str, FloatArray]:
    """Pelvic rotation, obliquity and tilt relative to the walking direction."""
    zxy = np.degrees(Rotation.from_matrix(relative(rot_z(heading_rad), pelvis)).as_euler("ZXY"))
    return dict(zip(PELVIC_ANGLES, (zxy[:, 0], zxy[:, 1], zxy[:, 2]), strict=True))


def progression_angle_deg(segment: FloatArray, heading_rad: FloatArray, side: str) -> FloatArray:
    """A segment's forward axis about the vertical relative to the walking direction, internal
    (toward the body's midline) positive."""
    return -side_sign(side) * np.degrees(wrap_rad(yaw_of(segment[:, :, 0]) - heading_rad))


def chain_angles(
    rotation: Mapping[str, FloatArray], heading_rad: FloatArray | None
) -> dict[str, FloatArray]:
    """Every angle the given segments allow; pelvic and progression angles need `heading_rad`."""
    out: dict[str, FloatArray] = {}
    pelvis = rotation.get("pelvis")
    if pelvis is not None and heading_rad is not None:
        out.update(pelvic_angles(pelvis, heading_rad))
    for side in SIDES:
        sign = side_sign(side)
        thigh = rotation.get(f"{side}_thigh")
        shank = rotation.get(f"{side}_shank")
        foot = rotation.get(f"{side}_foot")
        if pelvis is not None and thigh is not None:
            hip = cardan_yxz_deg(relative(pelvis, thigh))
            out[f"{side}_hip_flexion_deg"] = -hip[:, 0]
            out[f"{side}_hip_adduction_deg"] = -sign * hip[:, 1]
            out[f"{side}_hip_internal_rotation_deg"] = -sign * hip[:, 2]
        if thigh is not None and shank is not None:
            out[f"{side}_knee_flexion_deg"] = cardan_yxz_deg(relative(thigh, shank))[:, 0]
        if pelvis is not None and shank is not None:
            tibia = cardan_yxz_deg(relative(pelvis, shank))
            out[f"{side}_tibial_internal_rotation_deg"] = -sign * tibia[:, 2]
        if shank is not None and foot is not None:
            ankle = cardan_yxz_deg(relative(shank, foot))
            out[f"{side}_ankle_dorsiflexion_deg"] = -ankle[:, 0]
            out[f"{side}_subtalar_eversion_deg"] = sign * ankle[:, 1]
        if shank is not None and heading_rad is not None:
            out[f"{side}_shank_progression_deg"] = progression_angle_deg(shank, heading_rad, side)
    return out
