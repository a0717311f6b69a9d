"""Per-stride metrics for the live view, behind one small interface the chain metrics drop into.

A *stride metrics provider* is any callable that takes the strides completed since its last call
and returns one row of named floats per stride (`StrideMetricsProvider`). The dashboard shows
every column it gets, computes left/right asymmetry for every column, and the fatigue trend for
`FATIGUE_COLUMNS` that are present. By default the dashboard's strides and their chain metrics come
from `live.chain` (the offline definitions on a rolling window); with the chain analysis switched
off (`LivePipeline(chain=False)`), `TimingMetrics` (stride time, stance time, stance share,
cadence per side) and `TraceMetrics` (ranges and peaks of the live traces over each stride) fill
the table; `combine` merges providers.
"""

import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np

from ..gait.summary import Row, asymmetry, asymmetry_shown, medians


@dataclass(frozen=True)
class Stride:
    """One completed stride of one foot: initial contact to the next initial contact (host
    seconds), with the final contact between them (NaN when it was not found). `index` counts the
    foot's strides in this session."""

    side: str
    index: int
    start_s: float
    end_s: float
    foot_off_s: float


StrideRow = dict[str, float]
StrideMetricsProvider = Callable[[Sequence[Stride]], list[StrideRow]]
FATIGUE_COLUMNS: Final = (
    "stride_time_s",
    "stance_pct",
    "peak_eversion_deg",
    "pronation_excursion_deg",
    "pelvic_drop_deg",
)


def timing_row(stride: Stride) -> StrideRow:
    stride_s = stride.end_s - stride.start_s
    stance_s = stride.foot_off_s - stride.start_s
    return {
        "stride_time_s": stride_s,
        "stance_time_s": stance_s,
        "stance_pct": 100.0 * stance_s / stride_s,
        "cadence_spm": 120.0 / stride_s,
    }


class TimingMetrics:
    """Stride time, stance time, stance share and cadence (steps/min, from this side's strides)."""

    def __call__(self, strides: Sequence[Stride]) -> list[StrideRow]:
        return [timing_row(s) for s in strides]


class TraceWindow(Protocol):
    def window(
        self, channel: str, start_s: float, end_s: float
    ) -> tuple[np.ndarray, np.ndarray]: ...


def _range(values: np.ndarray) -> float:
    return float(values.max() - values.min()) if values.size else math.nan


class TraceMetrics:
    """From the live traces (`history.window`): peak foot eversion during stance, the shank's
    rotation range over the stride, and the pelvis's obliquity and rotation ranges."""

    def __init__(self, history: TraceWindow) -> None:
        self.history = history

    def __call__(self, strides: Sequence[Stride]) -> list[StrideRow]:
        rows: list[StrideRow] = []
        for s in strides:
            stance_end = s.foot_off_s if math.isfinite(s.foot_off_s) else s.end_s
            _, eversion = self.history.window(f"{s.side}_foot_eversion_deg", s.start_s, stance_end)
            _, shank = self.history.window(f"{s.side}_shank_rotation_deg", s.start_s, s.end_s)
            _, obliquity = self.history.window("pelvis_obliquity_deg", s.start_s, s.end_s)
            _, rotation = self.history.window("pelvis_rotation_deg", s.start_s, s.end_s)
            rows.append(
                {
                    "peak_eversion_deg": float(eversion.max()) if eversion.size else math.nan,
                    "shank_rotation_range_deg": _range(shank),
                    "pelvis_obliquity_range_deg": _range(obliquity),
                    "pelvis_rotation_range_deg": _range(rotation),
                }
            )
        return rows


def combine(*providers: StrideMetricsProvider) -> StrideMetricsProvider:
    """One provider whose rows merge the rows of `providers` (later columns win on a clash)."""

    def provider(strides: Sequence[Stride]) -> list[StrideRow]:
        rows: list[StrideRow] = [{} for _ in strides]
        for p in providers:
            for row, extra in zip(rows, p(strides), strict=True):
                row.update(extra)
        return rows

    return provider


class Asymmetry:
    """Left-right asymmetry over each side's last `last_n` strides, defined as `gaitchain analyze`
    defines it (`gait.summary.asymmetry` on the per-side medians); `shown` picks, per metric,
    the symmetry index in percent (times, lengths: a ratio scale) or the left-minus-right
    difference in the metric's unit (angles, shares of the cycle), `gait.summary.asymmetry_shown`.
    """

    def __init__(self, last_n: int = 10) -> None:
        self.last_n = last_n
        self._rows: dict[str, deque[Row]] = {
            "left": deque(maxlen=last_n),
            "right": deque(maxlen=last_n),
        }

    def add(self, side: str, row: Mapping[str, float]) -> None:
        if side in self._rows:
            kept: Row = {k: float(v) for k, v in row.items()}
            self._rows[side].append(kept)

    def medians(self, side: str) -> StrideRow:
        return medians(list(self._rows[side]))

    def entries(self) -> dict[str, dict[str, float]]:
        """`gait.summary.asymmetry` of the two sides' medians (empty until both have strides)."""
        return asymmetry(self.medians("left"), self.medians("right"))

    def shown(self) -> dict[str, dict[str, float | str]]:
        """Per metric: `kind` ("SI" or "L-R"), `value` and `unit` (see the class docstring)."""
        out: dict[str, dict[str, float | str]] = {}
        for key, entry in self.entries().items():
            kind, value, unit = asymmetry_shown(key, entry)
            out[key] = {"kind": kind, "value": value, "unit": unit}
        return out


class FatigueTrend:
    """Per-side means of `FATIGUE_COLUMNS` in bins of session time; bounded: when there are more
    than `max_bins`, neighbouring bins are merged and the bin width doubles."""

    def __init__(self, bin_s: float = 30.0, max_bins: int = 120) -> None:
        self.bin_s = bin_s
        self.max_bins = max_bins
        self._sums: dict[tuple[str, str], list[float]] = {}
        self._counts: dict[tuple[str, str], list[int]] = {}

    def add(self, side: str, t_s: float, row: StrideRow) -> None:
        index = max(0, int(t_s // self.bin_s))
        while index >= self.max_bins:
            self._halve()
            index = int(t_s // self.bin_s)
        for column in FATIGUE_COLUMNS:
            value = row.get(column, math.nan)
            if not math.isfinite(value):
                continue
            sums = self._sums.setdefault((side, column), [])
            counts = self._counts.setdefault((side, column), [])
            while len(sums) <= index:
                sums.append(0.0)
                counts.append(0)
            sums[index] += value
            counts[index] += 1

    def _halve(self) -> None:
        for key, sums in self._sums.items():
            counts = self._counts[key]
            self._sums[key] = [sum(sums[i : i + 2]) for i in range(0, len(sums), 2)]
            self._counts[key] = [sum(counts[i : i + 2]) for i in range(0, len(counts), 2)]
        self.bin_s *= 2

    def series(self) -> dict[str, tuple[list[float], list[float]]]:
        """`{side}_{column}` -> (bin centres in minutes, means), bins without strides left out."""
        out: dict[str, tuple[list[float], list[float]]] = {}
        for (side, column), sums in self._sums.items():
            counts = self._counts[(side, column)]
            centres = [(i + 0.5) * self.bin_s / 60.0 for i, c in enumerate(counts) if c]
            means = [s / c for s, c in zip(sums, counts, strict=True) if c]
            out[f"{side}_{column}"] = (centres, means)
        return out
