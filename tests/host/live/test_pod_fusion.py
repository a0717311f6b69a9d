"""One pod's live fusion (`PodFusion`): counts to SI units, the pod's calibration record applied
before the orientation and the alignment, the segment frame once standing and walking were seen."""

import numpy as np
import pytest
from gaitchain.calibration_records import (
    AccelerometerCalibration,
    GyroscopeCalibration,
    ImuCalibrationRecord,
)
from gaitchain.live.pod_fusion import PodFusion
from gaitchain.protocol import SampleFlags, StreamConfig
from gaitchain.signals import G_MPS2
from gaitchain.sim.frame_truth import rotation_angle_deg, true_sensor_to_segment
from gaitchain.sim.imu import PodSignals
from gaitchain.sim.params import ImuErrors
from gaitchain.sim.walk import SimulatedWalk, WalkConfig, simulate_walk
from gaitchain.stream import SampleChunk
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
ACC_SCALE = 16 * G_MPS2 / 32768
GYR_SCALE = np.radians(2000.0) / 32768
BATCH = 18


def _chunks(acc_mps2: FloatArray, gyr_radps: FloatArray, rate_hz: int) -> list[SampleChunk]:
    """The readings as the stream layer hands them over: counts in batches, with the pod's
    stream config."""
    config = StreamConfig(1, 0, rate_hz, ACC_SCALE, GYR_SCALE, 0.0, SampleFlags.NONE, BATCH)
    acc = np.round(acc_mps2 / ACC_SCALE).astype(np.int16)
    gyr = np.round(gyr_radps / GYR_SCALE).astype(np.int16)
    chunks: list[SampleChunk] = []
    for seq, start in enumerate(range(0, acc.shape[0], BATCH)):
        end = min(start + BATCH, acc.shape[0])
        t_s = np.arange(start, end, dtype=np.float64) / rate_hz
        batch = (acc[start:end], gyr[start:end], None, None, SampleFlags.NONE, config, 0)
        chunks.append(SampleChunk(1, 0, seq, t_s * 1e6, t_s, *batch))
    return chunks


def _record(pod: PodSignals) -> ImuCalibrationRecord:
    """The record that undoes this simulated pod's accelerometer and gyroscope errors."""
    accelerometer = AccelerometerCalibration(
        "six-position",
        pod.acc_bias_mps2[0],
        np.asarray(np.linalg.inv(pod.acc_matrix), dtype=np.float64),
        G_MPS2,
        6,
        0.001,
        {},
    )
    gyroscope = GyroscopeCalibration(pod.gyr_bias_radps[0], 10.0, {})
    return ImuCalibrationRecord(
        1, "2026-11-24T00:00:00Z", "0.1.0", gyroscope, accelerometer, None, []
    )


def _run(fusion: PodFusion, pod: PodSignals) -> list[FloatArray]:
    rate_hz = round(pod.spec.rate_hz)
    accs: list[FloatArray] = []
    for chunk in _chunks(pod.acc_mps2, pod.gyr_radps, rate_hz):
        fused = fusion.add(chunk)
        assert fused is not None
        accs.append(fused.acc_mps2)
    return accs


@pytest.fixture(scope="module")
def biased() -> SimulatedWalk:
    """A 1-minute walk (standing, then walking) whose accelerometers are 60 mg off."""
    return simulate_walk(WalkConfig(minutes=1, seed=31, errors=ImuErrors(acc_bias_mg=60)))


def test_readings_are_corrected_by_the_record_before_fusion(biased: SimulatedWalk) -> None:
    pod = biased.pods[0]
    record = _record(pod)
    raw = np.vstack(_run(PodFusion(pod.spec.segment), pod))
    corrected = np.vstack(_run(PodFusion(pod.spec.segment, calibration=record), pod))
    expected, _, _ = record.correct(raw, np.zeros_like(raw))
    np.testing.assert_allclose(corrected, expected, atol=1e-9)
    standing = slice(0, round(pod.spec.rate_hz))
    # calibrated, the pod at rest reads g; raw, its bias shows
    assert abs(np.linalg.norm(corrected[standing].mean(axis=0)) - G_MPS2) < 0.02
    assert not np.allclose(raw[standing].mean(axis=0), corrected[standing].mean(axis=0), atol=0.1)


def test_a_calibrated_pod_is_aligned_closer_to_its_segment(biased: SimulatedWalk) -> None:
    errors: dict[str, tuple[float, float]] = {}
    for pod in biased.pods:
        truth = true_sensor_to_segment(biased.body, pod)
        found: list[float] = []
        for calibration in (None, _record(pod)):
            fusion = PodFusion(pod.spec.segment, calibration=calibration)
            _run(fusion, pod)
            assert fusion.sensor_to_segment is not None, (pod.spec.name, fusion.alignment_note)
            found.append(rotation_angle_deg(fusion.sensor_to_segment, truth))
        errors[pod.spec.name] = (found[0], found[1])
    # 60 mg tilts a standing vertical by up to ~6 deg; the record takes that out
    assert max(e[1] for e in errors.values()) < 2.5, errors
    assert max(e[0] for e in errors.values()) > 3.0, errors
    assert sum(e[1] < e[0] for e in errors.values()) >= 4, errors
