"""Quaternion helpers on numpy arrays and orientation-error metrics as BROAD defines them.

Quaternions are unit quaternions ``w, x, y, z`` in the last axis, shape ``(4,)`` or ``(n, 4)``; a
quaternion ``q`` maps sensor-frame vectors into the earth frame (ENU: x east, y north, z up):
``v_earth = q ⊗ v_sensor ⊗ conj(q)``. Every function broadcasts a single quaternion against an
``(n, 4)`` array and propagates NaN (lost ground truth stays NaN).

Error metrics follow the BROAD benchmark (Laidig, Caruso, Cereatti, Seel, Data 6(7):72, 2021): the
error quaternion is ``q_est ⊗ conj(q_ref)``, i.e. the error expressed in the earth frame; the total
error is its rotation angle, the heading error the angle of its rotation about the vertical
(``2·atan|z/w|``) and the inclination error the remaining tilt (``2·acos√(w²+z²)``). RMS values are
taken over the samples of a mask (BROAD: the ``movement`` samples), ignoring NaN.
"""

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
"""Float64 array; quaternions are ``(..., 4)`` (w, x, y, z), vectors ``(..., 3)``."""


class OrientationErrorDeg(NamedTuple):
    """Per-sample orientation errors in degrees, shape ``(n,)``, NaN where the reference is NaN."""

    total_deg: FloatArray
    heading_deg: FloatArray
    inclination_deg: FloatArray


class OrientationRmseDeg(NamedTuple):
    """Root-mean-square orientation errors in degrees over the samples of a mask."""

    total_deg: float
    heading_deg: float
    inclination_deg: float


def _as_quaternions(q: ArrayLike, name: str) -> FloatArray:
    array = np.asarray(q, dtype=np.float64)
    if array.ndim not in (1, 2) or array.shape[-1] != 4:
        raise ValueError(f"{name} must have shape (4,) or (n, 4) (w, x, y, z), got {array.shape}")
    return array


def quaternion_multiply(q1: ArrayLike, q2: ArrayLike) -> FloatArray:
    """Hamilton product ``q1 ⊗ q2`` row by row (a single quaternion broadcasts)."""
    a = _as_quaternions(q1, "q1")
    b = _as_quaternions(q2, "q2")
    w1, x1, y1, z1 = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    w2, x2, y2, z2 = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return np.stack(
        [
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ],
        axis=-1,
    )


def quaternion_conjugate(q: ArrayLike) -> FloatArray:
    """Conjugate ``w, -x, -y, -z`` (the inverse of a unit quaternion)."""
    return _as_quaternions(q, "q") * np.array([1.0, -1.0, -1.0, -1.0])


def quaternion_normalize(q: ArrayLike) -> FloatArray:
    """Scales each quaternion to unit norm."""
    array = _as_quaternions(q, "q")
    return array / np.linalg.norm(array, axis=-1, keepdims=True)


def quaternion_rotate(q: ArrayLike, v: ArrayLike) -> FloatArray:
    """Rotates vectors ``v`` (``(3,)`` or ``(n, 3)``) by ``q``: ``q ⊗ v ⊗ conj(q)``."""
    quat = _as_quaternions(q, "q")
    vec = np.asarray(v, dtype=np.float64)
    if vec.shape[-1] != 3:
        raise ValueError(f"v must have shape (3,) or (n, 3), got {vec.shape}")
    w = quat[..., :1]
    u = quat[..., 1:]
    t = 2.0 * np.cross(u, vec)
    return vec + w * t + np.cross(u, t)


def quaternion_from_axis_angle(axis: ArrayLike, angle_rad: ArrayLike) -> FloatArray:
    """Rotation by ``angle_rad`` about ``axis`` (normalised here); broadcasts like numpy."""
    ax = np.asarray(axis, dtype=np.float64)
    ax = ax / np.linalg.norm(ax, axis=-1, keepdims=True)
    half = 0.5 * np.asarray(angle_rad, dtype=np.float64)[..., None]
    return np.concatenate([np.cos(half), np.sin(half) * ax], axis=-1)


def heading_rotation(angle_rad: ArrayLike) -> FloatArray:
    """Rotation by ``angle_rad`` about the vertical (earth z) axis, shape ``(..., 4)``."""
    half = 0.5 * np.asarray(angle_rad, dtype=np.float64)
    zero = np.zeros_like(half)
    return np.stack([np.cos(half), zero, zero, np.sin(half)], axis=-1)


