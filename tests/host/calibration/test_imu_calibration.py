# pyright: strict
"""IMU calibration fits recover the simulated sensor's errors; each quality gate refuses the bad
capture it is for, with a message that says what went wrong and what to record again."""

import re

import numpy as np
import pytest
from calibration_bench import (
    FACE_UP,
    FIELD_UT,
    Capture,
    Pod,
    Script,
    faces_script,
    random_poses_script,
)
from gaitchain.fusion.imu_calibration import (
    FACE_DIRECTIONS,
    FACE_NAMES,
    AccelerometerFit,
    CalibrationError,
    GyroBiasAtRest,
    MagnetometerFit,
    StaticHold,
    apply_calibration,
    fibonacci_sphere,
    find_static_holds,
    fit_ellipsoid,
    sphere_coverage_fraction,
)
from gaitchain.signals import G_MPS2
from gaitchain.sim.params import ImuErrors
from numpy.typing import NDArray
from scipy.linalg import polar
from scipy.spatial.transform import Rotation

FloatArray = NDArray[np.float64]
G = G_MPS2
ERRORS = ImuErrors(
    mag=True,
    disturbance_ut=0.0,
    acc_bias_mg=40.0,
    gyr_bias_dps=1.0,
    scale_error_pct=2.0,
    cross_axis_pct=1.0,
    hard_iron_ut=20.0,
    soft_iron_pct=8.0,
)
"""Larger errors than the LSM6DSV16X's typical ones, so recovering them means something."""


@pytest.fixture(scope="module")
def pod() -> Pod:
    return Pod(seed=11, errors=ERRORS)


def _holds(capture: Capture) -> list[StaticHold]:
    return find_static_holds(capture.t_s, capture.acc_mps2, capture.gyr_radps)


def _symmetric_part(matrix: FloatArray) -> FloatArray:
    """P of the polar decomposition matrix = Q P: what gravity or field magnitudes can see."""
    return np.asarray(polar(matrix)[1], dtype=np.float64)


# -- the bench ------------------------------------------------------------------------------------


def test_bench_faces_put_each_axis_up() -> None:
    for name, direction in zip(FACE_NAMES, FACE_DIRECTIONS, strict=True):
        up_in_sensor = FACE_UP[name].inv().apply([0.0, 0.0, 1.0])
        np.testing.assert_allclose(up_in_sensor, direction, atol=1e-12)


def test_bench_pod_reads_gravity_and_field(pod: Pod) -> None:
    capture = pod.capture(random_poses_script(3, seed=5))
    truth = pod.truth
    assert capture.mag_ut is not None
    acc = apply_calibration(capture.acc_mps2, truth.acc_offset_mps2, truth.acc_matrix)
    mag = apply_calibration(capture.mag_ut, truth.hard_iron_ut, truth.soft_iron_inverse)
    still = np.linalg.norm(capture.gyr_radps - capture.gyr_bias_radps, axis=1) < 1e-3
    assert np.abs(np.linalg.norm(acc[still], axis=1) - G).max() < 0.05
    assert np.abs(np.linalg.norm(mag, axis=1) - FIELD_UT).max() < 2.0


# -- fits -----------------------------------------------------------------------------------------


def test_gyro_bias_at_rest_recovers_the_bias(pod: Pod) -> None:
    capture = pod.capture(Script().hold(12.0))
    rest = GyroBiasAtRest().estimate(capture.t_s, capture.acc_mps2, capture.gyr_radps)
    used = (capture.t_s >= 1.0) & (capture.t_s <= capture.t_s[-1] - 1.0)
    true_bias = capture.gyr_bias_radps[used].mean(axis=0)
    assert np.degrees(np.abs(true_bias).max()) > 0.5, "the seed should give a visible bias"
    np.testing.assert_allclose(rest.bias_radps_, true_bias, atol=np.radians(0.002))
    assert rest.duration_s_ == pytest.approx(10.0, abs=0.02)
    assert rest.samples_ == int(used.sum())


