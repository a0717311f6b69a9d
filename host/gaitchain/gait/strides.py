"""Strides per side from gait events, their timing, and straight-walking bouts.

A stride of one side runs from an initial contact to the next one of the same side; it is kept
when its final contact lies between the two and its duration is plausible for walking. Temporal
measures per stride (definitions as in Perry & Burnfield 2010):
- stride, stance (initial to final contact), swing (final contact to the next initial contact);
- double support: initial (until the other foot's final contact) plus terminal (from the other
  foot's initial contact to this foot's final contact);
- cadence in steps per minute (two steps per stride);
- heel off as a share of stance (initial contact to heel off over initial to final contact): an
  ankle that lacks dorsiflexion lifts the heel early (Perry & Burnfield 2010).
A stride is `straight` when the walking direction turns less than `max_turn_deg` over it; turns,
starts and stops fall out of the summary this way, and standing gives no strides at all.
"""

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from ..io.recording import PodRecording
from .events import FootEvents

FloatArray = NDArray[np.float64]
MIN_STRIDE_S: Final = 0.6
MAX_STRIDE_S: Final = 2.5


@dataclass(frozen=True)
class SideEvents:
    """Event times of one side on the recording's time base (NaN where not found); one entry per
    stance. `source` names the pod they came from."""

    initial_contact_s: FloatArray
    foot_flat_s: FloatArray
    heel_off_s: FloatArray
    final_contact_s: FloatArray
    source: str


def foot_events(pod: PodRecording) -> SideEvents:
    """Events of a foot pod, mapped from sample indices to the recording's time base."""
    rate_hz = pod.rate_hz
    detector = FootEvents().detect(pod.acc_mps2, pod.gyr_radps, sampling_rate_hz=rate_hz)
    index = np.arange(pod.t_s.shape[0], dtype=np.float64)

    def on_time_base(seconds: FloatArray) -> FloatArray:
        out = np.interp(seconds * rate_hz, index, pod.t_s)
        return np.where(np.isfinite(seconds), out, np.nan)

    return SideEvents(
        on_time_base(detector.initial_contact_s_),
        on_time_base(detector.foot_flat_s_),
        on_time_base(detector.heel_off_s_),
        on_time_base(detector.final_contact_s_),
        pod.name,
    )


@dataclass(frozen=True)
class Stride:
    """One stride of `side`: its events (s), index `number` among the side's strides and
    `stance` index into the side's `SideEvents` (the next stance is `stance + 1`)."""

    side: str
    number: int
    stance: int
    initial_contact_s: float
    foot_flat_s: float
    heel_off_s: float
    final_contact_s: float
    next_initial_contact_s: float

    @property
    def stride_time_s(self) -> float:
        return self.next_initial_contact_s - self.initial_contact_s

    @property
    def stance_time_s(self) -> float:
        return self.final_contact_s - self.initial_contact_s


def strides_of(side: str, events: SideEvents) -> list[Stride]:
    """The valid strides of one side (see the module docstring)."""
    ic = events.initial_contact_s
    out: list[Stride] = []
    for k in range(ic.shape[0] - 1):
        start, end = float(ic[k]), float(ic[k + 1])
        fc = float(events.final_contact_s[k])
        if not (np.isfinite(start) and np.isfinite(end) and np.isfinite(fc)):
            continue
        if not (MIN_STRIDE_S <= end - start <= MAX_STRIDE_S and start < fc < end):
            continue
        out.append(
            Stride(
                side,
                len(out),
                k,
                start,
                float(events.foot_flat_s[k]),
                float(events.heel_off_s[k]),
                fc,
                end,
            )
        )
    return out


def _first_between(times: FloatArray, start: float, end: float) -> float:
    inside = times[(times > start) & (times < end)]
    return float(inside[0]) if inside.size else float("nan")


def _last_between(times: FloatArray, start: float, end: float) -> float:
    inside = times[(times > start) & (times < end)]
    return float(inside[-1]) if inside.size else float("nan")


