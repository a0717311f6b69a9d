"""Orientation of one pod from its accelerometer, gyroscope and (optionally) magnetometer.

Built on VQF (Laidig and Seel, "VQF: Highly accurate IMU orientation estimation with bias
estimation and magnetic disturbance rejection", Information Fusion 91:187-204, 2023; the `vqf`
package), with two additions measured on the BROAD benchmark:

* **Magnetometer latency compensation.** Magnetometers are often read later than the gyroscope
  (their own filters, a slower output rate held between updates). On BROAD the magnetometer trails
  the gyroscope by about 13 ms, which during fast rotation puts the magnetic heading several
  degrees behind. The latency is estimated from the data alone (no reference system needed): a
  field that is constant in the earth frame obeys ``dm/dt = -ω x m`` in the sensor frame, and a
  latency ``τ`` adds ``τ·(dω/dt x m)`` to that, so ``τ`` is a least-squares ratio
  (`mag_latency_windows`). Each magnetometer sample is then rotated forward by the rotation the
  gyroscope measured over the last ``τ`` seconds (`compensate_mag_latency`), which is causal.
* **Heading lag compensation (online).** VQF's heading correction is a first-order filter with
  time constant ``tau_mag_s``: while the gyroscope heading drifts at a rate ``r`` the estimate
  trails by ``r·tau_mag_s``. The online mode adds that term back from a causal, low-passed rate of
  change of the heading offset (`heading_lag_correction_rad`).

Earth frame: VQF's 9D output is already sensor -> ENU (x east, y magnetic north, z up): its heading
correction rotates the horizontal magnetic field onto +y (the VQF documentation says the same), so
no conversion is applied. North is magnetic north; declination is not applied. Without a
magnetometer the heading is arbitrary (it starts where the gyroscope integration starts).
"""

from typing import Final, Literal, NamedTuple, Self

import numpy as np
import vqf
from numpy.typing import ArrayLike, NDArray
from scipy import signal  # pyright: ignore[reportMissingTypeStubs]

from .quaternion import FloatArray, rotate_heading

Mode = Literal["online", "offline"]
"""``online``: causal, sample by sample (live pods). ``offline``: uses the whole recording."""

BoolArray = NDArray[np.bool_]

LATENCY_WINDOW_SAMPLES: Final = 10
"""Samples over which magnetometer change and gyroscope rotation are compared."""
LATENCY_PRIOR_ANG_ACC_RADPS2: Final = 5.0
LATENCY_PRIOR_S: Final = 1.0
"""The latency estimate starts at 0 with the weight of `LATENCY_PRIOR_S` of motion at an RMS
angular acceleration of `LATENCY_PRIOR_ANG_ACC_RADPS2`, so it only moves once the pod has turned
enough to tell (walking gives far more than that within a step or two)."""
CHUNK_SAMPLES: Final = 1 << 14
"""Block length of the vectorised kernels: long enough to amortise numpy's per-call cost, short
enough that the temporaries stay in cache."""


class VqfOutput(NamedTuple):
    """Arrays returned by one VQF run (typed copy of the `vqf` package's result dict)."""

    quat_6d: FloatArray
    quat_9d: FloatArray | None
    delta_rad: FloatArray | None
    bias_radps: FloatArray
    bias_sigma_radps: FloatArray
    rest: BoolArray
    mag_disturbed: BoolArray | None