def test_static_holds_are_found_where_the_pod_was_still(pod: Pod) -> None:
    script = faces_script(hold_s=5.0)
    holds = _holds(pod.capture(script))
    still = [(p.t_start_s, p.t_stop_s) for p in script.pieces if p.kind == "hold"]
    # first and last hold join the script's lead-in and lead-out holds
    expected = [(0.0, 7.5)] + [(a, b) for a, b in still[2:-2]] + [(still[-2][0], script.now_s)]
    assert len(holds) == 6
    for hold, (start_s, stop_s) in zip(holds, expected, strict=True):
        assert start_s <= hold.t_start_s <= start_s + 0.45
        assert stop_s - 0.45 <= hold.t_stop_s <= stop_s
        assert hold.duration_s > 4.0


def test_six_position_recovers_offset_and_full_matrix(pod: Pod) -> None:
    fit = AccelerometerFit().estimate(_holds(pod.capture(faces_script())))
    truth = pod.truth
    assert fit.method_ == "six-position"
    assert fit.pose_names_ == list(FACE_NAMES)
    # truth: offset 0.29 m/s², matrix 2 % off identity; recovered within 1 mm/s², 2e-4
    assert np.abs(truth.acc_offset_mps2).max() > 0.2
    assert np.abs(truth.acc_matrix - np.eye(3)).max() > 0.015
    np.testing.assert_allclose(fit.offset_mps2_, truth.acc_offset_mps2, atol=1e-3)
    np.testing.assert_allclose(fit.matrix_, truth.acc_matrix, atol=2e-4)
    assert fit.residual_rms_mps2_ < 0.002


def test_ellipsoid_recovers_offset_and_symmetric_matrix_from_random_poses(pod: Pod) -> None:
    fit = AccelerometerFit().estimate(_holds(pod.capture(random_poses_script(16, seed=2))))
    truth = pod.truth
    assert fit.method_ == "ellipsoid"
    assert fit.poses_mps2_.shape[0] >= 12
    np.testing.assert_allclose(fit.offset_mps2_, truth.acc_offset_mps2, atol=2e-3)
    np.testing.assert_allclose(fit.matrix_, _symmetric_part(truth.acc_matrix), atol=2e-4)
    np.testing.assert_allclose(fit.matrix_, fit.matrix_.T, atol=1e-12)
    assert fit.residual_rms_mps2_ < 0.002


def test_ellipsoid_needs_no_level_table_but_six_position_does(pod: Pod) -> None:
    """Faces on a table tilted 3 degrees, plus edges: the six-position fit is refused, the
    ellipsoid fit is as good as on a level table."""
    tilted = faces_script(tilts_deg=(3.0,) * 6, seed=4)
    holds = _holds(pod.capture(tilted))
    with pytest.raises(CalibrationError, match=r"six faces disagree by .* not level"):
        AccelerometerFit(method="six-position").estimate(holds)
    holds += _holds(pod.capture(random_poses_script(8, seed=9)))
    fit = AccelerometerFit().estimate(holds)
    assert fit.method_ == "ellipsoid"
    np.testing.assert_allclose(fit.offset_mps2_, pod.truth.acc_offset_mps2, atol=2e-3)
    np.testing.assert_allclose(fit.matrix_, _symmetric_part(pod.truth.acc_matrix), atol=2e-4)


def test_magnetometer_recovers_hard_and_soft_iron(pod: Pod) -> None:
    capture = pod.capture(Script().hold(1.0).tumble(60.0, (50.0, 23.0, 37.0)).hold(1.0))
    assert capture.mag_ut is not None
    fit = MagnetometerFit().estimate(capture.mag_ut)
    truth = pod.truth
    symmetric = _symmetric_part(truth.soft_iron_inverse)
    scale = float(np.linalg.det(symmetric) ** (1 / 3))
    assert np.abs(truth.hard_iron_ut).max() > 5.0
    np.testing.assert_allclose(fit.hard_iron_ut_, truth.hard_iron_ut, atol=0.05)
    np.testing.assert_allclose(fit.soft_iron_matrix_, symmetric / scale, atol=1e-3)
    assert fit.field_ut_ == pytest.approx(FIELD_UT / scale, abs=0.05)
    assert np.linalg.det(fit.soft_iron_matrix_) == pytest.approx(1.0, abs=1e-9)
    assert fit.coverage_fraction_ > 0.8
    assert fit.residual_rms_ut_ < 0.4, "about the 0.3 µT noise"


