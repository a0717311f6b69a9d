"""Gait events from a foot pod: initial contact, foot flat, heel off and final contact.

The foot's sagittal angular rate (about its flexion axis, the gyroscope's principal axis while
walking) is signed so that positive is toes down: the foot slaps down right after every heel
strike, which fixes the sign whatever way the pod was strapped on. Per stance:
- foot flat to heel off: the still stretch (angular speed and specific force steady);
- initial contact: the heel lands and stops the swing's toes-up rotation: the last rise of the
  sagittal rate through zero before foot flat (linearly interpolated between samples);
- final contact: the toes leave the floor as push-off's toes-down rotation slows: after heel off,
  the rate falls below half its push-off peak.
On the gaitmap example (two feet, motion-capture reference) these give initial contact within a
few milliseconds and final contact about 10 ms late (benchmarks/RESULTS.md).
"""

from typing import Self

import numpy as np
from numpy.typing import NDArray

from ..signals import G_MPS2, true_runs

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.intp]


def still_stretches(
    acc_mps2: FloatArray,
    gyr_radps: FloatArray,
    *,
    sampling_rate_hz: float,
    max_gyr_radps: float = 0.8,
    max_acc_dev_mps2: float = 2.0,
    min_duration_s: float = 0.05,
) -> list[tuple[int, int]]:
    """[start, end) sample ranges in which the foot is (nearly) still."""
    still = (np.linalg.norm(gyr_radps, axis=1) < max_gyr_radps) & (
        np.abs(np.linalg.norm(acc_mps2, axis=1) - G_MPS2) < max_acc_dev_mps2
    )
    minimum = max(1, round(min_duration_s * sampling_rate_hz))
    return [(a, b) for a, b in true_runs(still) if b - a >= minimum]


def sagittal_rate(
    gyr_radps: FloatArray, stances: list[tuple[int, int]], *, sampling_rate_hz: float
) -> FloatArray:
    """Angular rate about the principal axis, positive toes down (the slap before foot flat)."""
    moving = np.linalg.norm(gyr_radps, axis=1) > 1.0
    scatter = gyr_radps[moving].T @ gyr_radps[moving]
    axis = np.linalg.eigh(scatter)[1][:, -1]
    rate = gyr_radps @ axis
    before = max(1, round(0.1 * sampling_rate_hz))
    slap = sum(float(rate[max(0, a - before) : a].mean()) for a, _ in stances if a > before)
    return rate if slap >= 0 else -rate


def _fraction(a: float, b: float, level: float) -> float:
    """Where between two samples (0-1) a signal going from a to b passes `level`."""
    return float((level - a) / (b - a)) if b != a else 0.0


class FootEvents:
    """Events of one foot pod; results in seconds from the first sample: `initial_contact_s_`,
    `foot_flat_s_`, `heel_off_s_`, `final_contact_s_` (one per detected stance, NaN where an
    event could not be found, e.g. the first contact of a recording that starts standing)."""

    def __init__(self, *, ic_search_s: float = 0.25, fc_search_s: float = 0.45) -> None:
        self.ic_search_s = ic_search_s
        self.fc_search_s = fc_search_s

    def detect(
        self, acc_mps2: FloatArray, gyr_radps: FloatArray, *, sampling_rate_hz: float
    ) -> Self:
        acc = np.asarray(acc_mps2, dtype=np.float64)
        gyr = np.asarray(gyr_radps, dtype=np.float64)
        rate_hz = sampling_rate_hz
        stances = still_stretches(acc, gyr, sampling_rate_hz=rate_hz)
        rate = sagittal_rate(gyr, stances, sampling_rate_hz=rate_hz)
        ic: list[float] = []
        ff: list[float] = []
        ho: list[float] = []
        fc: list[float] = []
        ic_window = round(self.ic_search_s * rate_hz)
        fc_window = round(self.fc_search_s * rate_hz)
        for start, end in stances:
            # the swing's toes-up rotation ends where the rate last rose through zero before flat
            lo = start - ic_window
            crossings = (
                np.flatnonzero((rate[lo : start - 1] < 0) & (rate[lo + 1 : start] >= 0))
                if lo > 0
                else np.zeros(0, dtype=np.intp)
            )
            if crossings.size == 0:
                ic.append(np.nan)
            else:
                k = lo + int(crossings[-1])
                ic.append((k + _fraction(rate[k], rate[k + 1], 0.0)) / rate_hz)
            ff.append(start / rate_hz)
            ho.append(end / rate_hz)
            fc.append(self._final_contact(rate, end, fc_window) / rate_hz)
        self.initial_contact_s_ = np.asarray(ic)
        self.foot_flat_s_ = np.asarray(ff)
        self.heel_off_s_ = np.asarray(ho)
        self.final_contact_s_ = np.asarray(fc)
        return self

    @staticmethod
    def _final_contact(rate: FloatArray, heel_off: int, window: int) -> float:
        """Sample index (fractional) where push-off's toes-down rate falls below half its peak."""
        hi = min(rate.shape[0] - 1, heel_off + window)
        swing = np.flatnonzero((rate[heel_off:hi] > 0) & (rate[heel_off + 1 : hi + 1] <= 0))
        if swing.size == 0:
            return np.nan
        end = heel_off + int(swing[0]) + 1
        peak = heel_off + int(np.argmax(rate[heel_off:end]))
        level = 0.5 * float(rate[peak])
        below = np.flatnonzero(rate[peak:end] < level)
        if below.size == 0:
            return float(end)
        k = peak + int(below[0]) - 1
        return k + _fraction(float(rate[k]), float(rate[k + 1]), level)
