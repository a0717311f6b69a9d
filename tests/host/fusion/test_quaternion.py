"""Quaternion helpers and the BROAD error metrics, on hand-made cases and random quaternions."""

import numpy as np
import pytest
from gaitchain.fusion import (
    heading_offset_rad,
    heading_rotation,
    orientation_error_deg,
    orientation_rmse_deg,
    quaternion_conjugate,
    quaternion_from_axis_angle,
    quaternion_multiply,
    quaternion_normalize,
    quaternion_rotate,
    rotate_heading,
)
from numpy.typing import NDArray

IDENTITY = np.array([1.0, 0.0, 0.0, 0.0])


def _random_quaternions(n: int, seed: int = 0) -> NDArray[np.float64]:
    return quaternion_normalize(np.random.default_rng(seed).normal(size=(n, 4)))


def test_product_composes_rotations() -> None:
    q1 = _random_quaternions(100, 1)
    q2 = _random_quaternions(100, 2)
    v = np.random.default_rng(3).normal(size=(100, 3))
    composed = quaternion_rotate(quaternion_multiply(q1, q2), v)
    np.testing.assert_allclose(
        composed, quaternion_rotate(q1, quaternion_rotate(q2, v)), atol=1e-12
    )


def test_conjugate_is_inverse_and_single_quaternion_broadcasts() -> None:
    q = _random_quaternions(50)
    product = quaternion_multiply(q, quaternion_conjugate(q))
    np.testing.assert_allclose(product, np.tile(IDENTITY, (50, 1)), atol=1e-12)
    np.testing.assert_allclose(quaternion_multiply(IDENTITY, q), q, atol=1e-15)


def test_rotation_about_up_turns_east_into_north() -> None:
    q = quaternion_from_axis_angle([0.0, 0.0, 1.0], np.pi / 2)
    np.testing.assert_allclose(quaternion_rotate(q, [1.0, 0.0, 0.0]), [0.0, 1.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(heading_rotation(np.pi / 2), q, atol=1e-15)


def test_shape_errors_name_the_argument() -> None:
    with pytest.raises(ValueError, match=r"q2 must have shape \(4,\) or \(n, 4\)"):
        quaternion_multiply(IDENTITY, np.zeros((3, 3)))


def test_heading_and_inclination_split_like_broad() -> None:
    # error = heading rotation (30 deg about up) after a tilt (20 deg about x):
    # 2 atan|z/w| gives the heading, 2 acos sqrt(w^2 + z^2) the tilt, and the total is their
    # composition.
    heading = heading_rotation(np.deg2rad(30.0))
    tilt = quaternion_from_axis_angle([1.0, 0.0, 0.0], np.deg2rad(20.0))
    q_ref = _random_quaternions(10)
    q_est = quaternion_multiply(quaternion_multiply(heading, tilt), q_ref)
    errors = orientation_error_deg(q_est, q_ref)
    np.testing.assert_allclose(errors.heading_deg, 30.0, atol=1e-9)
    np.testing.assert_allclose(errors.inclination_deg, 20.0, atol=1e-9)
    total = 2.0 * np.degrees(np.arccos(np.cos(np.deg2rad(15.0)) * np.cos(np.deg2rad(10.0))))
    np.testing.assert_allclose(errors.total_deg, total, atol=1e-9)


def test_errors_ignore_quaternion_sign_and_keep_nan() -> None:
    q_ref = _random_quaternions(20)
    q_est = quaternion_multiply(heading_rotation(0.1), q_ref)
    q_ref_nan = q_ref.copy()
    q_ref_nan[5] = np.nan
    flipped = orientation_error_deg(-q_est, q_ref_nan)
    plain = orientation_error_deg(q_est, q_ref_nan)
    np.testing.assert_allclose(flipped.total_deg, plain.total_deg, atol=1e-9)
    assert np.isnan(plain.total_deg[5]) and np.isnan(plain.heading_deg[5])
    np.testing.assert_allclose(np.delete(plain.heading_deg, 5), np.degrees(0.1), atol=1e-9)
    np.testing.assert_allclose(np.delete(plain.inclination_deg, 5), 0.0, atol=1e-6)


def test_rmse_uses_the_mask_and_skips_nan() -> None:
    q_ref = _random_quaternions(4)
    angles = np.deg2rad([1.0, 2.0, 3.0, 50.0])
    q_est = quaternion_multiply(heading_rotation(angles), q_ref)
    q_ref[2] = np.nan
    rmse = orientation_rmse_deg(q_est, q_ref, np.array([True, True, True, False]))
    assert rmse.heading_deg == pytest.approx(np.sqrt((1.0 + 4.0) / 2.0))
    assert rmse.total_deg == pytest.approx(rmse.heading_deg)
    assert rmse.inclination_deg == pytest.approx(0.0, abs=1e-6)


def test_constant_heading_offset_is_found_and_removed() -> None:
    q_ref = _random_quaternions(200)
    tilt = quaternion_from_axis_angle([0.0, 1.0, 0.0], np.deg2rad(2.0))
    q_est = quaternion_multiply(heading_rotation(2.5), quaternion_multiply(tilt, q_ref))
    assert heading_offset_rad(q_est, q_ref) == pytest.approx(2.5, abs=1e-3)
    aligned = orientation_rmse_deg(q_est, q_ref, remove_heading_offset=True)
    raw = orientation_rmse_deg(q_est, q_ref)
    assert raw.heading_deg > 100.0
    assert aligned.heading_deg < 0.1
    assert aligned.inclination_deg == pytest.approx(raw.inclination_deg)
    assert aligned.inclination_deg == pytest.approx(2.0, abs=1e-6)


def test_rotate_heading_matches_the_full_product() -> None:
    q = _random_quaternions(1000, 7)
    angles = np.random.default_rng(8).uniform(-4.0, 4.0, size=1000)  # both series and exact
    np.testing.assert_allclose(
        rotate_heading(q, angles), quaternion_multiply(heading_rotation(angles), q), atol=1e-9
    )
    np.testing.assert_allclose(
        rotate_heading(q, 0.01), quaternion_multiply(heading_rotation(0.01), q), atol=1e-15
    )
