"""IMU calibration: gyroscope bias at rest, accelerometer and magnetometer fits, quality gates.

Models, raw reading ``r`` and calibrated reading ``c`` in the pod's sensor frame:

    gyroscope       c = r - bias_radps
    accelerometer   c = matrix @ (r - offset_mps2)       (|c| = gravity at rest)
    magnetometer    c = soft_iron_matrix @ (r - hard_iron_ut)   (|c| = local field everywhere)

Captures are recordings of one pod in the open recording format, taken in steps a person follows
(`calibration/README.md`):

* **rest**: the pod untouched on a table. `GyroBiasAtRest` checks that nothing moved (the spread
  of short-window means of both sensors) and takes the mean angular rate as the gyroscope bias.
* **faces**: the pod still on each of its six faces in turn, optionally also on edges or corners.
  `find_static_holds` cuts the capture into still holds; `AccelerometerFit` counts holds in the
  same pose as one and fits either the **six-position** model (the six faces' known directions
  give the offset and the full 3x3 matrix: scale, cross-axis and the chip's misalignment to the
  enclosure; it needs the faces level) or, with at least 12 distinct poses, an **ellipsoid**
  (offset and a symmetric matrix: scale and cross-axis, no level surface needed; a rotation of
  the sensor frame cannot be seen from gravity magnitudes alone, so the symmetric matrix leaves
  the frame where the chip has it).
* **mag**: the pod turned slowly through all directions. `MagnetometerFit` checks how much of the
  sphere of field directions the capture covered and fits an ellipsoid: the hard-iron offset and
  the soft-iron matrix (symmetric, determinant 1, so the field keeps the sensor's own scale and
  `field_ut_` is its strength).

Every gate raises `CalibrationError` (a `ValueError`) whose message says what was wrong, by how
much, and what to record again. Ellipsoids are fitted algebraically (linear least squares on the
quadric) and refined geometrically with `scipy.optimize.least_squares`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, Self

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import least_squares
from scipy.spatial import KDTree

from ..signals import G_MPS2

FloatArray = NDArray[np.float64]

FACE_NAMES: Final = ("+x up", "-x up", "+y up", "-y up", "+z up", "-z up")
"""The six faces, in the order `six_position_fit` takes them: which sensor axis points up (an
accelerometer at rest reads +g on its up axis)."""
FACE_DIRECTIONS: Final = np.array(
    [[1.0, 0, 0], [-1.0, 0, 0], [0, 1.0, 0], [0, -1.0, 0], [0, 0, 1.0], [0, 0, -1.0]]
)
AccMethod = Literal["auto", "six-position", "ellipsoid"]


class CalibrationError(ValueError):
    """A capture that cannot give a calibration; the message says what to record again."""


# -- stillness ------------------------------------------------------------------------------------


def sample_rate_hz(t_s: FloatArray) -> float:
    """Sample rate from the median sample interval."""
    if t_s.shape[0] < 2:
        raise CalibrationError(f"the capture holds {t_s.shape[0]} samples; record a few seconds")
    return float(1.0 / np.median(np.diff(t_s)))


def samples_per_window(t_s: FloatArray, window_s: float) -> int:
    return max(1, round(window_s * sample_rate_hz(t_s)))


def window_means(values: FloatArray, samples: int) -> FloatArray:
    """Means of consecutive windows of `samples` rows of `(n, d)` values (a last partial window
    is dropped): `(n // samples, d)`."""
    count = values.shape[0] // samples
    return values[: count * samples].reshape(count, samples, values.shape[1]).mean(axis=1)


def spread(means: FloatArray) -> float:
    """Largest range (max - min) over the columns of `(k, d)` window means; 0 for no windows."""
    if means.shape[0] == 0:
        return 0.0
    return float(np.ptp(means, axis=0).max())


@dataclass(frozen=True)
class StaticHold:
    """A stretch of a capture in which the pod did not move: samples `[start, stop)`."""

    start: int
    stop: int
    t_start_s: float
    t_stop_s: float
    acc_mean_mps2: FloatArray
    gyr_mean_radps: FloatArray
    acc_spread_mps2: float
    gyr_spread_radps: float

    @property
    def duration_s(self) -> float:
        return self.t_stop_s - self.t_start_s

    @property
    def samples(self) -> int:
        return self.stop - self.start


def find_static_holds(
    t_s: FloatArray,
    acc_mps2: FloatArray,
    gyr_radps: FloatArray,
    *,
    window_s: float = 0.2,
    max_acc_spread_mps2: float = 0.05,
    max_gyr_spread_radps: float = 0.01,
    min_hold_s: float = 3.0,
) -> list[StaticHold]:
    """Still stretches of at least `min_hold_s`, in time order.

    The capture is cut into windows of `window_s`; a hold grows window by window while the range
    of the window means stays within both spread limits on every axis (so it is independent of
    the gyroscope's bias and of the sample rate's noise), and loses its first and last window
    (the pod settling or being picked up).
    """
    n = samples_per_window(t_s, window_s)
    acc_means = window_means(acc_mps2, n)
    gyr_means = window_means(gyr_radps, n)
    segments: list[tuple[int, int]] = []
    start = 0
    low = np.concatenate([acc_means[0], gyr_means[0]]) if acc_means.shape[0] else np.zeros(6)
    high = low.copy()
    limits = np.array([max_acc_spread_mps2] * 3 + [max_gyr_spread_radps] * 3)
    for k in range(1, acc_means.shape[0]):
        value = np.concatenate([acc_means[k], gyr_means[k]])
        new_low, new_high = np.minimum(low, value), np.maximum(high, value)
        if np.any(new_high - new_low > limits):
            segments.append((start, k))
            start, low, high = k, value, value.copy()
        else:
            low, high = new_low, new_high
    if acc_means.shape[0]:
        segments.append((start, acc_means.shape[0]))
    holds: list[StaticHold] = []
    min_samples = min_hold_s * sample_rate_hz(t_s)
    for segment_start, segment_stop in segments:
        first, stop = segment_start + 1, segment_stop - 1
        if (stop - first) * n < min_samples:
            continue
        a, b = first * n, stop * n
        holds.append(
            StaticHold(
                a,
                b,
                float(t_s[a]),
                float(t_s[b - 1]),
                acc_mps2[a:b].mean(axis=0),
                gyr_radps[a:b].mean(axis=0),
                spread(acc_means[first:stop]),
                spread(gyr_means[first:stop]),
            )
        )
    return holds


def _moved_between_s(
    t_s: FloatArray, means: FloatArray, limit: float, samples: int
) -> tuple[float, float]:
    """First and last time a window mean strays more than half `limit` from the median."""
    deviation = np.abs(means - np.median(means, axis=0)).max(axis=1)
    moving = np.nonzero(deviation > limit / 2)[0]
    if moving.shape[0] == 0:
        moving = np.array([int(np.argmax(deviation))])
    return float(t_s[moving[0] * samples]), float(
        t_s[min((moving[-1] + 1) * samples, len(t_s)) - 1]
    )


# -- gyroscope -------------------------------------------------------------------------------------


class GyroBiasAtRest:
    """Gyroscope bias: the mean angular rate of a capture in which the pod lay still.

    `trim_s` at each end of the capture are ignored (pressing the button, letting go); what is
    left must last `min_duration_s` and keep the range of `window_s` means within
    `max_gyr_spread_radps` and `max_acc_spread_mps2` on every axis, and the bias must be below
    `max_bias_radps` (more than any MEMS gyroscope's zero-rate offset: the pod was turning).

    Results: `bias_radps_` (3,), `duration_s_`, `gyr_spread_radps_`, `acc_spread_mps2_`,
    `acc_mean_mps2_` (3,), `samples_`.
    """

    def __init__(
        self,
        *,
        window_s: float = 0.2,
        trim_s: float = 1.0,
        min_duration_s: float = 8.0,
        max_gyr_spread_radps: float = 0.01,
        max_acc_spread_mps2: float = 0.05,
        max_bias_radps: float = 0.35,
    ) -> None:
        self.window_s = window_s
        self.trim_s = trim_s
        self.min_duration_s = min_duration_s
        self.max_gyr_spread_radps = max_gyr_spread_radps
        self.max_acc_spread_mps2 = max_acc_spread_mps2
        self.max_bias_radps = max_bias_radps

    def estimate(self, t_s: FloatArray, acc_mps2: FloatArray, gyr_radps: FloatArray) -> Self:
        redo = (
            f"put the pod on a steady table, do not touch it, and record the rest step again "
            f"({self.min_duration_s + 2 * self.trim_s:g} s or more)"
        )
        keep = (t_s >= t_s[0] + self.trim_s) & (t_s <= t_s[-1] - self.trim_s)
        t, acc, gyr = t_s[keep], acc_mps2[keep], gyr_radps[keep]
        duration_s = float(t[-1] - t[0]) if t.shape[0] > 1 else 0.0
        if duration_s < self.min_duration_s:
            raise CalibrationError(
                f"the rest capture lasts {float(t_s[-1] - t_s[0]):.1f} s, which leaves "
                f"{duration_s:.1f} s after ignoring {self.trim_s:g} s at each end; "
                f"{self.min_duration_s:g} s are needed: {redo}"
            )
        n = samples_per_window(t, self.window_s)
        gyr_means, acc_means = window_means(gyr, n), window_means(acc, n)
        gyr_spread, acc_spread = spread(gyr_means), spread(acc_means)
        if gyr_spread > self.max_gyr_spread_radps or acc_spread > self.max_acc_spread_mps2:
            if gyr_spread / self.max_gyr_spread_radps >= acc_spread / self.max_acc_spread_mps2:
                first, last = _moved_between_s(t, gyr_means, self.max_gyr_spread_radps, n)
            else:
                first, last = _moved_between_s(t, acc_means, self.max_acc_spread_mps2, n)
            raise CalibrationError(
                f"the pod moved between {first:.1f} s and {last:.1f} s: the gyroscope changed by "
                f"{np.degrees(gyr_spread):.2f} deg/s (limit "
                f"{np.degrees(self.max_gyr_spread_radps):.2f}) and the accelerometer by "
                f"{acc_spread:.3f} m/s² (limit {self.max_acc_spread_mps2:g}); {redo}"
            )
        bias = gyr.mean(axis=0)
        if float(np.linalg.norm(bias)) > self.max_bias_radps:
            raise CalibrationError(
                f"the gyroscope reads {np.degrees(np.linalg.norm(bias)):.1f} deg/s while still, "
                f"more than the {np.degrees(self.max_bias_radps):.0f} deg/s any gyroscope's "
                f"offset stays within: was the pod on something turning? {redo}"
            )
        self.bias_radps_: FloatArray = bias
        self.duration_s_ = duration_s
        self.gyr_spread_radps_ = gyr_spread
        self.acc_spread_mps2_ = acc_spread
        self.acc_mean_mps2_: FloatArray = acc.mean(axis=0)
        self.samples_ = int(t.shape[0])
        return self


# -- geometry ------------------------------------------------------------------------------------


def unit_vectors(vectors: FloatArray) -> FloatArray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms > 0.0, norms, 1.0)


def angle_between_deg(a: FloatArray, b: FloatArray) -> FloatArray:
    """Angle between vectors along the last axis (broadcasting), degrees."""
    cos = np.sum(unit_vectors(a) * unit_vectors(b), axis=-1)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def describe_pose(acc_mps2: FloatArray, face_tolerance_deg: float = 15.0) -> str:
    """`+z up` for a pose within `face_tolerance_deg` of a face, else the nearest face and angle."""
    angles = angle_between_deg(FACE_DIRECTIONS, acc_mps2)
    face = int(np.argmin(angles))
    if angles[face] <= face_tolerance_deg:
        return FACE_NAMES[face]
    return f"{angles[face]:.0f} deg from {FACE_NAMES[face]}"


def distinct_poses(
    acc_means_mps2: FloatArray, weights: FloatArray, min_separation_deg: float
) -> tuple[FloatArray, NDArray[np.intp]]:
    """Merge poses whose gravity directions lie within `min_separation_deg` of each other.

    Greedy in the given order: each pose joins the first merged pose close enough to it (whose
    mean, weighted by `weights`, then moves), or starts a new one. Returns the merged means
    `(k, 3)` and, per input pose, the index of the merged pose it joined.
    """
    means: list[FloatArray] = []
    totals: list[float] = []
    labels = np.empty(acc_means_mps2.shape[0], dtype=np.intp)
    for i, (mean, weight) in enumerate(zip(acc_means_mps2, weights, strict=True)):
        for j, merged in enumerate(means):
            if float(angle_between_deg(merged, mean)) < min_separation_deg:
                total = totals[j] + float(weight)
                means[j] = (merged * totals[j] + mean * float(weight)) / total
                totals[j] = total
                labels[i] = j
                break
        else:
            labels[i] = len(means)
            means.append(np.asarray(mean, dtype=np.float64))
            totals.append(float(weight))
    return (np.array(means) if means else np.zeros((0, 3))), labels


def fibonacci_sphere(count: int) -> FloatArray:
    """`count` nearly evenly spread unit vectors (a Fibonacci lattice), `(count, 3)`."""
    k = np.arange(count, dtype=np.float64) + 0.5
    z = 1.0 - 2.0 * k / count
    r = np.sqrt(1.0 - z * z)
    phi = np.pi * (1.0 + np.sqrt(5.0)) * k
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


def sphere_coverage_fraction(directions: FloatArray, cells: int = 100) -> float:
    """Fraction of `cells` equal-area cells of the sphere that at least one direction falls in
    (each direction belongs to the cell of the nearest `fibonacci_sphere` point)."""
    if directions.shape[0] == 0:
        return 0.0
    _, nearest = KDTree(fibonacci_sphere(cells)).query(unit_vectors(directions))
    return float(np.unique(np.asarray(nearest)).shape[0] / cells)


def apply_calibration(raw: FloatArray, offset: FloatArray, matrix: FloatArray) -> FloatArray:
    """`matrix @ (raw - offset)` for each row of `(n, 3)` raw readings (or one `(3,)`)."""
    return (raw - offset) @ matrix.T


# -- fits ----------------------------------------------------------------------------------------


def _symmetric_sqrt(a: FloatArray) -> FloatArray:
    values, vectors = np.linalg.eigh((a + a.T) / 2)
    return (vectors * np.sqrt(np.maximum(values, 0.0))) @ vectors.T


def _upper(params: FloatArray) -> FloatArray:
    u = np.zeros((3, 3))
    u[np.triu_indices(3)] = params
    return u


def fit_ellipsoid(points: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Centre `c` (3,) and symmetric positive-definite `S` (3,3) with `|S (p - c)| ≈ 1` for every
    point `p` of `(n, 3)` (n >= 9), least squares in that radius.

    First the algebraic fit of the general quadric (linear least squares on normalised points),
    then `scipy.optimize.least_squares` on the geometric residual `|U (p - c)| - 1` with `U`
    upper triangular (`U^T U = S^2`). Raises `CalibrationError` when the points do not determine
    an ellipsoid (too few, or all near one plane or circle).
    """
    if points.shape[0] < 9:
        raise CalibrationError(f"{points.shape[0]} points cannot fix an ellipsoid; 9 are needed")
    mean = points.mean(axis=0)
    scale = float(np.sqrt(((points - mean) ** 2).sum(axis=1).mean()))
    if scale == 0.0:
        raise CalibrationError("all readings are the same; the sensor did not move or is stuck")
    q = (points - mean) / scale
    x, y, z = q[:, 0], q[:, 1], q[:, 2]
    design = np.stack(
        [x * x, y * y, z * z, 2 * x * y, 2 * x * z, 2 * y * z, 2 * x, 2 * y, 2 * z], 1
    )
    v = np.linalg.lstsq(design, np.ones(q.shape[0]), rcond=None)[0]
    a = np.array([[v[0], v[3], v[4]], [v[3], v[1], v[5]], [v[4], v[5], v[2]]])
    degenerate = CalibrationError(
        "the readings do not outline an ellipsoid: they cover too few directions"
    )
    if np.linalg.eigvalsh(a).min() <= 0.0 or np.linalg.cond(a) > 1e6:
        raise degenerate
    centre = -np.linalg.solve(a, v[6:9])
    a = a / (1.0 + centre @ a @ centre)
    if np.linalg.eigvalsh(a).min() <= 0.0:
        raise degenerate
    u0 = np.linalg.cholesky(a).T

    def residuals(params: FloatArray) -> FloatArray:
        return np.linalg.norm((q - params[:3]) @ _upper(params[3:]).T, axis=1) - 1.0

    start = np.concatenate([centre, u0[np.triu_indices(3)]])
    fitted = least_squares(residuals, start, method="lm").x
    u = _upper(fitted[3:])
    s = _symmetric_sqrt(u.T @ u)
    if np.linalg.eigvalsh(s).min() <= 0.0:
        raise degenerate
    return mean + scale * fitted[:3], s / scale


def six_position_fit(
    face_means_mps2: FloatArray, gravity_mps2: float = G_MPS2
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Offset (3,), matrix (3,3) and residuals (6,3) from the mean readings on the six faces in
    `FACE_NAMES` order.

    With raw readings `r = M a + offset` and `a = ±g e_k` on the faces, the least-squares
    solution is the mean of all six for the offset and `(r_+k - r_-k) / 2g` for column k of `M`;
    the calibration matrix is `M^-1`. The residuals `r - (M a + offset)` show how far the faces
    were from level (they are the same size for the two faces of an axis).
    """
    offset = face_means_mps2.mean(axis=0)
    gain = (face_means_mps2[0::2] - face_means_mps2[1::2]).T / (2.0 * gravity_mps2)
    predicted = (gravity_mps2 * FACE_DIRECTIONS) @ gain.T + offset
    matrix = np.asarray(np.linalg.inv(gain), dtype=np.float64)
    return offset, matrix, face_means_mps2 - predicted


class AccelerometerFit:
    """Accelerometer offset and 3x3 matrix from still poses (`find_static_holds` of the faces
    captures).

    Holds whose gravity directions lie within `min_pose_separation_deg` count as one pose (for
    the gates and `poses_mps2_`); the ellipsoid fit uses every hold, the six-position fit the
    longest hold on each face. `method="auto"` fits an ellipsoid when there are at least
    `min_ellipsoid_poses` distinct poses and otherwise the six-position model, which needs a pose
    within `face_tolerance_deg` of each face. The ellipsoid also needs, for each axis direction, a
    pose within `axis_coverage_deg` of it. Fits whose residual RMS exceeds `max_residual_mps2`
    (ellipsoid: of |calibrated| - g) or `max_six_position_residual_mps2` (six-position: of the
    readings against the model) are refused.

    Results: `method_`, `offset_mps2_` (3,), `matrix_` (3,3), `poses_mps2_` (k,3) the distinct
    poses' mean readings, `pose_names_` (how each lies), `residual_rms_mps2_`.
    """

    def __init__(
        self,
        *,
        method: AccMethod = "auto",
        gravity_mps2: float = G_MPS2,
        min_pose_separation_deg: float = 15.0,
        face_tolerance_deg: float = 15.0,
        min_ellipsoid_poses: int = 12,
        axis_coverage_deg: float = 50.0,
        max_residual_mps2: float = 0.05,
        max_six_position_residual_mps2: float = 0.1,
    ) -> None:
        self.method = method
        self.gravity_mps2 = gravity_mps2
        self.min_pose_separation_deg = min_pose_separation_deg
        self.face_tolerance_deg = face_tolerance_deg
        self.min_ellipsoid_poses = min_ellipsoid_poses
        self.axis_coverage_deg = axis_coverage_deg
        self.max_residual_mps2 = max_residual_mps2
        self.max_six_position_residual_mps2 = max_six_position_residual_mps2

    def _redo(self) -> str:
        return (
            "record the faces step again: the pod still on each of its six faces for 5 s, "
            f"or on at least {self.min_ellipsoid_poses} clearly different faces, edges and corners"
        )

    def estimate(self, holds: Sequence[StaticHold]) -> Self:
        if self.method not in ("auto", "six-position", "ellipsoid"):
            raise ValueError(f"method {self.method!r} is not one of auto, six-position, ellipsoid")
        if not 9.7 <= self.gravity_mps2 <= 9.9:
            raise ValueError(f"gravity_mps2 = {self.gravity_mps2:g} is outside 9.7 to 9.9 m/s²")
        means = np.array([h.acc_mean_mps2 for h in holds]).reshape(-1, 3)
        durations = np.array([h.duration_s for h in holds])
        poses, _ = distinct_poses(means, durations, self.min_pose_separation_deg)
        self.poses_mps2_: FloatArray = poses
        self.pose_names_ = [describe_pose(p, self.face_tolerance_deg) for p in poses]
        method = self.method
        if method == "auto":
            method = "ellipsoid" if poses.shape[0] >= self.min_ellipsoid_poses else "six-position"
        if method == "ellipsoid":
            self._fit_ellipsoid(means)
        else:
            self._fit_six_position(means, durations)
        self.method_: str = method
        return self

    def _found(self) -> str:
        listed = ", ".join(self.pose_names_) if self.pose_names_ else "none"
        return f"{self.poses_mps2_.shape[0]} distinct still poses ({listed})"

    def _fit_six_position(self, means: FloatArray, durations: FloatArray) -> None:
        """One hold per face: the longest within `face_tolerance_deg` of it."""
        faces = np.full(6, -1)
        for i, mean in enumerate(means):
            angles = angle_between_deg(FACE_DIRECTIONS, mean)
            face = int(np.argmin(angles))
            if angles[face] <= self.face_tolerance_deg and (
                faces[face] < 0 or durations[i] > durations[faces[face]]
            ):
                faces[face] = i
        missing = [FACE_NAMES[k] for k in range(6) if faces[k] < 0]
        if missing:
            raise CalibrationError(
                f"found {self._found()}; the six-position fit needs the pod still for 3 s or more "
                f"on each face (missing: {', '.join(missing)}) and the ellipsoid fit at least "
                f"{self.min_ellipsoid_poses} distinct poses; {self._redo()}"
            )
        offset, matrix, residuals = six_position_fit(means[faces], self.gravity_mps2)
        rms = float(np.sqrt(np.mean(residuals**2)))
        if rms > self.max_six_position_residual_mps2:
            worst = FACE_NAMES[int(np.argmax(np.linalg.norm(residuals, axis=1)))]
            raise CalibrationError(
                f"the six faces disagree by {rms:.3f} m/s² RMS (limit "
                f"{self.max_six_position_residual_mps2:g}; worst {worst}): the pod was not flat "
                "on its faces or the table is not level; record the faces step again on a level "
                f"table, or add holds on edges and corners ({self.min_ellipsoid_poses} distinct "
                "poses in all) for the ellipsoid fit, which needs no level surface"
            )
        self.offset_mps2_: FloatArray = offset
        self.matrix_: FloatArray = matrix
        self.residual_rms_mps2_ = rms

    def _fit_ellipsoid(self, means: FloatArray) -> None:
        """Every hold is one point of the ellipsoid (holds in the same pose too)."""
        poses = self.poses_mps2_
        if poses.shape[0] < self.min_ellipsoid_poses:
            raise CalibrationError(
                f"found {self._found()}; the ellipsoid fit needs at least "
                f"{self.min_ellipsoid_poses}; {self._redo()}"
            )
        nearest_deg = angle_between_deg(FACE_DIRECTIONS[:, None, :], poses[None, :, :]).min(1)
        uncovered = [FACE_NAMES[k] for k in range(6) if nearest_deg[k] > self.axis_coverage_deg]
        if uncovered:
            raise CalibrationError(
                f"found {self._found()}, but none within {self.axis_coverage_deg:g} deg of "
                f"{', '.join(uncovered)}: the poses must surround the pod; {self._redo()}"
            )
        centre, shape = fit_ellipsoid(means)
        matrix = self.gravity_mps2 * shape
        norms: FloatArray = np.linalg.norm(apply_calibration(means, centre, matrix), axis=1)
        residuals = norms - self.gravity_mps2
        rms = float(np.sqrt(np.mean(residuals**2)))
        if rms > self.max_residual_mps2:
            worst = describe_pose(means[int(np.argmax(np.abs(residuals)))], self.face_tolerance_deg)
            raise CalibrationError(
                f"the poses do not agree on one gravity: the fit leaves {rms:.3f} m/s² RMS (limit "
                f"{self.max_residual_mps2:g}; worst pose {worst}): something shook the pod during "
                f"the holds; {self._redo()}"
            )
        self.offset_mps2_ = centre
        self.matrix_ = matrix
        self.residual_rms_mps2_ = rms


# -- magnetometer --------------------------------------------------------------------------------


class MagnetometerFit:
    """Hard-iron offset and soft-iron matrix from a capture turning the pod through all
    directions.

    Gates, in order: at least `min_samples` readings; the directions of the readings around a
    rough centre (the middle of each axis' range) cover at least `min_coverage_fraction` of
    `coverage_cells` equal-area cells of the sphere; the fitted field strength lies within
    `field_range_ut` (the Earth's field is 25-65 µT everywhere); the residual RMS of |calibrated|
    is at most `max_residual_fraction` of the field (a larger one means the field changed during
    the capture: steel, magnets or electronics nearby).

    Results: `hard_iron_ut_` (3,), `soft_iron_matrix_` (3,3, symmetric, determinant 1),
    `field_ut_`, `coverage_fraction_` (of the calibrated directions), `residual_rms_ut_`,
    `samples_`.
    """

    def __init__(
        self,
        *,
        min_samples: int = 200,
        coverage_cells: int = 100,
        min_coverage_fraction: float = 0.5,
        max_residual_fraction: float = 0.03,
        field_range_ut: tuple[float, float] = (20.0, 80.0),
    ) -> None:
        self.min_samples = min_samples
        self.coverage_cells = coverage_cells
        self.min_coverage_fraction = min_coverage_fraction
        self.max_residual_fraction = max_residual_fraction
        self.field_range_ut = field_range_ut

    def estimate(self, mag_ut: FloatArray) -> Self:
        redo = (
            "record the mag step again away from steel, magnets and electronics, turning the pod "
            "slowly so that each of its faces points up, down, north, south, east and west in "
            "turn (60 s)"
        )
        count = mag_ut.shape[0]
        if count < self.min_samples:
            raise CalibrationError(
                f"the capture holds {count} magnetometer readings; at least {self.min_samples} "
                f"are needed: {redo}"
            )
        rough_centre = (mag_ut.max(axis=0) + mag_ut.min(axis=0)) / 2
        rough = sphere_coverage_fraction(mag_ut - rough_centre, self.coverage_cells)
        if rough < self.min_coverage_fraction:
            raise self._too_little(rough, redo)
        try:
            centre, shape = fit_ellipsoid(mag_ut)
        except CalibrationError as error:
            raise CalibrationError(f"{error}; {redo}") from None
        field_ut = float(np.linalg.det(shape) ** (-1.0 / 3.0))
        soft = shape * field_ut
        calibrated = apply_calibration(mag_ut, centre, soft)
        coverage = sphere_coverage_fraction(calibrated, self.coverage_cells)
        if coverage < self.min_coverage_fraction:
            raise self._too_little(coverage, redo)
        low, high = self.field_range_ut
        if not low <= field_ut <= high:
            raise CalibrationError(
                f"the fitted field is {field_ut:.1f} µT, outside {low:g} to {high:g} µT (the "
                "Earth's field is 25-65 µT): a magnet or steel moved with the pod, or the "
                f"magnetometer columns are not in µT; {redo}"
            )
        norms: FloatArray = np.linalg.norm(calibrated, axis=1)
        residual_rms = float(np.sqrt(np.mean((norms - field_ut) ** 2)))
        if residual_rms > self.max_residual_fraction * field_ut:
            raise CalibrationError(
                f"the field strength varied by {residual_rms:.2f} µT RMS after the fit "
                f"({residual_rms / field_ut:.1%} of {field_ut:.1f} µT; limit "
                f"{self.max_residual_fraction:.0%}): the field around the pod changed during the "
                f"capture; {redo}"
            )
        self.hard_iron_ut_: FloatArray = centre
        self.soft_iron_matrix_: FloatArray = soft
        self.field_ut_ = field_ut
        self.coverage_fraction_ = coverage
        self.residual_rms_ut_ = residual_rms
        self.samples_ = count
        return self

    def _too_little(self, coverage: float, redo: str) -> CalibrationError:
        return CalibrationError(
            f"the rotation covered {coverage:.0%} of the sphere of directions; at least "
            f"{self.min_coverage_fraction:.0%} is needed: {redo}"
        )
