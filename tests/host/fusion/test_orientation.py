"""VqfOrientation and its kernels on synthetic motion with exact ground truth."""

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import vqf
from gaitchain.fusion import (
    Mode,
    VqfOrientation,
    compensate_mag_latency,
    estimate_mag_latency_s,
    heading_lag_correction_rad,
    heading_rotation,
    mag_latency_windows,
    orientation_error_deg,
    quaternion_conjugate,
    quaternion_from_axis_angle,
    quaternion_multiply,
    quaternion_rotate,
    running_mag_latency_s,
)
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

GRAVITY_ENU_MPS2 = np.array([0.0, 0.0, 9.81])
"""Specific force of a sensor at rest, in ENU: gravity reaction, pointing up."""
FIELD_ENU_UT = np.array([0.0, 20.0, -44.0])
"""Earth's field in ENU: towards magnetic north and down (northern hemisphere)."""


@dataclass
class Recording:
    fs_hz: float
    quat: FloatArray
    acc_mps2: FloatArray
    gyr_radps: FloatArray
    mag_ut: FloatArray


def _integrate(q0: FloatArray, gyr_radps: FloatArray, fs_hz: float) -> FloatArray:
    """Orientation after each gyroscope sample, integrated as VQF does (rate held per sample)."""
    steps = quaternion_from_axis_angle(
        np.where(np.linalg.norm(gyr_radps, axis=1, keepdims=True) > 0, gyr_radps, [[0, 0, 1.0]]),
        np.linalg.norm(gyr_radps, axis=1) / fs_hz,
    )
    quat = np.empty((gyr_radps.shape[0], 4))
    q = q0
    for i, step in enumerate(steps):
        q = quaternion_multiply(q, step)
        q = q / np.linalg.norm(q)
        quat[i] = q
    return quat


def _record(
    gyr_radps: FloatArray,
    fs_hz: float,
    q0: FloatArray | None = None,
    mag_delay_samples: int = 0,
) -> Recording:
    quat = _integrate(np.array([1.0, 0, 0, 0]) if q0 is None else q0, gyr_radps, fs_hz)
    to_sensor = quaternion_conjugate(quat)
    acc = quaternion_rotate(to_sensor, GRAVITY_ENU_MPS2)
    mag = quaternion_rotate(to_sensor, FIELD_ENU_UT)
    if mag_delay_samples:
        mag[mag_delay_samples:] = mag[:-mag_delay_samples].copy()
        mag[:mag_delay_samples] = mag[mag_delay_samples]
    return Recording(fs_hz, quat, acc, gyr_radps, mag)


