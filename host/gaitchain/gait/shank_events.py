"""Gait events from a shank pod, the fallback when a side has no foot pod.

The shank's sagittal angular rate (about its flexion axis, signed so that the forward swing is
positive) peaks in mid-swing; the swing ends at initial contact, the first trough after that peak,
and began at final contact, the deepest trough before it (Aminian et al. 2002; Salarian et al.
2004). Foot flat and heel off cannot be seen from the shank and are NaN.
"""

import numpy as np
from numpy.typing import NDArray
from scipy.signal import find_peaks

from ..io.recording import PodRecording
from .strides import SideEvents

FloatArray = NDArray[np.float64]


def shank_events(pod: PodRecording, sensor_to_segment: FloatArray) -> SideEvents:
    """Events of one shank pod; `sensor_to_segment` from its alignment (rows: segment axes)."""
    rate_hz = pod.rate_hz
    rate = pod.gyr_radps @ sensor_to_segment[1]
    if np.abs(rate.min()) > np.abs(rate.max()):
        rate = -rate
    swing_peak_radps = 0.5 * float(np.quantile(rate, 0.99))
    peaks, _ = find_peaks(
        rate, height=max(swing_peak_radps, 1.0), distance=max(1, round(0.6 * rate_hz))
    )
    window = round(0.45 * rate_hz)
    troughs_after: list[float] = []
    troughs_before: list[float] = []
    for peak in peaks:
        after = rate[peak : peak + window]
        minima = np.flatnonzero((after[1:-1] < after[:-2]) & (after[1:-1] <= after[2:]))
        troughs_after.append(float(pod.t_s[peak + 1 + minima[0]]) if minima.size else np.nan)
        lo = max(0, peak - window)
        troughs_before.append(float(pod.t_s[lo + int(np.argmin(rate[lo : peak + 1]))]))
    # stance k: contact after swing k, toe-off before swing k + 1
    ic = np.array(troughs_after, dtype=np.float64)
    fc = np.append(np.array(troughs_before[1:], dtype=np.float64), np.nan)
    nan = np.full_like(ic, np.nan)
    return SideEvents(ic, nan, nan, fc, pod.name)