def run_vqf(
    gyr_radps: FloatArray,
    acc_mps2: FloatArray,
    mag: FloatArray | None,
    *,
    sampling_rate_hz: float,
    offline: bool = False,
    tau_acc_s: float = 3.0,
    tau_mag_s: float = 9.0,
    motion_bias_estimation: bool = True,
    rest_bias_estimation: bool = True,
    mag_disturbance_rejection: bool = True,
) -> VqfOutput:
    """Runs VQF (``VQF.updateBatch``, or ``offlineVQF`` when ``offline``) on ``(n, 3)`` arrays.

    The only place that calls into the `vqf` extension (its type stubs cover these calls).
    """
    ts = 1.0 / sampling_rate_hz
    gyr = np.ascontiguousarray(gyr_radps, dtype=np.float64)
    acc = np.ascontiguousarray(acc_mps2, dtype=np.float64)
    params: dict[str, float | bool] = {
        "tauAcc": tau_acc_s,
        "tauMag": tau_mag_s,
        "motionBiasEstEnabled": motion_bias_estimation,
        "restBiasEstEnabled": rest_bias_estimation,
        "magDistRejectionEnabled": mag_disturbance_rejection,
    }
    filt = None
    if not offline:
        filt = vqf.VQF(
            ts,
            tauAcc=tau_acc_s,
            tauMag=tau_mag_s,
            motionBiasEstEnabled=motion_bias_estimation,
            restBiasEstEnabled=rest_bias_estimation,
            magDistRejectionEnabled=mag_disturbance_rejection,
        )
    if mag is None:
        raw6 = (
            vqf.offlineVQF(gyr, acc, None, ts, dict(params))
            if filt is None
            else filt.updateBatch(gyr, acc)
        )
        quat_6d, bias = raw6["quat6D"], raw6["bias"]
        bias_sigma, rest = raw6["biasSigma"], raw6["restDetected"]
        quat_9d = delta = mag_disturbed = None
    else:
        mag_c = np.ascontiguousarray(mag, dtype=np.float64)
        raw9 = (
            vqf.offlineVQF(gyr, acc, mag_c, ts, dict(params))
            if filt is None
            else filt.updateBatch(gyr, acc, mag_c)
        )
        quat_6d, bias = raw9["quat6D"], raw9["bias"]
        bias_sigma, rest = raw9["biasSigma"], raw9["restDetected"]
        quat_9d, delta, mag_disturbed = raw9["quat9D"], raw9["delta"], raw9["magDistDetected"]

    def floats(array: NDArray[np.generic] | None) -> FloatArray | None:
        return None if array is None else np.asarray(array, dtype=np.float64)

    def flags(array: NDArray[np.generic] | None) -> BoolArray | None:
        return None if array is None else np.asarray(array, dtype=np.bool_)

    return VqfOutput(
        quat_6d=np.asarray(quat_6d, dtype=np.float64),
        quat_9d=floats(quat_9d),
        delta_rad=floats(delta),
        bias_radps=np.asarray(bias, dtype=np.float64),
        bias_sigma_radps=np.asarray(bias_sigma, dtype=np.float64),
        rest=np.asarray(rest, dtype=np.bool_),
        mag_disturbed=flags(mag_disturbed),
    )


def _cross(a: FloatArray, b: FloatArray, out: FloatArray | None = None) -> FloatArray:
    """Cross product of two ``(3, n)`` arrays, column by column (rows stay contiguous).

    Written into the first n columns of ``out`` if given (which may be wider).
    """
    n = a.shape[1]
    if out is None:
        out = np.empty_like(a)
    np.subtract(a[1] * b[2], a[2] * b[1], out=out[0, :n])
    np.subtract(a[2] * b[0], a[0] * b[2], out=out[1, :n])
    np.subtract(a[0] * b[1], a[1] * b[0], out=out[2, :n])
    return out


def _rows(samples: FloatArray) -> FloatArray:
    """``(n, 3)`` samples as a C-contiguous ``(3, n)`` array (fast column arithmetic)."""
    return np.ascontiguousarray(samples.T, dtype=np.float64)


class LatencyWindows(NamedTuple):
    """Least-squares terms of the magnetometer latency per window (see `mag_latency_windows`)."""

    end_index: NDArray[np.intp]
    """Last sample of each window, ``(k,)``."""
    ab: FloatArray
    """``a·b`` per window, ``(k,)``; 0 for windows that cannot be used (see below)."""
    bb: FloatArray
    """``b·b`` per window, ``(k,)``; 0 likewise."""


