"""One pod's live fusion: counts to SI units, a streaming orientation, and the segment frame.

`PodFusion.add(chunk)` takes the in-order `SampleChunk`s of one pod; with the pod's calibration
record (`gaitchain calibrate imu`) the readings are corrected by it before anything else, as
`gaitchain analyze --calibration` corrects a recording. Orientation comes from VQF's
streaming filter (6D: gravity-referenced inclination, arbitrary heading), carried across chunks so
it is sample for sample what `VqfOrientation` in online mode gives on the whole stream. The
sensor-to-segment alignment (`SegmentAlignment`) needs quiet standing followed by walking: the
first `align_buffer_s` of samples are kept and the alignment is tried every `align_retry_s` once
`min_walking_s` could have been walked; once it succeeds the buffer is dropped and every sample
from then on comes out as a segment orientation (segment frame -> the pod's own earth frame).
"""

from dataclasses import dataclass
from typing import Final

import numpy as np
import vqf
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from ..calibration_records import ImuCalibrationRecord
from ..fusion.alignment import AlignmentError, SegmentAlignment
from ..stream import SampleChunk

FloatArray = NDArray[np.float64]
FUSED_SEGMENTS: Final = ("pelvis", "thigh", "shank", "foot")


@dataclass(frozen=True)
class FusedSamples:
    """Samples of one pod after fusion: host times, SI readings, the 6D orientation (w,x,y,z
    sensor -> the pod's earth frame) and (once aligned) the segment orientation, segment frame ->
    the pod's earth frame (None before the alignment)."""

    t_s: FloatArray
    acc_mps2: FloatArray
    gyr_radps: FloatArray
    segment_to_earth: Rotation | None
    quat_wxyz: FloatArray


class PodFusion:
    """Live fusion of one pod worn on `segment`, corrected by `calibration` when given (see the
    module docstring)."""

    def __init__(
        self,
        segment: str,
        *,
        calibration: ImuCalibrationRecord | None = None,
        min_standing_s: float = 2.0,
        min_walking_s: float = 8.0,
        align_retry_s: float = 2.0,
        align_buffer_s: float = 90.0,
    ) -> None:
        if segment not in FUSED_SEGMENTS:
            raise ValueError(f"segment {segment!r} is not one of {', '.join(FUSED_SEGMENTS)}")
        self.segment = segment
        self.calibration = calibration
        self.min_standing_s = min_standing_s
        self.min_walking_s = min_walking_s
        self.align_retry_s = align_retry_s
        self.align_buffer_s = align_buffer_s
        self.rate_hz: float | None = None
        self.sensor_to_segment: FloatArray | None = None
        self._segment_to_sensor: Rotation | None = None
        self.alignment_quality = float("nan")
        self.alignment_note = "waiting for standing, then walking"
        self._filter: vqf.VQF | None = None
        self._acc: list[FloatArray] = []
        self._gyr: list[FloatArray] = []
        self._buffered = 0
        self._next_try = 0

    @property
    def aligned(self) -> bool:
        return self.sensor_to_segment is not None

    def add(self, chunk: SampleChunk) -> FusedSamples | None:
        """Fuse one chunk; None when the pod's stream config (scales, rate) is not known yet."""
        config = chunk.config
        if config is None:
            return None
        if self._filter is None or self.rate_hz != config.rate_hz:
            self.rate_hz = float(config.rate_hz)
            self._filter = vqf.VQF(1.0 / self.rate_hz)
        acc = chunk.acc_counts.astype(np.float64) * config.acc_scale_mps2_per_lsb
        gyr = chunk.gyr_counts.astype(np.float64) * config.gyr_scale_radps_per_lsb
        if self.calibration is not None:
            acc, gyr, _ = self.calibration.correct(acc, gyr)
        out = self._filter.updateBatch(np.ascontiguousarray(gyr), np.ascontiguousarray(acc))
        quat = np.asarray(out["quat6D"], dtype=np.float64)
        if self.sensor_to_segment is None:
            self._collect(acc, gyr)
        segment_to_earth = None
        if self._segment_to_sensor is not None:
            sensor_to_earth = Rotation.from_quat(quat, scalar_first=True)
            segment_to_earth = sensor_to_earth * self._segment_to_sensor
        return FusedSamples(chunk.t_host_s, acc, gyr, segment_to_earth, quat)

    def _collect(self, acc: FloatArray, gyr: FloatArray) -> None:
        rate = self.rate_hz or 1.0
        if self._buffered >= self.align_buffer_s * rate:
            return
        self._acc.append(acc)
        self._gyr.append(gyr)
        self._buffered += acc.shape[0]
        if self._buffered < self._next_try:
            return
        self._next_try = self._buffered + round(self.align_retry_s * rate)
        if self._buffered < (self.min_standing_s + self.min_walking_s) * rate:
            return
        try:
            alignment = SegmentAlignment(
                self.segment, min_standing_s=self.min_standing_s, min_walking_s=self.min_walking_s
            ).estimate(np.vstack(self._acc), np.vstack(self._gyr), sampling_rate_hz=rate)
        except AlignmentError as error:
            self.alignment_note = str(error)
            if self._buffered >= self.align_buffer_s * rate:
                self.alignment_note = f"gave up after {self.align_buffer_s:g} s: {error}"
            return
        self.sensor_to_segment = alignment.sensor_to_segment_
        self._segment_to_sensor = Rotation.from_matrix(alignment.sensor_to_segment_.T)
        self.alignment_quality = alignment.quality_
        self.alignment_note = f"aligned (quality {alignment.quality_:.2f})"
        self._acc.clear()
        self._gyr.clear()
