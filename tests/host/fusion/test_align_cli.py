"""`gaitchain align` and `gaitchain orient --calibration`, through the real entry point."""

from pathlib import Path

import numpy as np
import pytest
from gaitchain.calibration_records import (
    AccelerometerCalibration,
    GyroscopeCalibration,
    ImuCalibrationRecord,
    save_record,
)
from gaitchain.cli import main
from gaitchain.sim.walk import WalkConfig, simulate_walk, write_walk


@pytest.fixture(scope="module")
def walk_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("walk")
    write_walk(simulate_walk(WalkConfig(minutes=1, seed=12)), out)
    return out


def test_align_prints_every_pod_with_its_quality(
    walk_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["align", str(walk_dir)]) == 0
    out = capsys.readouterr().out
    for name in ("pelvis", "left_shank", "right_shank", "left_foot", "right_foot"):
        assert f"{name}: quality" in out


def test_orient_applies_a_calibration_record(walk_dir: Path, tmp_path: Path) -> None:
    bias = np.array([0.02, -0.01, 0.015])
    record = ImuCalibrationRecord(
        0x0102,
        "2026-11-23T20:00:00Z",
        "0.1.0",
        GyroscopeCalibration(bias, 10.0, {}),
        AccelerometerCalibration("six-position", np.zeros(3), np.eye(3), 9.80665, 6, 0.001, {}),
        None,
        [],
        {},
    )
    path = save_record(record, tmp_path)
    plain, calibrated = tmp_path / "plain.csv", tmp_path / "calibrated.csv"
    pod_csv = str(walk_dir / "left_foot.csv")
    assert main(["orient", pod_csv, "--out", str(plain)]) == 0
    assert main(["orient", pod_csv, "--out", str(calibrated), "--calibration", str(path)]) == 0
    a = np.loadtxt(plain, delimiter=",", skiprows=1)
    b = np.loadtxt(calibrated, delimiter=",", skiprows=1)
    assert a.shape == b.shape
    assert np.abs(a[:, 1:] - b[:, 1:]).max() > 1e-4, "the gyro bias correction changes the result"