def test_fit_ellipsoid_on_exact_points() -> None:
    rng = np.random.default_rng(3)
    shape = np.array([[1.1, 0.05, -0.02], [0.05, 0.9, 0.03], [-0.02, 0.03, 1.02]]) / 40.0
    centre = np.array([12.0, -30.0, 5.0])
    points = centre + np.linalg.solve(shape, fibonacci_sphere(50).T).T
    rotation = Rotation.random(rng=rng).as_matrix()
    fitted_centre, fitted_shape = fit_ellipsoid(points @ rotation.T)
    np.testing.assert_allclose(fitted_centre, rotation @ centre, atol=1e-9)
    np.testing.assert_allclose(fitted_shape, rotation @ shape @ rotation.T, atol=1e-12)


def test_sphere_coverage_counts_cells() -> None:
    assert sphere_coverage_fraction(fibonacci_sphere(100), 100) == 1.0
    ring = np.stack([np.cos(np.linspace(0, 6.3, 500)), np.sin(np.linspace(0, 6.3, 500))], 1)
    ring_coverage = sphere_coverage_fraction(np.column_stack([ring, np.zeros(500)]), 100)
    assert 0.05 < ring_coverage < 0.3
    assert sphere_coverage_fraction(np.zeros((0, 3))) == 0.0


# -- gates: rest ---------------------------------------------------------------------------------


def _numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+\.\d+", text)]


def test_rest_with_a_bump_is_refused_saying_when_and_how_much(pod: Pod) -> None:
    nudged = Rotation.from_euler("x", 3.0, degrees=True)
    script = Script().hold(5.0).move(nudged, 0.5).move(Rotation.identity(), 0.5).hold(6.0)
    capture = pod.capture(script)
    with pytest.raises(CalibrationError) as refused:
        GyroBiasAtRest().estimate(capture.t_s, capture.acc_mps2, capture.gyr_radps)
    message = str(refused.value)
    assert message.startswith("the pod moved between ")
    first_s, last_s, gyr_dps, _, acc_mps2 = _numbers(message)[:5]
    assert 4.6 <= first_s <= 5.2 and 5.8 <= last_s <= 6.4, message
    assert gyr_dps > 5.0 and acc_mps2 > 0.3, message
    assert "record the rest step again" in message


def test_rest_too_short_is_refused(pod: Pod) -> None:
    capture = pod.capture(Script().hold(6.0))
    with pytest.raises(CalibrationError, match=r"lasts 6\.0 s.*8 s are needed.*record the rest"):
        GyroBiasAtRest().estimate(capture.t_s, capture.acc_mps2, capture.gyr_radps)


def test_rest_while_turning_steadily_is_refused() -> None:
    t_s = np.arange(0.0, 12.0, 0.01)
    acc = np.tile([0.0, 0.0, G], (t_s.shape[0], 1))
    gyr = np.tile([0.0, 0.0, np.radians(30.0)], (t_s.shape[0], 1))
    with pytest.raises(CalibrationError, match=r"reads 30\.0 deg/s while still.*turning"):
        GyroBiasAtRest().estimate(t_s, acc, gyr)


# -- gates: accelerometer -------------------------------------------------------------------------