def _wobble(duration_s: float, fs_hz: float, seed: int = 0) -> FloatArray:
    """Smooth random body rates (sums of sines, up to about 4 rad/s), after 5 s of rest."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(duration_s * fs_hz)) / fs_hz
    gyr = np.zeros((t.size, 3))
    for axis in range(3):
        for freq_hz in rng.uniform(0.2, 2.0, size=3):
            gyr[:, axis] += rng.uniform(0.3, 1.2) * np.sin(
                2 * np.pi * freq_hz * t + rng.uniform(0.0, 6.0)
            )
    gyr[t < 5.0] = 0.0
    return gyr


def test_constant_rotation_about_up_integrates() -> None:
    fs = 200.0
    gyr = np.zeros((round(8 * fs), 3))
    gyr[round(2 * fs) :, 2] = np.deg2rad(90.0)
    rec = _record(gyr, fs)
    est = VqfOrientation().estimate(rec.acc_mps2, rec.gyr_radps, sampling_rate_hz=fs)
    errors = orientation_error_deg(est.orientation_, rec.quat)
    assert np.max(errors.total_deg) < 0.5
    # 6 s at 90 deg/s: one and a half turns, ending at 180 deg heading
    end = quaternion_multiply(heading_rotation(np.pi), [1.0, 0, 0, 0])
    assert orientation_error_deg(est.orientation_[-1], end).total_deg < 0.5


def test_constant_tilting_rotation_integrates_with_consistent_gravity() -> None:
    fs = 200.0
    gyr = np.zeros((round(6 * fs), 3))
    gyr[round(2 * fs) :, 0] = np.deg2rad(30.0)  # 120 deg roll about the sensor x axis
    rec = _record(gyr, fs)
    for mode in ("online", "offline"):
        est = VqfOrientation(mode).estimate(rec.acc_mps2, rec.gyr_radps, sampling_rate_hz=fs)
        assert np.max(orientation_error_deg(est.orientation_, rec.quat).total_deg) < 0.5, mode


def test_at_rest_inclination_matches_gravity_and_bias_is_learned() -> None:
    fs = 100.0
    n = round(20 * fs)
    tilt = quaternion_multiply(
        heading_rotation(0.7), quaternion_from_axis_angle([1.0, 1.0, 0.0], np.deg2rad(35.0))
    )
    rng = np.random.default_rng(4)
    bias_radps = np.deg2rad([0.4, -0.3, 0.2])
    acc = np.tile(quaternion_rotate(quaternion_conjugate(tilt), GRAVITY_ENU_MPS2), (n, 1))
    acc += rng.normal(scale=0.02, size=(n, 3))
    gyr = bias_radps + rng.normal(scale=np.deg2rad(0.05), size=(n, 3))
    est = VqfOrientation().estimate(acc, gyr, sampling_rate_hz=fs)
    late = slice(round(10 * fs), None)
    inclination = orientation_error_deg(est.orientation_[late], tilt).inclination_deg
    assert np.max(inclination) < 0.3
    # VQF needs restMinT = 1.5 s of stillness before it declares rest
    assert not est.rest_[: round(1.0 * fs)].any()
    assert est.rest_[round(2.5 * fs) :].all()
    np.testing.assert_allclose(est.gyr_bias_radps_[-1], bias_radps, atol=np.deg2rad(0.05))
    assert est.gyr_bias_sigma_radps_[-1] < est.gyr_bias_sigma_radps_[0]


@pytest.mark.parametrize("mode", ["online", "offline"])
@pytest.mark.parametrize("heading_deg", [0.0, 90.0, -135.0])
def test_magnetometer_heading_is_enu(mode: Mode, heading_deg: float) -> None:
    """A pod whose x axis points east and z up reads identity; turned, it reads its heading."""
    fs = 100.0
    n = round(15 * fs)
    truth = heading_rotation(np.deg2rad(heading_deg))
    to_sensor = quaternion_conjugate(truth)
    acc = np.tile(quaternion_rotate(to_sensor, GRAVITY_ENU_MPS2), (n, 1))
    mag = np.tile(quaternion_rotate(to_sensor, FIELD_ENU_UT), (n, 1))
    est = VqfOrientation(mode).estimate(acc, np.zeros((n, 3)), mag, sampling_rate_hz=fs)
    errors = orientation_error_deg(est.orientation_[round(5 * fs) :], truth)
    assert np.max(errors.total_deg) < 0.5
    assert est.mag_disturbed_ is not None and est.heading_offset_rad_ is not None
    assert est.mag_latency_s_ == 0.0  # no rotation: nothing to estimate the latency from


def test_online_is_causal_and_offline_is_not() -> None:
    fs = 200.0
    rec = _record(_wobble(40.0, fs), fs, mag_delay_samples=2)
    cut = round(25 * fs)
    changed = _record(_wobble(40.0, fs, seed=9), fs, mag_delay_samples=2)
    acc = np.concatenate([rec.acc_mps2[:cut], changed.acc_mps2[cut:]])
    gyr = np.concatenate([rec.gyr_radps[:cut], changed.gyr_radps[cut:]])
    mag = np.concatenate([rec.mag_ut[:cut], 1.5 * changed.mag_ut[cut:]])

    def run(mode: Mode, a: FloatArray, g: FloatArray, m: FloatArray) -> dict[str, Any]:
        est = VqfOrientation(mode).estimate(a, g, m, sampling_rate_hz=fs)
        return {k: v for k, v in vars(est).items() if k.endswith("_") and v is not None}

    full = run("online", rec.acc_mps2, rec.gyr_radps, rec.mag_ut)
    edited = run("online", acc, gyr, mag)
    assert set(full) >= {"orientation_", "rest_", "mag_disturbed_", "heading_offset_rad_"}
    for name, value in full.items():
        if isinstance(value, np.ndarray):
            assert np.array_equal(value[:cut], edited[name][:cut]), name
    assert not np.array_equal(full["orientation_"][cut:], edited["orientation_"][cut:])
    offline_full = run("offline", rec.acc_mps2, rec.gyr_radps, rec.mag_ut)
    offline_edited = run("offline", acc, gyr, mag)
    assert not np.array_equal(
        offline_full["orientation_"][:cut], offline_edited["orientation_"][:cut]
    )


def test_mag_latency_is_estimated_and_compensated() -> None:
    fs = 250.0
    delay = 3  # 12 ms
    rec = _record(_wobble(60.0, fs, seed=2), fs, mag_delay_samples=delay)
    latency_s = estimate_mag_latency_s(rec.gyr_radps, rec.mag_ut, sampling_rate_hz=fs)
    assert latency_s == pytest.approx(delay / fs, abs=0.001)
    running = running_mag_latency_s(rec.gyr_radps, rec.mag_ut, sampling_rate_hz=fs)
    assert running[: round(5 * fs)].max() == 0.0  # at rest: stays at the prior
    assert running[-1] == pytest.approx(latency_s, abs=1e-4)
    assert np.all(np.abs(running[round(20 * fs) :] - delay / fs) < 0.0015)

    true_mag = quaternion_rotate(quaternion_conjugate(rec.quat), FIELD_ENU_UT)
    compensated = compensate_mag_latency(rec.gyr_radps, rec.mag_ut, delay / fs, sampling_rate_hz=fs)
    moving = slice(round(6 * fs), None)
    before = np.linalg.norm(rec.mag_ut[moving] - true_mag[moving], axis=1)
    after = np.linalg.norm(compensated[moving] - true_mag[moving], axis=1)
    assert after.max() < 0.02 * before.max()
    np.testing.assert_allclose(
        np.linalg.norm(compensated, axis=1), np.linalg.norm(rec.mag_ut, axis=1), rtol=1e-9
    )


def test_latency_of_a_slower_magnetometer_with_zero_rows() -> None:
    """A magnetometer at a third of the gyroscope rate: rows without a new sample are zero."""
    fs = 300.0
    delay = 4  # 13.3 ms
    rec = _record(_wobble(60.0, fs, seed=6), fs, mag_delay_samples=delay)
    mag = rec.mag_ut.copy()
    mag[np.arange(mag.shape[0]) % 3 != 0] = 0.0
    mag[:100] = 0.0  # nothing at all at first
    latency_s = estimate_mag_latency_s(rec.gyr_radps, mag, sampling_rate_hz=fs)
    assert latency_s == pytest.approx(delay / fs, abs=0.0015)
    compensated = compensate_mag_latency(rec.gyr_radps, mag, latency_s, sampling_rate_hz=fs)
    assert np.array_equal(np.all(compensated == 0.0, axis=1), np.all(mag == 0.0, axis=1))
    est = VqfOrientation().estimate(rec.acc_mps2, rec.gyr_radps, mag, sampling_rate_hz=fs)
    late = slice(round(20 * fs), None)
    assert np.max(orientation_error_deg(est.orientation_[late], rec.quat[late]).total_deg) < 1.0


@pytest.mark.parametrize("zero_rows", [False, True])
def test_latency_windows_match_a_direct_computation(zero_rows: bool) -> None:
    """Across the kernels' internal blocks, the windows equal a plain cumulative-sum version."""
    fs, w = 250.0, 10
    rec = _record(_wobble(170.0, fs, seed=11), fs, mag_delay_samples=2)  # > 2 blocks
    gyr, mag = rec.gyr_radps, rec.mag_ut.copy()
    n = gyr.shape[0]
    if zero_rows:
        mag[np.arange(n) % 4 != 1] = 0.0
    windows = mag_latency_windows(gyr, mag, sampling_rate_hz=fs, window_samples=w)

    present = np.any(mag != 0.0, axis=1)
    held = np.maximum.accumulate(np.where(present, np.arange(n), 0))
    norm = np.linalg.norm(mag[held], axis=1, keepdims=True)
    unit = np.divide(mag[held], norm, out=np.zeros((n, 3)), where=norm > 0)
    dgyr = np.diff(gyr, axis=0, prepend=gyr[:1])
    c1 = np.concatenate([[[0.0, 0, 0]], np.cumsum(np.cross(gyr, unit), axis=0) / fs])
    c2 = np.concatenate([[[0.0, 0, 0]], np.cumsum(np.cross(dgyr, unit), axis=0)])
    bounds = held[np.arange((n - 1) // w + 1) * w]
    s, e = bounds[:-1], bounds[1:]
    a = unit[e] - unit[s] + c1[e + 1] - c1[s + 1]
    b = c2[e + 1] - c2[s + 1]
    scale2 = (fs / w) ** 2
    usable = (e > s) & (s >= np.argmax(present))
    np.testing.assert_array_equal(windows.end_index, np.arange(1, e.size + 1) * w)
    np.testing.assert_allclose(
        windows.ab, np.where(usable, np.sum(a * b, axis=1) * scale2, 0.0), rtol=1e-9, atol=1e-9
    )
    np.testing.assert_allclose(
        windows.bb, np.where(usable, np.sum(b * b, axis=1) * scale2, 0.0), rtol=1e-9, atol=1e-9
    )


def test_compensation_matches_a_direct_rotation() -> None:
    fs = 200.0
    rec = _record(_wobble(120.0, fs, seed=12), fs)  # > 1 block
    n = rec.gyr_radps.shape[0]
    lag_s = np.random.default_rng(13).uniform(0.0, 0.04, size=n)
    compensated = compensate_mag_latency(rec.gyr_radps, rec.mag_ut, lag_s, sampling_rate_hz=fs)
    theta_cum = np.concatenate([[[0.0, 0, 0]], np.cumsum(rec.gyr_radps, axis=0) / fs])
    start = np.maximum(np.arange(1, n + 1) - lag_s * fs, 0.0)
    lo = np.floor(start).astype(int)
    frac = (start - lo)[:, None]
    begin = theta_cum[lo] + frac * (theta_cum[np.minimum(lo + 1, n)] - theta_cum[lo])
    theta = theta_cum[1:] - begin
    angle = np.linalg.norm(theta, axis=1)
    axis = np.where(angle[:, None] > 0, theta, [[0.0, 0.0, 1.0]])
    turn = quaternion_from_axis_angle(axis, angle)
    expected = quaternion_rotate(quaternion_conjugate(turn), rec.mag_ut)
    np.testing.assert_allclose(compensated, expected, atol=1e-9)


def test_latency_compensation_removes_the_heading_error_of_a_late_magnetometer() -> None:
    fs = 250.0
    rec = _record(_wobble(60.0, fs, seed=5), fs, mag_delay_samples=4)
    moving = slice(round(15 * fs), None)

    def heading_rms_deg(**params: Any) -> float:
        est = VqfOrientation(**params).estimate(
            rec.acc_mps2, rec.gyr_radps, rec.mag_ut, sampling_rate_hz=fs
        )
        heading = orientation_error_deg(est.orientation_[moving], rec.quat[moving]).heading_deg
        return float(np.sqrt(np.mean(heading**2)))

    for mode in ("online", "offline"):
        plain = heading_rms_deg(mode=mode, mag_latency_s=0.0)
        compensated = heading_rms_deg(mode=mode)
        assert compensated < 0.5 * plain, mode


def test_zero_latency_and_no_lag_compensation_is_plain_vqf() -> None:
    fs = 200.0
    rec = _record(_wobble(20.0, fs, seed=3), fs, mag_delay_samples=2)
    est = VqfOrientation(mag_latency_s=0.0, heading_lag_compensation=False).estimate(
        rec.acc_mps2, rec.gyr_radps, rec.mag_ut, sampling_rate_hz=fs
    )
    ref = vqf.VQF(1.0 / fs).updateBatch(
        np.ascontiguousarray(rec.gyr_radps),
        np.ascontiguousarray(rec.acc_mps2),
        np.ascontiguousarray(rec.mag_ut),
    )
    np.testing.assert_array_equal(est.orientation_, ref["quat9D"])
    np.testing.assert_array_equal(est.orientation_6d_, ref["quat6D"])
    np.testing.assert_array_equal(est.rest_, ref["restDetected"])
    assert est.mag_latency_s_ == 0.0

    offline = VqfOrientation("offline", mag_latency_s=0.0).estimate(
        rec.acc_mps2, rec.gyr_radps, rec.mag_ut, sampling_rate_hz=fs
    )
    ref_offline = vqf.offlineVQF(
        np.ascontiguousarray(rec.gyr_radps),
        np.ascontiguousarray(rec.acc_mps2),
        np.ascontiguousarray(rec.mag_ut),
        1.0 / fs,
    )
    np.testing.assert_array_equal(offline.orientation_, ref_offline["quat9D"])


def test_heading_lag_correction_restores_a_drifting_heading() -> None:
    fs = 100.0
    tau_mag_s = 9.0
    t = np.arange(round(200 * fs)) / fs
    rate = np.deg2rad(0.2)
    # what a first-order heading filter shows for a heading drifting at `rate`
    lagging = rate * (t - tau_mag_s * (1.0 - np.exp(-t / tau_mag_s)))
    corrected = lagging + heading_lag_correction_rad(
        lagging, sampling_rate_hz=fs, tau_mag_s=tau_mag_s
    )
    late = t > 120.0
    np.testing.assert_allclose(corrected[late], rate * t[late], atol=np.deg2rad(0.05))
    assert np.max(np.abs(lagging[late] - rate * t[late])) > np.deg2rad(1.7)


def test_heading_lag_correction_is_bounded_for_steps() -> None:
    fs = 100.0
    delta = np.zeros(round(100 * fs))
    delta[round(30 * fs) :] = 1.0  # a jump is not drift
    correction = heading_lag_correction_rad(delta, sampling_rate_hz=fs, tau_mag_s=9.0)
    assert np.max(np.abs(correction)) <= 9.0 * np.deg2rad(1.0) / fs + 1e-12


def test_without_magnetometer_results_are_6d() -> None:
    fs = 100.0
    rec = _record(_wobble(10.0, fs), fs)
    est = VqfOrientation().estimate(rec.acc_mps2, rec.gyr_radps, sampling_rate_hz=fs)
    assert est.orientation_ is est.orientation_6d_
    assert est.mag_disturbed_ is None and est.heading_offset_rad_ is None
    assert est.mag_latency_s_ is None
    n = rec.gyr_radps.shape[0]
    assert est.orientation_.shape == (n, 4) and est.gyr_bias_radps_.shape == (n, 3)
    assert est.rest_.shape == (n,) and est.rest_.dtype == np.bool_


def test_estimate_returns_self_and_leaves_parameters_alone() -> None:
    fs = 100.0
    rec = _record(_wobble(10.0, fs), fs)
    algo = VqfOrientation("offline", tau_mag_s=5.0, mag_latency_s=0.01)
    params = dict(vars(algo))
    assert algo.estimate(rec.acc_mps2, rec.gyr_radps, rec.mag_ut, sampling_rate_hz=fs) is algo
    assert {k: v for k, v in vars(algo).items() if not k.endswith("_")} == params
    assert algo.mag_latency_s_ == 0.01
    assert all(not k.endswith("_") for k in params)


def test_all_parameters_have_defaults() -> None:
    assert VqfOrientation().mode == "online"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"acc": np.zeros((10, 2))}, r"acc_mps2 must have shape \(n, 3\)"),
        ({"acc": np.zeros((0, 3))}, r"n >= 1"),
        ({"gyr": np.zeros((9, 3))}, r"gyr_radps has 9 samples but acc_mps2 has 10"),
        ({"mag": np.full((10, 3), np.nan)}, r"mag_ut is not finite at sample 0"),
        ({"fs": 0.0}, r"sampling_rate_hz must be a positive number"),
        ({"mode": "later"}, r"mode must be 'online' or 'offline'"),
        ({"tau_mag_s": -1.0}, r"tau_mag_s must be a finite number >= 0"),
        ({"mag_latency_s": -0.01}, r"mag_latency_s must be None or >= 0"),
    ],
)
def test_bad_input_raises_value_error(change: dict[str, Any], message: str) -> None:
    inputs: dict[str, Any] = {
        "acc": np.tile(GRAVITY_ENU_MPS2, (10, 1)),
        "gyr": np.zeros((10, 3)),
        "mag": np.tile(FIELD_ENU_UT, (10, 1)),
        "fs": 100.0,
    }
    params: dict[str, Any] = {}
    for key, value in change.items():
        (inputs if key in inputs else params)[key] = value
    algo = VqfOrientation(**params)
    with pytest.raises(ValueError, match=message):
        algo.estimate(inputs["acc"], inputs["gyr"], inputs["mag"], sampling_rate_hz=inputs["fs"])
