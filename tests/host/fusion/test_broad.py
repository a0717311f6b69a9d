"""Orientation on real recordings: three BROAD trials with optical ground truth.

Errors as BROAD defines them (RMS over the `movement` samples, NaN ground truth skipped); VQF with
default parameters, run in the same test, is the peer. Skips when ../shared/data/broad is absent.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import vqf
from gaitchain.cli import main
from gaitchain.fusion import Mode, OrientationRmseDeg, VqfOrientation, orientation_rmse_deg
from numpy.typing import NDArray

BROAD_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "broad"
TRIALS = (
    "02_undisturbed_slow_rotation_B",
    "21_undisturbed_fast_combined",
    "30_disturbed_stationary_magnet_C",
)


@dataclass(frozen=True)
class Trial:
    name: str
    fs_hz: float
    acc_mps2: NDArray[np.float64]
    gyr_radps: NDArray[np.float64]
    mag_ut: NDArray[np.float64]
    quat_gt: NDArray[np.float64]
    movement: NDArray[np.bool_]

    def rmse(self, quat: NDArray[np.float64], *, six_d: bool = False) -> OrientationRmseDeg:
        return orientation_rmse_deg(quat, self.quat_gt, self.movement, remove_heading_offset=six_d)


@pytest.fixture(scope="module", params=TRIALS)
def trial(request: pytest.FixtureRequest) -> Trial:
    path = BROAD_DIR / f"{request.param}.npz"
    if not path.is_file():
        pytest.skip(f"BROAD trial not found at {path} (needs ../shared/data/broad beside the repo)")
    with np.load(path) as data:
        return Trial(
            request.param,
            float(data["fs"]),
            np.ascontiguousarray(data["acc"], dtype=np.float64),
            np.ascontiguousarray(data["gyr"], dtype=np.float64),
            np.ascontiguousarray(data["mag"], dtype=np.float64),
            np.asarray(data["quat_gt"], dtype=np.float64),
            np.asarray(data["movement"], dtype=np.bool_),
        )


def _vqf_online_9d(trial: Trial) -> NDArray[np.float64]:
    out = vqf.VQF(1.0 / trial.fs_hz).updateBatch(trial.gyr_radps, trial.acc_mps2, trial.mag_ut)
    return np.asarray(out["quat9D"], dtype=np.float64)


def _ours(trial: Trial, mode: Mode, *, mag: bool = True) -> VqfOrientation:
    return VqfOrientation(mode).estimate(
        trial.acc_mps2,
        trial.gyr_radps,
        trial.mag_ut if mag else None,
        sampling_rate_hz=trial.fs_hz,
    )


def test_online_is_no_worse_than_vqf(trial: Trial) -> None:
    reference = trial.rmse(_vqf_online_9d(trial))
    ours = trial.rmse(_ours(trial, "online").orientation_)
    assert ours.total_deg <= reference.total_deg
    assert ours.heading_deg <= reference.heading_deg
    # same inclination filter: the magnetometer only turns the heading
    assert ours.inclination_deg == pytest.approx(reference.inclination_deg, abs=1e-6)


def test_offline_beats_vqf_online_and_vqf_offline(trial: Trial) -> None:
    reference = trial.rmse(_vqf_online_9d(trial))
    vqf_offline = vqf.offlineVQF(trial.gyr_radps, trial.acc_mps2, trial.mag_ut, 1.0 / trial.fs_hz)
    vqf_offline_rmse = trial.rmse(np.asarray(vqf_offline["quat9D"], dtype=np.float64))
    ours = trial.rmse(_ours(trial, "offline").orientation_)
    assert ours.total_deg < reference.total_deg
    assert ours.inclination_deg < reference.inclination_deg
    assert ours.total_deg < vqf_offline_rmse.total_deg


def test_magnetometer_latency_is_about_13_ms(trial: Trial) -> None:
    online = _ours(trial, "online")
    offline = _ours(trial, "offline")
    assert online.mag_latency_s_ is not None and offline.mag_latency_s_ is not None
    assert 0.010 < offline.mag_latency_s_ < 0.016
    assert online.mag_latency_s_ == pytest.approx(offline.mag_latency_s_, abs=1e-4)


def test_six_d_inclination_and_aligned_heading(trial: Trial) -> None:
    bounds: tuple[tuple[Mode, float], ...] = (("online", 2.0), ("offline", 1.2))
    for mode, bound_deg in bounds:
        est = _ours(trial, mode, mag=False)
        assert est.mag_disturbed_ is None
        rmse = trial.rmse(est.orientation_, six_d=True)
        assert rmse.inclination_deg < bound_deg, mode
        assert rmse.total_deg < 6.0, mode  # gyroscope heading drift, one constant offset removed


def test_rest_before_the_motion_starts(trial: Trial) -> None:
    est = _ours(trial, "online")
    first_move = int(np.argmax(trial.movement))
    assert first_move > 20 * trial.fs_hz
    assert est.rest_[round(2 * trial.fs_hz) : first_move - round(trial.fs_hz)].all()
    assert est.rest_[trial.movement].mean() < 0.05


def test_orient_command_on_broad_matches_the_bar(trial: Trial, tmp_path: Path) -> None:
    """`gaitchain orient` end to end: CSV in, CSV out, scored against the optical truth."""
    source = tmp_path / "pod.csv"
    t_s = np.arange(trial.acc_mps2.shape[0]) / trial.fs_hz
    header = (
        "t_s,acc_x_mps2,acc_y_mps2,acc_z_mps2,gyr_x_radps,gyr_y_radps,gyr_z_radps,"
        "mag_x_ut,mag_y_ut,mag_z_ut"
    )
    np.savetxt(
        source,
        np.column_stack([t_s, trial.acc_mps2, trial.gyr_radps, trial.mag_ut]),
        fmt="%.9g",
        delimiter=",",
        header=header,
        comments="",
    )
    reference = trial.rmse(_vqf_online_9d(trial))
    for flags in ([], ["--offline"]):
        out = tmp_path / "orientation.csv"
        assert main(["orient", str(source), "--out", str(out), *flags]) == 0
        table = np.loadtxt(out, delimiter=",", skiprows=1)
        np.testing.assert_allclose(table[:, 0], t_s, atol=1e-6)
        ours = trial.rmse(table[:, 1:5])
        assert ours.total_deg <= reference.total_deg + 1e-6, (flags, ours, reference)
