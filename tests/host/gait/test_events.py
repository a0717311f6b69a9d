"""Foot-pod gait events against motion capture: the gaitmap example (two feet, 204.8 Hz)."""

from pathlib import Path

import numpy as np
import pytest
from gaitchain.gait.events import FootEvents
from scipy.spatial.transform import Rotation

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "gaitmap_example"
RATE_HZ = 204.8


@pytest.fixture(scope="module")
def recording() -> tuple[np.ndarray, np.ndarray]:
    imu = DATA / "imu_sample_not_rotated.csv"
    if not imu.is_file():
        pytest.skip(f"gaitmap example data not found at {DATA} (needs ../shared/data)")
    samples = np.genfromtxt(imu, delimiter=",", skip_header=2)
    events = np.genfromtxt(
        DATA / "stride_events_sample.csv", delimiter=",", names=True, dtype=None, encoding=None
    )
    return samples, events


@pytest.mark.parametrize(("side", "columns"), [("left", slice(1, 7)), ("right", slice(7, 13))])
def test_every_reference_stride_found_with_contact_times_within_the_bars(
    recording: tuple[np.ndarray, np.ndarray], side: str, columns: slice
) -> None:
    samples, reference = recording
    data = samples[:, columns]
    found = FootEvents().detect(data[:, :3], np.radians(data[:, 3:]), sampling_rate_hz=RATE_HZ)
    strides = reference[reference["foot"] == side]
    for name, estimate, column in (
        ("initial contact", found.initial_contact_s_, "ic"),
        ("final contact", found.final_contact_s_, "tc"),
    ):
        detected = estimate[np.isfinite(estimate)]
        truth_s = strides[column] / RATE_HZ
        errors_ms = np.array([detected[np.argmin(np.abs(detected - t))] - t for t in truth_s]) * 1e3
        assert np.all(np.abs(errors_ms) < 60), f"{side} {name}: a reference stride was missed"
        assert abs(errors_ms.mean()) <= 15.0, f"{side} {name}: mean {errors_ms.mean():.1f} ms"
        assert errors_ms.std() <= 12.0, f"{side} {name}: SD {errors_ms.std():.1f} ms"


def test_how_the_pod_is_strapped_on_does_not_matter(
    recording: tuple[np.ndarray, np.ndarray],
) -> None:
    samples, _ = recording
    data = samples[:, 1:7]
    gyr = np.radians(data[:, 3:])
    upright = FootEvents().detect(data[:, :3], gyr, sampling_rate_hz=RATE_HZ)
    for seed in range(3):
        turn = Rotation.random(random_state=seed).as_matrix()
        turned = FootEvents().detect(data[:, :3] @ turn.T, gyr @ turn.T, sampling_rate_hz=RATE_HZ)
        np.testing.assert_allclose(turned.initial_contact_s_, upright.initial_contact_s_, atol=1e-9)
        np.testing.assert_allclose(turned.final_contact_s_, upright.final_contact_s_, atol=1e-9)
