"""`gaitchain analyze --calibration`: each pod's calibration record applied before the analysis."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gaitchain.calibration_records import (
    AccelerometerCalibration,
    GyroscopeCalibration,
    ImuCalibrationRecord,
    calibrate_recording,
    save_record,
)
from gaitchain.cli import main
from gaitchain.gait.analysis import analyze
from gaitchain.io.recording import read_recording, write_recording
from gaitchain.sim.analysis_truth import stride_errors
from gaitchain.sim.params import ImuErrors
from gaitchain.sim.walk import SimulatedWalk, WalkConfig, simulate_walk

FIRST_POD_ID = 0x0100


@dataclass
class Biased:
    walk: SimulatedWalk
    recording: Path
    records: Path


@pytest.fixture(scope="module")
def biased(tmp_path_factory: pytest.TempPathFactory) -> Biased:
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
    return Biased(walk, root / "walk", records)


def _analyze(argv: list[str], out: Path) -> dict[str, Any]:
    assert main(["analyze", *argv, "--json", str(out)]) == 0
    return json.loads(out.read_text())


TILTED_METRICS = (
    "pelvic_drop_deg",
    "hip_rotation_range_deg",
    "tibial_rotation_loading_deg",
    "eversion_at_contact_deg",
    "ankle_dorsiflexion_peak_stance_deg",
)
"""Metrics that a segment frame tilted by an accelerometer's bias moves."""


def test_calibration_records_bring_the_chain_metrics_to_the_truth(biased: Biased) -> None:
    recording = read_recording(biased.recording)
    raw = stride_errors(biased.walk, analyze(recording))
    calibrated = stride_errors(
        biased.walk, analyze(calibrate_recording(recording, biased.records)[0])
    )
    for metric in TILTED_METRICS:
        # 80 mg tilts a standing vertical by up to ~8 deg
        assert calibrated.rmse(metric) < 0.7 * raw.rmse(metric), metric
        assert calibrated.rmse(metric) < 1.0, metric


def test_analyze_applies_the_records(biased: Biased, tmp_path: Path) -> None:
    raw = _analyze([str(biased.recording)], tmp_path / "raw.json")
    calibrated = _analyze(
        [str(biased.recording), "--calibration", str(biased.records)], tmp_path / "cal.json"
    )
    assert calibrated["quality"]["dropped"] == {}
    assert calibrated["summary"]["straight_strides"]["left"] > 30
    moved = [
        abs(calibrated["summary"]["median"][side][m] - raw["summary"]["median"][side][m])
        for side in ("left", "right")
        for m in TILTED_METRICS
    ]
    assert max(moved) > 0.5, moved


def test_a_pod_without_its_record_is_refused_and_one_without_pod_id_is_named(
    biased: Biased, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    walk, records = biased.recording, biased.records
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
