"""`gaitchain analyze --calibration`: each pod's calibration record applied before the analysis."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gaitchain.calibration_records import (
    AccelerometerCalibration,
    GyroscopeCalibration,
    ImuCalibrationRecord,
    save_record,
)
from gaitchain.cli import main
from gaitchain.io.recording import write_recording
from gaitchain.sim.params import ImuErrors
from gaitchain.sim.walk import WalkConfig, simulate_walk

FIRST_POD_ID = 0x0100


@pytest.fixture(scope="module")
def biased(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A walk whose accelerometers are 80 mg off (a pod never calibrated, or knocked), written
    with each pod's pod_id, and the calibration records that correct them."""
    root = tmp_path_factory.mktemp("biased")
    walk = simulate_walk(WalkConfig(minutes=2, seed=26, errors=ImuErrors(acc_bias_mg=80)))
    recording = walk.recording()
    records = root / "calibration"
    for k, (pod, signals) in enumerate(zip(recording.pods, walk.pods, strict=True)):
        pod.extra["pod_id"] = FIRST_POD_ID + k
        accelerometer = AccelerometerCalibration(
            "six-position",
            signals.acc_bias_mps2[0],
            np.asarray(np.linalg.inv(signals.acc_matrix), dtype=np.float64),
            9.80665,
            6,
            0.001,
            {},
        )
        gyroscope = GyroscopeCalibration(np.zeros(3), 10.0, {})
        record = ImuCalibrationRecord(
            FIRST_POD_ID + k, "2026-11-24T00:00:00Z", "0.1.0", gyroscope, accelerometer, None, []
        )
        save_record(record, records)
    write_recording(root / "walk", recording)
    return root / "walk", records


def _analyze(argv: list[str], out: Path) -> dict[str, Any]:
    assert main(["analyze", *argv, "--json", str(out)]) == 0
    return json.loads(out.read_text())


def test_calibration_records_let_every_pod_be_aligned(
    biased: tuple[Path, Path], tmp_path: Path
) -> None:
    walk, records = biased
    raw = _analyze([str(walk)], tmp_path / "raw.json")
    dropped = raw["quality"]["dropped"]
    # 80 mg off, no stretch of most pods looks like quiet standing: they cannot be aligned
    assert len(dropped) >= 3, dropped
    calibrated = _analyze([str(walk), "--calibration", str(records)], tmp_path / "cal.json")
    assert calibrated["quality"]["dropped"] == {}
    assert calibrated["summary"]["straight_strides"]["left"] > 30


def test_a_pod_without_its_record_is_refused_and_one_without_pod_id_is_named(
    biased: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    walk, records = biased
    partial = tmp_path / "partial"
    partial.mkdir()
    for path in sorted(records.glob("pod-*.json"))[1:]:
        (partial / path.name).write_text(path.read_text())
    with pytest.raises(SystemExit) as stopped:
        main(["analyze", str(walk), "--calibration", str(partial), "--json", str(tmp_path / "a")])
    assert stopped.value.code == 2
    assert "no calibration record for pod 0x0100" in capsys.readouterr().err
    index = json.loads((walk / "recording.json").read_text())
    del index["pods"][0]["pod_id"]
    index["pods"][1]["pod_id"] = f"0x{index['pods'][1]['pod_id']:04x}"  # as a person types it
    unnamed = tmp_path / "unnamed"
    unnamed.mkdir()
    for path in walk.iterdir():
        (unnamed / path.name).write_text(path.read_text())
    (unnamed / "recording.json").write_text(json.dumps(index))
    _analyze([str(unnamed), "--calibration", str(partial)], tmp_path / "b.json")
    assert "pelvis: no pod_id in the recording, so not calibrated" in capsys.readouterr().out
    index["pods"][1]["pod_id"] = "pod two"
    (unnamed / "recording.json").write_text(json.dumps(index))
    with pytest.raises(SystemExit):
        main(["analyze", str(unnamed), "--calibration", str(partial), "--json", str(tmp_path)])
    assert "pod id 'pod two' is not" in capsys.readouterr().err
