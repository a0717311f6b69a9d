"""Strides as they complete, from one foot pod's live stream (`FootEvents` on a rolling window).

Every `detect_every_s` the last `window_s` of the foot's samples go through `FootEvents` (the same
detector the offline analysis uses). Stances whose initial contact is at least `guard_s` before the
newest sample are taken once, as soon as their final contact is found (or without it once
`foot_off_wait_s` have passed): an initial contact within
`same_event_s` of one already taken is the same event seen again. Two taken initial contacts of
the same foot `min_stride_s` to `max_stride_s` apart make a stride; a longer pause (standing,
a lost stretch) starts afresh.
"""

import math
from collections import deque

import numpy as np
from numpy.typing import NDArray

from ..gait.events import FootEvents
from .metrics import Stride

FloatArray = NDArray[np.float64]


class LiveStrides:
    """Completed strides of one foot; `add` returns those completed by the new samples."""

    def __init__(
        self,
        side: str,
        *,
        window_s: float = 8.0,
        detect_every_s: float = 0.5,
        guard_s: float = 0.6,
        foot_off_wait_s: float = 1.5,
        same_event_s: float = 0.3,
        min_stride_s: float = 0.6,
        max_stride_s: float = 2.5,
    ) -> None:
        self.side = side
        self.window_s = window_s
        self.detect_every_s = detect_every_s
        self.guard_s = guard_s
        self.foot_off_wait_s = foot_off_wait_s
        self.same_event_s = same_event_s
        self.min_stride_s = min_stride_s
        self.max_stride_s = max_stride_s
        self.count = 0
        self._parts: deque[tuple[FloatArray, FloatArray, FloatArray]] = deque()
        self._samples = 0
        self._since_detect = 0
        self._last_ic_s = -np.inf
        self._last_fc_s = np.nan

    def add(
        self, t_s: FloatArray, acc_mps2: FloatArray, gyr_radps: FloatArray, rate_hz: float
    ) -> list[Stride]:
        self._parts.append((t_s, acc_mps2, gyr_radps))
        self._samples += t_s.shape[0]
        self._since_detect += t_s.shape[0]
        while self._samples - self._parts[0][0].shape[0] >= self.window_s * rate_hz:
            self._samples -= self._parts.popleft()[0].shape[0]
        if self._since_detect < self.detect_every_s * rate_hz:
            return []
        self._since_detect = 0
        return self._detect(rate_hz)

    def _detect(self, rate_hz: float) -> list[Stride]:
        t = np.concatenate([p[0] for p in self._parts])
        if t.shape[0] < 2 * rate_hz:
            return []
        acc = np.vstack([p[1] for p in self._parts])
        gyr = np.vstack([p[2] for p in self._parts])
        if not (np.linalg.norm(gyr, axis=1) > 1.0).any():
            return []  # standing: nothing to find, and no rotation axis to find it with
        events = FootEvents().detect(acc, gyr, sampling_rate_hz=rate_hz)
        index = np.arange(t.shape[0], dtype=np.float64)
        newest = float(t[-1])
        out: list[Stride] = []
        contacts: list[float] = np.asarray(events.initial_contact_s_, dtype=np.float64).tolist()
        offs: list[float] = np.asarray(events.final_contact_s_, dtype=np.float64).tolist()
        for ic, fc in zip(contacts, offs, strict=True):
            if not math.isfinite(ic):
                continue
            ic_s = float(np.interp(ic * rate_hz, index, t))
            if ic_s > newest - self.guard_s or ic_s < self._last_ic_s + self.same_event_s:
                continue
            if not math.isfinite(fc) and ic_s > newest - self.foot_off_wait_s:
                continue  # its final contact may still come: take the stance at a later pass
            fc_s = float(np.interp(fc * rate_hz, index, t)) if math.isfinite(fc) else math.nan
            if self.min_stride_s <= ic_s - self._last_ic_s <= self.max_stride_s:
                out.append(Stride(self.side, self.count, self._last_ic_s, ic_s, self._last_fc_s))
                self.count += 1
            self._last_ic_s, self._last_fc_s = ic_s, fc_s
        return out
