"""Summaries over strides: medians, left/right asymmetry, fatigue drift.

- Median per side of every numeric metric over the straight strides.
- Asymmetry: left minus right of the medians, in the metric's unit (signed: positive means the left
  value is larger), and the symmetry index 100 * (L - R) / mean(|L|, |R|) in percent
  (Robinson et al. 1987), which is left out where both medians are near zero. The index only
  means something on a ratio scale (times, lengths, speeds, cadence: `ratio_scaled`); angles and
  shares of the cycle are compared by their difference (`asymmetry_shown`).
- Fatigue drift: the least-squares slope of the metric against the step count at each stride,
  per 1,000 steps, with its 95% confidence interval (Student t on the slope's standard error);
  needs at least 10 strides.
"""

from collections.abc import Sequence
from typing import Final

import numpy as np
from scipy import stats

MIN_DRIFT_STRIDES: Final = 10
Row = dict[str, float | str | bool]


def numeric_keys(rows: Sequence[Row]) -> list[str]:
    keys: dict[str, None] = {}
    for row in rows:
        for key, value in row.items():
            if isinstance(value, float):
                keys[key] = None
    return list(keys)


def column(rows: Sequence[Row], key: str) -> np.ndarray:
    values = [row.get(key, float("nan")) for row in rows]
    return np.array([v if isinstance(v, float) else float("nan") for v in values])


def medians(rows: Sequence[Row]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key in numeric_keys(rows):
        values = column(rows, key)
        values = values[np.isfinite(values)]
        if values.size:
            out[key] = float(np.median(values))
    return out


def asymmetry(left: dict[str, float], right: dict[str, float]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for key in left.keys() & right.keys():
        a, b = left[key], right[key]
        entry = {"left_minus_right": a - b}
        scale = 0.5 * (abs(a) + abs(b))
        if scale > 1e-6:
            entry["symmetry_index_pct"] = 100.0 * (a - b) / scale
        out[key] = entry
    return dict(sorted(out.items()))


RATIO_SCALE_UNITS: Final = {"_s": "s", "_m": "m", "_mps": "m/s", "_spm": "steps/min"}
"""Suffixes of metrics with a true zero (times, lengths, speeds, cadence): the symmetry index in
percent is meaningful for them. Angles (an offset away from zero: eversion at contact near 0 deg
would give a huge index) and shares of the cycle are not."""
DIFFERENCE_UNITS: Final = {"_deg": "deg", "_pct": "% pts"}


def ratio_scaled(key: str) -> bool:
    return any(key.endswith(suffix) for suffix in RATIO_SCALE_UNITS)


def metric_unit(key: str) -> str:
    """The unit of a metric from its name's suffix ("" when the name carries none)."""
    units = RATIO_SCALE_UNITS | DIFFERENCE_UNITS
    return next((unit for suffix, unit in units.items() if key.endswith(suffix)), "")


def asymmetry_shown(key: str, entry: dict[str, float]) -> tuple[str, float, str]:
    """How to show one metric's `asymmetry` entry: ("SI", symmetry index, "%") on a ratio scale
    when the index exists, else ("L-R", left minus right, the metric's unit)."""
    if ratio_scaled(key) and "symmetry_index_pct" in entry:
        return "SI", entry["symmetry_index_pct"], "%"
    return "L-R", entry["left_minus_right"], metric_unit(key)


def drift(step_count: np.ndarray, values: np.ndarray) -> dict[str, float] | None:
    """Slope per 1,000 steps and its 95% interval, or None with too few strides."""
    ok = np.isfinite(values) & np.isfinite(step_count)
    if ok.sum() < MIN_DRIFT_STRIDES or np.ptp(step_count[ok]) == 0:
        return None
    fit = stats.linregress(step_count[ok] / 1000.0, values[ok])
    half = float(stats.t.ppf(0.975, ok.sum() - 2)) * float(fit.stderr)
    slope = float(fit.slope)
    return {
        "slope_per_1000_steps": slope,
        "ci95_low": slope - half,
        "ci95_high": slope + half,
        "strides": int(ok.sum()),
    }


def drifts(rows: Sequence[Row], step_count: np.ndarray) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for key in numeric_keys(rows):
        fit = drift(step_count, column(rows, key))
        if fit is not None:
            out[key] = fit
    return out
