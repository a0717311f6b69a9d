"""One pod's live fusion (`PodFusion`): counts to SI units, the pod's calibration record applied
before the orientation and the alignment, the segment frame once standing and walking were seen."""

import numpy as np
import pytest
from gaitchain.live.pod_fusion import PodFusion
from gaitchain.signals import G_MPS2
from gaitchain.sim.frame_truth import live_alignment_errors, six_face_record
from gaitchain.sim.imu import PodSignals, stream_chunks
from gaitchain.sim.params import ImuErrors
from gaitchain.sim.walk import SimulatedWalk, WalkConfig, simulate_walk
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def _run(fusion: PodFusion, pod: PodSignals) -> list[FloatArray]:
    accs: list[FloatArray] = []
    for chunk in stream_chunks(pod):
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
    record = six_face_record(pod, np.random.default_rng(1))
    raw = np.vstack(_run(PodFusion(pod.spec.segment), pod))
    corrected = np.vstack(_run(PodFusion(pod.spec.segment, calibration=record), pod))
    expected, _, _ = record.correct(raw, np.zeros_like(raw))
    np.testing.assert_allclose(corrected, expected, atol=1e-9)
    standing = slice(0, round(pod.spec.rate_hz))
    # calibrated, the pod at rest reads g; raw, its bias shows
    assert abs(np.linalg.norm(corrected[standing].mean(axis=0)) - G_MPS2) < 0.02
    assert not np.allclose(raw[standing].mean(axis=0), corrected[standing].mean(axis=0), atol=0.1)


def test_a_calibrated_pod_is_aligned_closer_to_its_segment(biased: SimulatedWalk) -> None:
    rng = np.random.default_rng(2)
    records = {pod.spec.name: six_face_record(pod, rng) for pod in biased.pods}
    raw = live_alignment_errors(biased)
    calibrated = live_alignment_errors(biased, records)
    # every pod aligned, raw too: 60 mg off, a pod at rest reads up to 1 m/s^2 from g
    assert all(np.isfinite([e for e, _ in raw.values()])), raw
    # 60 mg tilts a standing vertical by up to ~6 deg; the record takes that out
    assert max(e for e, _ in calibrated.values()) < 2.5, calibrated
    assert max(e for e, _ in raw.values()) > 3.0, raw
    assert sum(calibrated[n][0] < raw[n][0] for n in raw) >= 4, (raw, calibrated)