def heel_off_stance_pct(stride: Stride) -> float:
    """Heel off in % of stance; NaN where heel off was not found inside the stance."""
    stance_s = stride.stance_time_s
    after_s = stride.heel_off_s - stride.initial_contact_s
    if not (np.isfinite(after_s) and 0.0 < after_s < stance_s):
        return float("nan")
    return 100.0 * after_s / stance_s


def temporal_metrics(stride: Stride, other: SideEvents | None) -> dict[str, float]:
    """Timing of one stride; double support needs the other side's events."""
    stride_s = stride.stride_time_s
    out = {
        "stride_time_s": stride_s,
        "stance_time_s": stride.stance_time_s,
        "swing_time_s": stride.next_initial_contact_s - stride.final_contact_s,
        "stance_pct": 100.0 * stride.stance_time_s / stride_s,
        "cadence_spm": 120.0 / stride_s,
        "heel_off_stance_pct": heel_off_stance_pct(stride),
        "double_support_time_s": float("nan"),
    }
    if other is not None:
        other_fc = _first_between(
            other.final_contact_s, stride.initial_contact_s, stride.final_contact_s
        )
        other_ic = _last_between(
            other.initial_contact_s, stride.initial_contact_s, stride.final_contact_s
        )
        initial = other_fc - stride.initial_contact_s
        terminal = stride.final_contact_s - other_ic
        out["double_support_time_s"] = initial + terminal
    return out


def single_support_s(stride: Stride, other: SideEvents | None) -> tuple[float, float]:
    """(start, end) of this side's single-limb support: the other foot's final contact to its
    next initial contact; without the other side, the middle 60% of stance."""
    if other is not None:
        start = _first_between(
            other.final_contact_s, stride.initial_contact_s, stride.final_contact_s
        )
        end = _first_between(other.initial_contact_s, start, stride.final_contact_s)
        if np.isfinite(start) and np.isfinite(end):
            return start, end
    stance = stride.stance_time_s
    return stride.initial_contact_s + 0.2 * stance, stride.initial_contact_s + 0.8 * stance


def loading_response_end_s(stride: Stride, other: SideEvents | None) -> float:
    """End of loading response: the other foot's final contact (about 10-12% of the stride);
    without the other side, 12% of the stride."""
    if other is not None:
        end = _first_between(
            other.final_contact_s, stride.initial_contact_s, stride.final_contact_s
        )
        if np.isfinite(end):
            return end
    return stride.initial_contact_s + 0.12 * stride.stride_time_s


def is_straight(
    stride: Stride, t_s: FloatArray, heading_rad: FloatArray | None, max_turn_deg: float = 10.0
) -> bool:
    """Whether the walking direction turns less than `max_turn_deg` over the stride."""
    if heading_rad is None:
        return True
    inside = (t_s >= stride.initial_contact_s) & (t_s <= stride.next_initial_contact_s)
    if not inside.any():
        return False
    heading = np.unwrap(heading_rad[inside])
    return bool(np.degrees(np.ptp(heading)) < max_turn_deg)


def bouts(
    strides: list[Stride], straight: list[bool], max_gap_s: float = 1.5
) -> list[tuple[float, float, int]]:
    """Straight-walking bouts: (start_s, end_s, stride count) of runs of straight strides with
    no more than `max_gap_s` between one stride's end and the next one's start."""
    out: list[tuple[float, float, int]] = []
    ordered = sorted(
        (s for s, ok in zip(strides, straight, strict=True) if ok),
        key=lambda s: s.initial_contact_s,
    )
    for stride in ordered:
        if out and stride.initial_contact_s - out[-1][1] <= max_gap_s:
            start, end, count = out[-1]
            out[-1] = (start, max(end, stride.next_initial_contact_s), count + 1)
        else:
            out.append((stride.initial_contact_s, stride.next_initial_contact_s, 1))
    return out
