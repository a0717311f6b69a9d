"""Gait events from a foot pod: initial contact, foot flat, heel off and final contact.

The foot's sagittal angular rate (about its flexion axis, the gyroscope's principal axis while
walking) is signed so that positive is toes down: the foot slaps down right after every heel
strike, which fixes the sign whatever way the pod was strapped on. Per stance:
- foot flat: the start of the still stretch (angular speed and specific force steady);
- heel off: push-off's toes-down rotation sets in: the last rise of the sagittal rate through
  `HEEL_OFF_RADPS` before it first passes `PUSH_OFF_RADPS` after mid-stance (the still
  stretch's middle). The still stretch itself ends wherever the foot turns about any axis: a
  foot that twists in late stance (a hip short of rotation) would read as lifting its heel
  about a sixth of stance early;
- initial contact: the heel lands and stops the swing's toes-up rotation: the last rise of the
  sagittal rate through zero before the slap, the toes-down peak before foot flat (linearly
  interpolated between samples);
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
PUSH_OFF_RADPS = 1.0
"""Toes-down rate that marks push-off under way (a still foot's rate only wanders around 0)."""
HEEL_OFF_RADPS = 0.3
"""Toes-down rate that marks the heel leaving the floor (about 3 % of stance after it does)."""


def still_stretches(
    acc_mps2: FloatArray,
    gyr_radps: FloatArray,
    *,
    sampling_rate_hz: float,
    max_gyr_radps: float = 0.8,
    max_acc_dev_mps2: float = 2.0,
    min_duration_s: float = 0.05,
    min_swing_s: float = 0.2,
) -> list[tuple[int, int]]:
    """[start, end) sample ranges in which the foot is (nearly) still."""
    still = (np.linalg.norm(gyr_radps, axis=1) < max_gyr_radps) & (
        np.abs(np.linalg.norm(acc_mps2, axis=1) - G_MPS2) < max_acc_dev_mps2
    )
    minimum = max(1, round(min_duration_s * sampling_rate_hz))
    runs = [(a, b) for a, b in true_runs(still) if b - a >= minimum]
    # a foot that pronates fast in loading response can break its stance in two; no swing is
    # that short
    gap = round(min_swing_s * sampling_rate_hz)
    merged: list[tuple[int, int]] = []
    for a, b in runs:
        if merged and a - merged[-1][1] < gap:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def sagittal_rate(
    gyr_radps: FloatArray, stances: list[tuple[int, int]], *, sampling_rate_hz: float
) -> FloatArray:
    """Angular rate about the principal axis, positive toes down: push-off, the heel rising right
    after every still stance, is a long strong toes-down rotation. (The slap before foot flat is
    too: but when the foot pronates fast in loading response the still stretch starts late and
    the slap falls outside any short window before it.)"""
    moving = np.linalg.norm(gyr_radps, axis=1) > 1.0
    scatter = gyr_radps[moving].T @ gyr_radps[moving]
    axis = np.linalg.eigh(scatter)[1][:, -1]
    rate = gyr_radps @ axis
    after = max(1, round(0.15 * sampling_rate_hz))
    push_off = sum(float(rate[b : b + after].mean()) for _, b in stances if b + after <= rate.size)
    return rate if push_off >= 0 else -rate


def _fraction(a: float, b: float, level: float) -> float:
    """Where between two samples (0-1) a signal going from a to b passes `level`."""
    return float((level - a) / (b - a)) if b != a else 0.0


class FootEvents:
    """Events of one foot pod; results in seconds from the first sample: `initial_contact_s_`,
    `foot_flat_s_`, `heel_off_s_`, `final_contact_s_` (one per detected stance, NaN where an
    event could not be found, e.g. the first contact of a recording that starts standing)."""

    def __init__(self, *, ic_search_s: float = 0.4, fc_search_s: float = 0.45) -> None:
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
            ic.append(self._initial_contact(rate, start, ic_window) / rate_hz)
            ff.append(start / rate_hz)
            ho.append(self._heel_off(rate, (start + end) // 2, end + fc_window) / rate_hz)
            fc.append(self._final_contact(rate, end, fc_window) / rate_hz)
        self.initial_contact_s_ = np.asarray(ic)
        self.foot_flat_s_ = np.asarray(ff)
        self.heel_off_s_ = np.asarray(ho)
        self.final_contact_s_ = np.asarray(fc)
        return self

    @staticmethod
    def _initial_contact(rate: FloatArray, foot_flat: int, window: int) -> float:
        """Sample index (fractional) where the swing's toes-up rotation ended: the last rise of
        the rate through zero before the slap (the toes-down peak before foot flat)."""
        lo = foot_flat - window
        if lo <= 0:
            return np.nan
        slap = lo + int(np.argmax(rate[lo:foot_flat]))
        crossings = np.flatnonzero((rate[lo : slap - 1] < 0) & (rate[lo + 1 : slap] >= 0))
        if rate[slap] <= 0 or crossings.size == 0:
            return np.nan
        k = lo + int(crossings[-1])
        return k + _fraction(float(rate[k]), float(rate[k + 1]), 0.0)

    @staticmethod
    def _heel_off(rate: FloatArray, mid_stance: int, limit: int) -> float:
        """Sample index (fractional) where the rate last rises through `HEEL_OFF_RADPS` before
        it first passes `PUSH_OFF_RADPS` after `mid_stance`."""
        hi = min(rate.shape[0], limit)
        started = np.flatnonzero(rate[mid_stance:hi] > PUSH_OFF_RADPS)
        if started.size == 0:
            return np.nan
        push = mid_stance + int(started[0])
        below = np.flatnonzero(rate[mid_stance:push] < HEEL_OFF_RADPS)
        if below.size == 0:
            return np.nan
        k = mid_stance + int(below[-1])
        return k + _fraction(float(rate[k]), float(rate[k + 1]), HEEL_OFF_RADPS)

    @staticmethod
    def _final_contact(rate: FloatArray, heel_off: int, window: int) -> float:
        """Sample index (fractional) where push-off's toes-down rate falls below half its peak."""
        hi = min(rate.shape[0] - 1, heel_off + window)
        started = np.flatnonzero(rate[heel_off:hi] > PUSH_OFF_RADPS)
        if started.size == 0:
            return np.nan
        first = heel_off + int(started[0])
        swing = np.flatnonzero((rate[first:hi] > 0) & (rate[first + 1 : hi + 1] <= 0))
        if swing.size == 0:
            return np.nan
        end = first + int(swing[0]) + 1
        peak = heel_off + int(np.argmax(rate[heel_off:end]))
        level = 0.5 * float(rate[peak])
        below = np.flatnonzero(rate[peak:end] < level)
        if below.size == 0:
            return float(end)
        k = peak + int(below[0]) - 1
        return k + _fraction(float(rate[k]), float(rate[k + 1]), level)
