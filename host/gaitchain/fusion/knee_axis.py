"""A thigh's flexion axis from the knee hinge, where its swing is turned out.

`SegmentAlignment` takes a thigh's flexion axis as the principal axis of its gyroscope, which the
swing dominates. On a side with a hip internal-rotation deficit the standing posture (the neutral
one, which defines the segment frame) is turned out against the swing, and that axis is off by
about 5 deg. The knee's axis is fixed in the thigh: with the same side's shank, the axis in each
pod's frame is the one about which both turn alike, |w_thigh x j_thigh| = |w_shank x j_shank| at
every instant (a hinge; Seel, Raisch & Schauer 2012), which needs no common heading.

The knee is not a pure hinge (tibial rotation, a valgus collapse, rotation coupled to the foot's
pronation): on those walks the hinge fit is 2-4 deg off and the principal axis better. So the
knee's axis replaces the principal one only where the thigh's swing is turned out of the walking
direction by more than `TURNED_OUT_DEG` (`CommonHeading.thigh_turn_rad_`, the principal axis of
its horizontal acceleration against its stride displacement): what a hip rotation fault does.
"""

from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import least_squares  # pyright: ignore[reportUnknownVariableType]

from ..gait.angles import SIDES, side_sign
from .alignment import orthonormal_frame, walking_mask
from .heading import PodHeadingInput

FloatArray = NDArray[np.float64]
TURNED_OUT_DEG: Final = 4.0
"""A thigh's swing turned out by more than this (side-signed) takes the knee's axis."""
MAX_SAMPLES: Final = 20_000


def _unit_from_angles(angles: FloatArray) -> FloatArray:
    elevation, azimuth = angles
    return np.array(
        [
            np.cos(elevation) * np.cos(azimuth),
            np.cos(elevation) * np.sin(azimuth),
            np.sin(elevation),
        ]
    )


def _angles_from_unit(v: FloatArray) -> FloatArray:
    return np.array([np.arcsin(np.clip(v[2], -1.0, 1.0)), np.arctan2(v[1], v[0])])


def hinge_axes(
    gyr_a_radps: FloatArray, gyr_b_radps: FloatArray, start_a: FloatArray, start_b: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Unit hinge axes in the frames of two pods joined by a hinge (samples at the same instants),
    fitted from `start_a` / `start_b`, each signed like its start."""

    def residual(x: FloatArray) -> FloatArray:
        j_a, j_b = _unit_from_angles(x[:2]), _unit_from_angles(x[2:])
        return np.asarray(
            np.linalg.norm(np.cross(gyr_a_radps, j_a), axis=1)
            - np.linalg.norm(np.cross(gyr_b_radps, j_b), axis=1),
            dtype=np.float64,
        )

    start = np.concatenate([_angles_from_unit(start_a), _angles_from_unit(start_b)])
    fit = least_squares(residual, start, loss="soft_l1", f_scale=0.5)
    solution = np.asarray(fit.x, dtype=np.float64)
    j_a, j_b = _unit_from_angles(solution[:2]), _unit_from_angles(solution[2:])
    return (j_a if j_a @ start_a >= 0 else -j_a), (j_b if j_b @ start_b >= 0 else -j_b)


def thigh_rows_from_knee(
    thigh_t_s: FloatArray,
    thigh_acc_mps2: FloatArray,
    thigh_gyr_radps: FloatArray,
    thigh_rows: FloatArray,
    shank_t_s: FloatArray,
    shank_gyr_radps: FloatArray,
    shank_rows: FloatArray,
    *,
    sampling_rate_hz: float,
) -> FloatArray:
    """The thigh's segment rows with y the knee's hinge axis (z, the standing vertical, kept)."""
    walking = walking_mask(thigh_acc_mps2, thigh_gyr_radps, sampling_rate_hz=sampling_rate_hz)
    walking &= (thigh_t_s >= shank_t_s[0]) & (thigh_t_s <= shank_t_s[-1])
    index = np.flatnonzero(walking)
    index = index[:: max(1, index.size // MAX_SAMPLES)]
    if index.size < 10 * sampling_rate_hz:
        return thigh_rows
    shank_gyr = np.stack(
        [np.interp(thigh_t_s[index], shank_t_s, shank_gyr_radps[:, k]) for k in range(3)], axis=1
    )
    axis, _ = hinge_axes(thigh_gyr_radps[index], shank_gyr, thigh_rows[1], shank_rows[1])
    return orthonormal_frame(thigh_rows[2], axis, "y")


def knee_aligned_thighs(
    pods: dict[str, PodHeadingInput], thigh_turn_rad: dict[str, float]
) -> dict[str, FloatArray]:
    """New segment rows for the thighs (pod name `<side>_thigh`) whose swing is turned out by more
    than TURNED_OUT_DEG, from the knee hinge with the same side's shank; the others are left out."""
    out: dict[str, FloatArray] = {}
    for name, turn_rad in thigh_turn_rad.items():
        side = name.split("_", 1)[0]
        shank = pods.get(name.replace("thigh", "shank"))
        if side not in SIDES or shank is None:
            continue
        if side_sign(side) * np.degrees(turn_rad) <= TURNED_OUT_DEG:
            continue
        thigh = pods[name]
        out[name] = thigh_rows_from_knee(
            thigh.t_s,
            thigh.acc_mps2,
            thigh.gyr_radps,
            thigh.sensor_to_segment,
            shank.t_s,
            shank.gyr_radps,
            shank.sensor_to_segment,
            sampling_rate_hz=thigh.sampling_rate_hz,
        )
    return out