def test_too_few_faces_are_refused_naming_the_missing_ones(pod: Pod) -> None:
    holds = _holds(pod.capture(faces_script(faces=("+x up", "-x up", "+z up", "-z up"))))
    with pytest.raises(CalibrationError) as refused:
        AccelerometerFit().estimate(holds)
    message = str(refused.value)
    assert "found 4 distinct still poses (+x up, -x up, +z up, -z up)" in message
    assert "missing: +y up, -y up" in message
    assert "record the faces step again" in message


def test_a_face_held_too_briefly_does_not_count(pod: Pod) -> None:
    script = faces_script(faces=tuple(FACE_UP)[:5])
    script.move(FACE_UP["-z up"]).hold(1.5).move(FACE_UP["+z up"]).hold(2.0)
    with pytest.raises(CalibrationError, match=r"missing: -z up"):
        AccelerometerFit().estimate(_holds(pod.capture(script)))


def test_ellipsoid_refuses_poses_that_do_not_surround_the_pod(pod: Pod) -> None:
    script = Script().hold(4.0)
    for k in range(14):  # z up, tilted 25 or 55 deg all around: never upside down
        azimuth = 2 * np.pi * k / 14
        axis = np.array([np.cos(azimuth), np.sin(azimuth), 0.0])
        tilt = Rotation.from_rotvec(np.radians(25.0 if k % 2 else 55.0) * axis)
        script.move(tilt, 2.0).hold(4.0)
    with pytest.raises(CalibrationError) as refused:
        AccelerometerFit(method="ellipsoid").estimate(_holds(pod.capture(script)))
    message = str(refused.value)
    assert "none within 50 deg of" in message and "-z up" in message
    assert "must surround the pod" in message


def test_ellipsoid_refuses_holds_that_disagree() -> None:
    directions = fibonacci_sphere(14)
    means = G * directions
    means[5] *= 1.0 + 0.4 / G  # one hold reads 0.4 m/s² too much: shaken
    holds = [StaticHold(0, 100, 0.0, 1.0, mean, np.zeros(3), 0.0, 0.0) for mean in means]
    with pytest.raises(CalibrationError, match=r"do not agree on one gravity.*m/s² RMS"):
        AccelerometerFit().estimate(holds)


# -- gates: magnetometer --------------------------------------------------------------------------


def test_turning_about_one_axis_is_too_little_coverage(pod: Pod) -> None:
    capture = pod.capture(Script().hold(1.0).tumble(60.0, (40.0, 0.0, 0.0)).hold(1.0))
    assert capture.mag_ut is not None
    with pytest.raises(CalibrationError) as refused:
        MagnetometerFit().estimate(capture.mag_ut)
    message = str(refused.value)
    assert re.match(r"the rotation covered \d+% of the sphere of directions", message), message
    assert "at least 50% is needed" in message and "record the mag step again" in message


def test_a_magnet_passing_by_is_refused(pod: Pod) -> None:
    capture = pod.capture(Script().hold(1.0).tumble(60.0, (50.0, 23.0, 37.0)).hold(1.0))
    assert capture.mag_ut is not None
    disturbed = capture.mag_ut.copy()
    passing = (capture.t_s > 20.0) & (capture.t_s < 35.0)
    disturbed[passing] += np.array([8.0, -6.0, 5.0])
    with pytest.raises(CalibrationError, match=r"field strength varied by .* changed during"):
        MagnetometerFit().estimate(disturbed)


def test_magnetometer_in_the_wrong_unit_is_refused(pod: Pod) -> None:
    capture = pod.capture(Script().hold(1.0).tumble(60.0, (50.0, 23.0, 37.0)).hold(1.0))
    assert capture.mag_ut is not None
    with pytest.raises(CalibrationError, match=r"fitted field is 0\.5 µT.*not in µT"):
        MagnetometerFit().estimate(capture.mag_ut / 100.0)  # gauss


def test_too_few_magnetometer_readings_are_refused() -> None:
    with pytest.raises(CalibrationError, match=r"holds 50 magnetometer readings; at least 200"):
        MagnetometerFit().estimate(30.0 * fibonacci_sphere(50))
