"""Daily step and load report of one client from the step store.

Load is impact-weighted: each step counts its impact peak in g, so a day of hard heel strikes
weighs more than the same number of soft ones (the sum of peak accelerations is a common
proxy for cumulative loading in wearable running studies; it is a proxy, not a force).
"The first steps after long rest" are the first `first_steps` steps after a pause of at least
`rest_gap_min` minutes (the first steps of the morning, after a long sit): plantar heel pain is
typically worst there, so the report gives their impact and stance next to the day's.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import numpy as np

from .store import ClientSteps

MS_PER_DAY = 86_400_000


@dataclass(frozen=True)
class DayLoad:
    day: date
    steps_left: int
    steps_right: int
    steps_other: int
    load_left_g: float
    load_right_g: float
    load_other_g: float
    mean_impact_g: float
    mean_stance_ms: float
    after_rest_bouts: int
    after_rest_impact_g: float
    """Mean impact of the first steps after long rests that day (NaN when there were none)."""
    after_rest_stance_ms: float

    @property
    def steps(self) -> int:
        return self.steps_left + self.steps_right + self.steps_other

    @property
    def load_g(self) -> float:
        return self.load_left_g + self.load_right_g + self.load_other_g

    @property
    def left_share(self) -> float:
        """Left steps / (left + right), NaN without both sides."""
        both = self.steps_left + self.steps_right
        return self.steps_left / both if self.steps_left and self.steps_right else float("nan")

    @property
    def left_load_share(self) -> float:
        both = self.load_left_g + self.load_right_g
        return self.load_left_g / both if self.steps_left and self.steps_right else float("nan")


@dataclass
class DailyLoad:
    """Per-day steps, load, balance and first steps after rest; `compute` fills `days_`."""

    rest_gap_min: float = 120.0
    first_steps: int = 30
    days_: list[DayLoad] = field(default_factory=list[DayLoad])

    def compute(self, steps: ClientSteps, first_day: date, days: int, tz: timezone) -> "DailyLoad":
        if days < 1:
            raise ValueError(f"days = {days}; give 1 or more")
        start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=tz)
        start_ms = int(start.timestamp() * 1000)
        after_rest = _after_rest(steps.t_unix_ms, self.rest_gap_min * 60_000, self.first_steps)
        self.days_ = []
        for k in range(days):
            lo, hi = start_ms + k * MS_PER_DAY, start_ms + (k + 1) * MS_PER_DAY
            inside = (steps.t_unix_ms >= lo) & (steps.t_unix_ms < hi)
            left = inside & (steps.side == "left")
            right = inside & (steps.side == "right")
            other = inside & ~left & ~right
            rest = inside & after_rest
            self.days_.append(
                DayLoad(
                    first_day + timedelta(days=k),
                    int(left.sum()),
                    int(right.sum()),
                    int(other.sum()),
                    float(steps.impact_g[left].sum()),
                    float(steps.impact_g[right].sum()),
                    float(steps.impact_g[other].sum()),
                    _mean(steps.impact_g[inside]),
                    _mean(steps.stance_ms[inside]),
                    int(_bout_starts(steps.t_unix_ms, self.rest_gap_min * 60_000)[inside].sum()),
                    _mean(steps.impact_g[rest]),
                    _mean(steps.stance_ms[rest]),
                )
            )
        return self


def _mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")


def _bout_starts(t_ms: np.ndarray, gap_ms: float) -> np.ndarray:
    """True at each step that follows a pause of at least `gap_ms` (and at the first step)."""
    starts = np.ones(t_ms.shape, dtype=bool)
    starts[1:] = np.diff(t_ms) >= gap_ms
    return starts


def _after_rest(t_ms: np.ndarray, gap_ms: float, first_steps: int) -> np.ndarray:
    """True for the first `first_steps` steps after each long pause."""
    out = np.zeros(t_ms.shape, dtype=bool)
    for start in np.flatnonzero(_bout_starts(t_ms, gap_ms)):
        out[start : start + first_steps] = True
    return out


def format_report(report: DailyLoad, client: str) -> str:
    lines = [
        f"{client}: steps and load per day (load = sum of impact peaks, in g)",
        "day         steps   left  right    load_g  impact_g  stance_ms  L/R steps  "
        "after-rest impact_g  stance_ms",
    ]
    for d in report.days_:
        share = (
            "-"
            if np.isnan(d.left_share)
            else f"{100 * d.left_share:.0f}/{100 - 100 * d.left_share:.0f}"
        )
        rest_impact = "-" if np.isnan(d.after_rest_impact_g) else f"{d.after_rest_impact_g:.2f}"
        rest_stance = "-" if np.isnan(d.after_rest_stance_ms) else f"{d.after_rest_stance_ms:.0f}"
        impact = "-" if np.isnan(d.mean_impact_g) else f"{d.mean_impact_g:.2f}"
        stance = "-" if np.isnan(d.mean_stance_ms) else f"{d.mean_stance_ms:.0f}"
        lines.append(
            f"{d.day.isoformat()}  {d.steps:6d} {d.steps_left:6d} {d.steps_right:6d} "
            f"{d.load_g:9.0f}  {impact:>8}  {stance:>9}  {share:>9}  "
            f"{rest_impact:>19}  {rest_stance:>9}"
        )
    return "\n".join(lines)