def rotate_heading(q: ArrayLike, angle_rad: ArrayLike) -> FloatArray:
    """``heading_rotation(angle_rad) ⊗ q``: turns orientations about the earth's vertical.

    Same result as the general product, faster for tall arrays (no full product; sine and cosine
    of small angles by their series, exact to 1e-9 below 1 rad).
    """
    quat = _as_quaternions(q, "q")
    half = 0.5 * np.asarray(angle_rad, dtype=np.float64)
    h2 = half * half
    c = 1.0 - h2 / 2.0 * (1.0 - h2 / 12.0 * (1.0 - h2 / 30.0 * (1.0 - h2 / 56.0)))
    s = half * (1.0 - h2 / 6.0 * (1.0 - h2 / 20.0 * (1.0 - h2 / 42.0 * (1.0 - h2 / 72.0))))
    large = np.abs(half) > 0.5
    if np.any(large):
        c = np.where(large, np.cos(half), c)
        s = np.where(large, np.sin(half), s)
    out = quat * c[..., None]
    out[..., 0] -= s * quat[..., 3]
    out[..., 1] -= s * quat[..., 2]
    out[..., 2] += s * quat[..., 1]
    out[..., 3] += s * quat[..., 0]
    return out


def orientation_error_deg(q_est: ArrayLike, q_ref: ArrayLike) -> OrientationErrorDeg:
    """Total, heading and inclination error per sample, in degrees, as BROAD defines them.

    The error quaternion is ``q_est ⊗ conj(q_ref)`` (both normalised first), so errors are
    expressed in the earth frame; the sign of a quaternion does not matter.
    """
    est = quaternion_normalize(q_est)
    ref = quaternion_normalize(q_ref)
    diff = quaternion_normalize(quaternion_multiply(est, quaternion_conjugate(ref)))
    w = np.abs(diff[..., 0])
    z = diff[..., 3]
    total = 2.0 * np.arccos(np.clip(w, 0.0, 1.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        heading = 2.0 * np.arctan(np.abs(z) / w)
    inclination = 2.0 * np.arccos(np.clip(np.sqrt(w**2 + z**2), 0.0, 1.0))
    return OrientationErrorDeg(np.degrees(total), np.degrees(heading), np.degrees(inclination))


def heading_offset_rad(q_est: ArrayLike, q_ref: ArrayLike, mask: ArrayLike | None = None) -> float:
    """Constant heading offset of ``q_est`` against ``q_ref``: circular mean over the mask.

    The offset is the rotation about the vertical of the earth-frame error quaternion; NaN
    samples are ignored. ``heading_rotation(-offset) ⊗ q_est`` removes it, which is how a
    magnetometer-free (6D) estimate, whose heading is arbitrary, is aligned before its heading and
    total errors mean anything.
    """
    diff = quaternion_multiply(quaternion_normalize(q_est), quaternion_conjugate(q_ref))
    angle = 2.0 * np.arctan2(diff[..., 3], diff[..., 0])
    valid = np.isfinite(angle)
    if mask is not None:
        valid &= np.asarray(mask, dtype=bool)
    if not np.any(valid):
        raise ValueError("no sample with a finite reference inside the mask")
    return float(np.arctan2(np.sin(angle[valid]).sum(), np.cos(angle[valid]).sum()))


def _rms_deg(values: FloatArray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.sqrt(np.mean(finite**2))) if finite.size else float("nan")


def orientation_rmse_deg(
    q_est: ArrayLike,
    q_ref: ArrayLike,
    mask: ArrayLike | None = None,
    *,
    remove_heading_offset: bool = False,
) -> OrientationRmseDeg:
    """RMS of the BROAD errors over the samples of ``mask`` (all samples if None), NaN ignored.

    With ``remove_heading_offset`` (for 6D estimates) one constant heading offset, the circular
    mean over the mask (see `heading_offset_rad`), is removed first; the inclination error does
    not change by that.
    """
    est = quaternion_normalize(q_est)
    if remove_heading_offset:
        est = quaternion_multiply(heading_rotation(-heading_offset_rad(est, q_ref, mask)), est)
    errors = orientation_error_deg(est, q_ref)
    select = (
        np.ones(errors.total_deg.shape, dtype=bool)
        if mask is None
        else np.asarray(mask, dtype=bool)
    )
    return OrientationRmseDeg(
        _rms_deg(errors.total_deg[select]),
        _rms_deg(errors.heading_deg[select]),
        _rms_deg(errors.inclination_deg[select]),
    )