def _latency_windows_block(
    gyr: FloatArray, mag: FloatArray, bounds: NDArray[np.intp], ts: float, w: int
) -> tuple[FloatArray, FloatArray]:
    """``a·b`` and ``b·b`` of the windows between consecutive ``bounds`` of one block.

    ``gyr`` and ``mag`` are ``(3, m)`` rows of the block, ``bounds`` non-decreasing indices into
    it (the first 0, the last m - 1); window k sums samples ``bounds[k] + 1 .. bounds[k + 1]``.
    """
    unit = mag.copy()
    norm = np.sqrt(unit[0] * unit[0] + unit[1] * unit[1] + unit[2] * unit[2])
    np.divide(unit, norm, out=unit, where=norm > 0.0)
    dgyr = np.empty_like(gyr)
    dgyr[:, 0] = 0.0
    np.subtract(gyr[:, 1:], gyr[:, :-1], out=dgyr[:, 1:])
    # sums over bounds[k] + 1 .. bounds[k + 1]; a zero column after the block keeps every start a
    # valid index (an empty window, bounds[k] == bounds[k + 1], gives garbage the caller masks)
    starts = bounds[:-1] + 1
    m = gyr.shape[1]
    a = np.add.reduceat(_cross(gyr, unit, np.zeros((3, m + 1))), starts, axis=1)
    a *= ts
    a += unit[:, bounds[1:]]
    a -= unit[:, bounds[:-1]]
    b = np.add.reduceat(_cross(dgyr, unit, np.zeros((3, m + 1))), starts, axis=1)
    scale2 = (1.0 / (w * ts)) ** 2
    ab = (a[0] * b[0] + a[1] * b[1] + a[2] * b[2]) * scale2
    bb = (b[0] * b[0] + b[1] * b[1] + b[2] * b[2]) * scale2
    return ab, bb


