"""Live segment angles for the traces, from the fused segment orientations of the pods.

Channels (degrees, sides are data):
- `pelvis_obliquity_deg`: the pelvis's frame tilt about its forward axis, left side up positive
  (the X angle of a Z-X-Y decomposition, as the simulator's truth);
- `pelvis_rotation_deg`: the pelvis's turn about the vertical, counter-clockwise seen from above
  positive, relative to its own running mean (`rotation_tau_s`): without a magnetometer each
  pod's heading is arbitrary, so rotations are shown as excursions about the walking direction,
  which the running mean follows (it lags in turns);
- `{side}_shank_rotation_deg`: the shank's turn about the vertical, internal positive, likewise
  about its running mean;
- `{side}_foot_eversion_deg`: the foot's tilt about its forward axis minus the shank's (lateral
  edge up positive), both gravity-referenced, so no common heading is needed.
"""

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.signal import lfilter
from scipy.spatial.transform import Rotation

from ..gait.angles import SIDES, side_sign

FloatArray = NDArray[np.float64]

CHANNELS: Final = (
    "pelvis_obliquity_deg",
    "pelvis_rotation_deg",
    "left_shank_rotation_deg",
    "right_shank_rotation_deg",
    "left_foot_eversion_deg",
    "right_foot_eversion_deg",
)


def yaw_roll_deg(segment_to_earth: Rotation) -> tuple[FloatArray, FloatArray]:
    """Z (about the vertical) and X (about the forward axis) of a Z-X-Y decomposition, degrees."""
    euler = segment_to_earth.as_euler("ZXY", degrees=True)
    return euler[:, 0].astype(np.float64), euler[:, 1].astype(np.float64)


class RunningExcursion:
    """An angle (degrees, may wrap) minus its causal exponential running mean over `tau_s`."""

    def __init__(self, tau_s: float) -> None:
        self.tau_s = tau_s
        self._last: float | None = None
        self._state: FloatArray | None = None

    def update(self, t_s: FloatArray, angle_deg: FloatArray) -> FloatArray:
        if angle_deg.shape[0] == 0:
            return angle_deg
        start = angle_deg[0] if self._last is None else self._last
        unwrapped = np.degrees(np.unwrap(np.radians(np.concatenate([[start], angle_deg]))))[1:]
        dt = float(np.median(np.diff(t_s))) if t_s.shape[0] > 1 else 1.0 / 120.0
        alpha = 1.0 - math.exp(-max(dt, 1e-6) / self.tau_s)
        if self._state is None:
            self._state = np.array([(1.0 - alpha) * unwrapped[0]])
        mean, self._state = lfilter([alpha], [1.0, alpha - 1.0], unwrapped, zi=self._state)
        self._last = float(unwrapped[-1])
        return unwrapped - np.asarray(mean, dtype=np.float64)


@dataclass
class Trace:
    channel: str
    t_s: FloatArray
    value_deg: FloatArray


@dataclass
class SegmentAngles:
    """Turns fused samples of each pod into trace channels (see the module docstring)."""

    rotation_tau_s: float = 2.0
    _excursions: dict[str, RunningExcursion] = field(default_factory=dict[str, RunningExcursion])
    _shank_roll: dict[str, tuple[FloatArray, FloatArray]] = field(
        default_factory=dict[str, tuple[FloatArray, FloatArray]]
    )
    shank_keep: int = 240

    def update(
        self, segment: str, side: str, t_s: FloatArray, segment_to_earth: Rotation
    ) -> list[Trace]:
        yaw, roll = yaw_roll_deg(segment_to_earth)
        if segment == "pelvis":
            rotation = self._excursion("pelvis").update(t_s, yaw)
            return [
                Trace("pelvis_obliquity_deg", t_s, roll),
                Trace("pelvis_rotation_deg", t_s, rotation),
            ]
        if side not in SIDES:
            return []
        sign = side_sign(side)
        if segment == "shank":
            old_t, old_roll = self._shank_roll.get(side, (np.zeros(0), np.zeros(0)))
            keep = self.shank_keep
            self._shank_roll[side] = (
                np.concatenate([old_t, t_s])[-keep:],
                np.concatenate([old_roll, roll])[-keep:],
            )
            rotation = -sign * self._excursion(f"{side}_shank").update(t_s, yaw)
            return [Trace(f"{side}_shank_rotation_deg", t_s, rotation)]
        if segment == "foot":
            if side not in self._shank_roll:
                return []
            shank_t, shank_roll = self._shank_roll[side]
            eversion = sign * (roll - np.interp(t_s, shank_t, shank_roll))
            return [Trace(f"{side}_foot_eversion_deg", t_s, eversion)]
        return []

    def _excursion(self, key: str) -> RunningExcursion:
        if key not in self._excursions:
            self._excursions[key] = RunningExcursion(self.rotation_tau_s)
        return self._excursions[key]


class TraceHistory:
    """The last `keep_s` of every channel, for per-stride metrics that look back at the traces."""

    def __init__(self, keep_s: float = 20.0) -> None:
        self.keep_s = keep_s
        self._parts: dict[str, deque[tuple[FloatArray, FloatArray]]] = {}

    def add(self, trace: Trace) -> None:
        parts = self._parts.setdefault(trace.channel, deque())
        parts.append((trace.t_s, trace.value_deg))
        newest = float(trace.t_s[-1]) if trace.t_s.shape[0] else -math.inf
        while parts and parts[0][0].shape[0] and float(parts[0][0][-1]) < newest - self.keep_s:
            parts.popleft()

    def window(self, channel: str, start_s: float, end_s: float) -> tuple[FloatArray, FloatArray]:
        """Samples of `channel` with start_s <= t < end_s (empty arrays when there are none)."""
        parts = self._parts.get(channel)
        if not parts:
            return np.zeros(0), np.zeros(0)
        t = np.concatenate([p[0] for p in parts])
        v = np.concatenate([p[1] for p in parts])
        keep = (t >= start_s) & (t < end_s)
        return t[keep], v[keep]