def mag_latency_windows(
    gyr_radps: FloatArray,
    mag: FloatArray,
    *,
    sampling_rate_hz: float,
    window_samples: int = LATENCY_WINDOW_SAMPLES,
) -> LatencyWindows:
    """Least-squares terms ``a·b`` and ``b·b`` of the magnetometer latency, per window.

    Windows of ``window_samples`` steps tile the recording (window k spans samples
    ``k·w .. (k+1)·w``). For the unit field direction ``u`` in the sensor frame:
    ``a = Δu + Σ ω x u Δt`` (what the gyroscope does not explain) and ``b = Σ Δω x u``
    (``∫ dω/dt x u dt``). A latency ``τ`` gives ``a ≈ τ·b``, so ``τ = Σa·b / Σb·b`` over any set of
    windows. Both terms are scaled by ``1/(w/sampling_rate_hz)²`` so that ``b`` reads as an
    angular acceleration in rad/s² (the unit of `LATENCY_PRIOR_ANG_ACC_RADPS2`); the scale cancels
    in the ratio. Window k uses only samples up to its ``end_index``.

    All-zero magnetometer rows mean "no new sample" (e.g. a magnetometer slower than the
    gyroscope): a window then runs between the last real samples at or before its two ends, the
    previous sample standing in for the missing ones inside; windows with no new sample, or before
    the first one, get ``a·b = b·b = 0``.
    """
    n = gyr_radps.shape[0]
    w = window_samples
    count = (n - 1) // w if n > 0 else 0
    ends = np.arange(1, count + 1, dtype=np.intp) * w
    if count == 0:
        return LatencyWindows(ends, np.zeros(0), np.zeros(0))
    present = (mag[:, 0] != 0.0) | (mag[:, 1] != 0.0) | (mag[:, 2] != 0.0)
    bounds = np.arange(count + 1, dtype=np.intp) * w
    valid = None
    if not present.all():
        held = np.where(present, np.arange(n, dtype=np.intp), 0)
        np.maximum.accumulate(held, out=held)
        mag = mag[held]
        bounds = held[bounds]
        first = int(np.argmax(present)) if present.any() else n
        valid = (bounds[1:] > bounds[:-1]) & (bounds[:-1] >= first)
    ab_parts: list[FloatArray] = []
    bb_parts: list[FloatArray] = []
    per_chunk = max(1, CHUNK_SAMPLES // w)
    for k0 in range(0, count, per_chunk):
        k1 = min(k0 + per_chunk, count)
        block = bounds[k0 : k1 + 1]
        lo, hi = int(block[0]), int(block[-1]) + 1
        ab, bb = _latency_windows_block(
            _rows(gyr_radps[lo:hi]), _rows(mag[lo:hi]), block - lo, 1.0 / sampling_rate_hz, w
        )
        ab_parts.append(ab)
        bb_parts.append(bb)
    ab = np.concatenate(ab_parts)
    bb = np.concatenate(bb_parts)
    if valid is not None:
        ab[~valid] = 0.0
        bb[~valid] = 0.0
    return LatencyWindows(ends, ab, bb)


def _latency_prior(sampling_rate_hz: float, window_samples: int) -> float:
    return LATENCY_PRIOR_ANG_ACC_RADPS2**2 * LATENCY_PRIOR_S * sampling_rate_hz / window_samples


def estimate_mag_latency_s(
    gyr_radps: FloatArray,
    mag: FloatArray,
    *,
    sampling_rate_hz: float,
    max_latency_s: float = 0.05,
    window_samples: int = LATENCY_WINDOW_SAMPLES,
) -> float:
    """Magnetometer latency behind the gyroscope, in s, from a whole recording (0 if at rest).

    Least squares over all windows of `mag_latency_windows` with a small prior towards 0,
    clipped to ``[0, max_latency_s]``.
    """
    windows = mag_latency_windows(
        gyr_radps, mag, sampling_rate_hz=sampling_rate_hz, window_samples=window_samples
    )
    prior = _latency_prior(sampling_rate_hz, window_samples)
    return float(np.clip(windows.ab.sum() / (windows.bb.sum() + prior), 0.0, max_latency_s))


def running_mag_latency_s(
    gyr_radps: FloatArray,
    mag: FloatArray,
    *,
    sampling_rate_hz: float,
    max_latency_s: float = 0.05,
    window_samples: int = LATENCY_WINDOW_SAMPLES,
) -> FloatArray:
    """Causal latency estimate per sample, ``(n,)`` in s: sample ``i`` uses samples ``<= i``.

    Cumulative least squares over the windows of `mag_latency_windows` that end by sample ``i``,
    starting from 0 with a small prior weight, clipped to ``[0, max_latency_s]``.
    """
    n = gyr_radps.shape[0]
    windows = mag_latency_windows(
        gyr_radps, mag, sampling_rate_hz=sampling_rate_hz, window_samples=window_samples
    )
    per_window = np.zeros(windows.ab.shape[0] + 1)
    np.cumsum(windows.ab, out=per_window[1:])
    per_window[1:] /= np.cumsum(windows.bb) + _latency_prior(sampling_rate_hz, window_samples)
    np.clip(per_window, 0.0, max_latency_s, out=per_window)
    finished = np.minimum(np.arange(n, dtype=np.intp) // window_samples, windows.ab.shape[0])
    return per_window[finished]


def _rotation_coefficients(phi2: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``sin(φ)/φ`` and ``(1 - cos φ)/φ²`` from ``φ²``, without division (exact at 0).

    Taylor series to φ⁸ (relative error below 1e-7 up to φ = 1 rad); larger angles are computed
    directly.
    """
    s1 = 1.0 - phi2 / 6.0 * (1.0 - phi2 / 20.0 * (1.0 - phi2 / 42.0 * (1.0 - phi2 / 72.0)))
    s2 = 0.5 - phi2 / 24.0 * (1.0 - phi2 / 30.0 * (1.0 - phi2 / 56.0 * (1.0 - phi2 / 90.0)))
    large = phi2 > 1.0
    if np.any(large):
        phi = np.sqrt(phi2[large])
        s1[large] = np.sin(phi) / phi
        s2[large] = (1.0 - np.cos(phi)) / phi2[large]
    return s1, s2


def compensate_mag_latency(
    gyr_radps: FloatArray,
    mag: FloatArray,
    latency_s: float | FloatArray,
    *,
    sampling_rate_hz: float,
) -> FloatArray:
    """Rotates each magnetometer sample forward over its latency with the gyroscope rotation.

    Sample ``i`` (taken ``latency_s`` before gyroscope sample ``i``) is rotated by the inverse of
    the rotation integrated from the gyroscope over the last ``latency_s`` (fractional samples are
    interpolated; the rotation vector is the integral of the rate, exact for a fixed axis). Only
    samples ``<= i`` are used, so this is causal. ``latency_s`` is a scalar or one value per
    sample, ``(n,)``. Zero vectors (no new magnetometer sample) stay zero. Returns ``(n, 3)``.
    """
    n = gyr_radps.shape[0]
    lag = np.broadcast_to(np.asarray(latency_s, dtype=np.float64) * sampling_rate_hz, (n,))
    out = np.array(mag, dtype=np.float64)
    if not np.any(lag > 0.0):
        return out
    theta_cum = np.empty((n + 1, 3))
    theta_cum[0] = 0.0
    np.cumsum(gyr_radps, axis=0, out=theta_cum[1:])
    theta_cum *= 1.0 / sampling_rate_hz
    for c0 in range(0, n, CHUNK_SAMPLES):
        c1 = min(c0 + CHUNK_SAMPLES, n)
        start = np.arange(c0 + 1, c1 + 1, dtype=np.float64)
        start -= lag[c0:c1]
        np.maximum(start, 0.0, out=start)
        lo = start.astype(np.intp)
        frac = start - lo
        hi = np.minimum(lo + 1, n)
        low = theta_cum[lo]
        theta = _rows(theta_cum[c0 + 1 : c1 + 1] - low - frac[:, None] * (theta_cum[hi] - low))
        # m_now = R(-theta) m = m - s1 (theta x m) + s2 theta x (theta x m)  (Rodrigues)
        s1, s2 = _rotation_coefficients(
            theta[0] * theta[0] + theta[1] * theta[1] + theta[2] * theta[2]
        )
        m = _rows(out[c0:c1])
        tm = _cross(theta, m)
        m -= s1 * tm
        m += s2 * _cross(theta, tm)
        out[c0:c1] = m.T
    return out


def heading_lag_correction_rad(
    delta_rad: FloatArray,
    *,
    sampling_rate_hz: float,
    tau_mag_s: float,
    rate_tau_s: float = 20.0,
    max_rate_radps: float = np.deg2rad(1.0),
) -> FloatArray:
    """``tau_mag_s`` times the causal, low-passed rate of the heading offset ``delta_rad``.

    A first-order heading filter with time constant ``tau_mag_s`` trails a heading that drifts at
    rate ``r`` by ``r·tau_mag_s``; adding this correction to the offset restores it. The rate is
    the backward difference of the unwrapped offset, limited to ``±max_rate_radps`` (convergence
    steps are not drift), ignored during the first ``tau_mag_s`` (VQF's fast initial convergence)
    and low-passed with time constant ``rate_tau_s``. Causal; ``(n,)`` in rad, at most
    ``tau_mag_s·max_rate_radps`` in size.
    """
    n = delta_rad.shape[0]
    rate = np.empty(n)
    rate[0] = 0.0
    np.subtract(delta_rad[1:], delta_rad[:-1], out=rate[1:])
    # unwrap: VQF keeps delta in [-pi, pi]
    rate[rate > np.pi] -= 2.0 * np.pi
    rate[rate < -np.pi] += 2.0 * np.pi
    rate *= sampling_rate_hz
    rate[: min(n, round(tau_mag_s * sampling_rate_hz))] = 0.0
    np.clip(rate, -max_rate_radps, max_rate_radps, out=rate)
    k = -np.expm1(-1.0 / (rate_tau_s * sampling_rate_hz))
    return _first_order_filter(rate, k * tau_mag_s, 1.0 - k)


def _first_order_filter(x: FloatArray, gain: float, pole: float) -> FloatArray:
    """``y[i] = pole·y[i-1] + gain·x[i]`` from ``y[-1] = 0`` (scipy's lfilter, typed)."""
    y = signal.lfilter([gain], [1.0, -pole], x)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    return np.asarray(y, dtype=np.float64)


def _as_samples(name: str, array: ArrayLike, n: int | None) -> FloatArray:
    data = np.asarray(array, dtype=np.float64)
    if data.ndim != 2 or data.shape[1] != 3 or data.shape[0] == 0:
        raise ValueError(f"{name} must have shape (n, 3) with n >= 1, got {data.shape}")
    if n is not None and data.shape[0] != n:
        raise ValueError(
            f"{name} has {data.shape[0]} samples but acc_mps2 has {n}; all inputs must be "
            "sampled together"
        )
    if not np.all(np.isfinite(data)):
        bad = int(np.flatnonzero(~np.isfinite(data).all(axis=1))[0])
        raise ValueError(f"{name} is not finite at sample {bad}; fill or cut gaps before fusion")
    return data


class VqfOrientation:
    """Orientation per pod: sensor -> earth (ENU) quaternions from acc, gyr and optionally mag.

    Parameters (stored only; see the module docstring for the method):

    mode
        ``"online"``: causal; the output at sample i depends only on samples up to i (VQF's
        streaming filter, latency estimated as it goes, heading lag compensated). ``"offline"``:
        for recorded sessions; VQF's offline variant (forward-backward bias estimation, zero-phase
        inclination and heading filters) with the latency estimated from the whole recording.
    tau_acc_s, tau_mag_s
        Time constants of VQF's inclination and heading corrections (VQF defaults).
    mag_latency_s
        Magnetometer latency behind the gyroscope if known (e.g. from the pod's calibration
        record); None estimates it from the data. 0 disables the compensation.
    max_mag_latency_s
        Upper bound of the estimated latency.
    heading_lag_compensation
        Online only: compensate the lag of the heading filter behind gyroscope drift.
    motion_bias_estimation, rest_bias_estimation, mag_disturbance_rejection
        VQF's switches.

    Results (after `estimate`):

    orientation_
        ``(n, 4)`` w, x, y, z, sensor -> ENU; heading from the magnetometer if one was given,
        else arbitrary (equal to `orientation_6d_`).
    orientation_6d_
        ``(n, 4)`` the magnetometer-free estimate (arbitrary, drifting heading).
    rest_
        ``(n,)`` bool, rest detected.
    mag_disturbed_
        ``(n,)`` bool, magnetic disturbance detected (heading not corrected), or None without mag.
    gyr_bias_radps_, gyr_bias_sigma_radps_
        ``(n, 3)`` estimated gyroscope bias and ``(n,)`` its uncertainty (worst direction).
    heading_offset_rad_
        ``(n,)`` rotation about the vertical from `orientation_6d_` to `orientation_`, or None.
    mag_latency_s_
        Latency used (online with estimation: the estimate at the last sample), or None.
    """

    orientation_: FloatArray
    orientation_6d_: FloatArray
    rest_: BoolArray
    mag_disturbed_: BoolArray | None
    gyr_bias_radps_: FloatArray
    gyr_bias_sigma_radps_: FloatArray
    heading_offset_rad_: FloatArray | None
    mag_latency_s_: float | None

    def __init__(
        self,
        mode: Mode = "online",
        *,
        tau_acc_s: float = 3.0,
        tau_mag_s: float = 9.0,
        mag_latency_s: float | None = None,
        max_mag_latency_s: float = 0.05,
        heading_lag_compensation: bool = True,
        motion_bias_estimation: bool = True,
        rest_bias_estimation: bool = True,
        mag_disturbance_rejection: bool = True,
    ) -> None:
        self.mode = mode
        self.tau_acc_s = tau_acc_s
        self.tau_mag_s = tau_mag_s
        self.mag_latency_s = mag_latency_s
        self.max_mag_latency_s = max_mag_latency_s
        self.heading_lag_compensation = heading_lag_compensation
        self.motion_bias_estimation = motion_bias_estimation
        self.rest_bias_estimation = rest_bias_estimation
        self.mag_disturbance_rejection = mag_disturbance_rejection

    def _check_parameters(self, sampling_rate_hz: float) -> None:
        if self.mode not in ("online", "offline"):
            raise ValueError(f"mode must be 'online' or 'offline', got {self.mode!r}")
        if not (np.isfinite(sampling_rate_hz) and sampling_rate_hz > 0.0):
            raise ValueError(f"sampling_rate_hz must be a positive number, got {sampling_rate_hz}")
        for name in ("tau_acc_s", "tau_mag_s", "max_mag_latency_s"):
            value = float(getattr(self, name))
            if not (np.isfinite(value) and value >= 0.0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value}")
        if self.mag_latency_s is not None and not (
            np.isfinite(self.mag_latency_s) and self.mag_latency_s >= 0.0
        ):
            raise ValueError(f"mag_latency_s must be None or >= 0, got {self.mag_latency_s}")

    def estimate(
        self,
        acc_mps2: ArrayLike,
        gyr_radps: ArrayLike,
        mag_ut: ArrayLike | None = None,
        *,
        sampling_rate_hz: float,
    ) -> Self:
        """Estimates the orientation of every sample; ``(n, 3)`` inputs sampled together.

        ``acc_mps2`` in m/s², ``gyr_radps`` in rad/s, ``mag_ut`` in µT (any unit works: only
        directions and relative changes are used; an all-zero row means "no new sample").
        """
        self._check_parameters(sampling_rate_hz)
        acc = _as_samples("acc_mps2", acc_mps2, None)
        n = acc.shape[0]
        gyr = _as_samples("gyr_radps", gyr_radps, n)
        mag = None if mag_ut is None else _as_samples("mag_ut", mag_ut, n)
        offline = self.mode == "offline"

        latency_s: float | None = None
        if mag is not None:
            latency: float | FloatArray
            if self.mag_latency_s is not None:
                latency = latency_s = float(self.mag_latency_s)
            elif offline:
                latency = latency_s = estimate_mag_latency_s(
                    gyr,
                    mag,
                    sampling_rate_hz=sampling_rate_hz,
                    max_latency_s=self.max_mag_latency_s,
                )
            else:
                latency = running_mag_latency_s(
                    gyr,
                    mag,
                    sampling_rate_hz=sampling_rate_hz,
                    max_latency_s=self.max_mag_latency_s,
                )
                latency_s = float(latency[-1])
            mag = compensate_mag_latency(gyr, mag, latency, sampling_rate_hz=sampling_rate_hz)

        out = run_vqf(
            gyr,
            acc,
            mag,
            sampling_rate_hz=sampling_rate_hz,
            offline=offline,
            tau_acc_s=self.tau_acc_s,
            tau_mag_s=self.tau_mag_s,
            motion_bias_estimation=self.motion_bias_estimation,
            rest_bias_estimation=self.rest_bias_estimation,
            mag_disturbance_rejection=self.mag_disturbance_rejection,
        )
        self.orientation_6d_ = out.quat_6d
        self.rest_ = out.rest
        self.mag_disturbed_ = out.mag_disturbed
        self.gyr_bias_radps_ = out.bias_radps
        self.gyr_bias_sigma_radps_ = out.bias_sigma_radps
        self.mag_latency_s_ = latency_s
        if out.quat_9d is None or out.delta_rad is None:
            self.orientation_ = out.quat_6d
            self.heading_offset_rad_ = None
        elif self.heading_lag_compensation and not offline:
            correction = heading_lag_correction_rad(
                out.delta_rad, sampling_rate_hz=sampling_rate_hz, tau_mag_s=self.tau_mag_s
            )
            self.orientation_ = rotate_heading(out.quat_9d, correction)
            offset = out.delta_rad + correction
            offset[offset > np.pi] -= 2.0 * np.pi
            offset[offset < -np.pi] += 2.0 * np.pi
            self.heading_offset_rad_ = offset
        else:
            self.orientation_ = out.quat_9d
            self.heading_offset_rad_ = out.delta_rad
        return self
