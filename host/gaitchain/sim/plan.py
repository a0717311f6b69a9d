"""Where and when the walker walks: a path on the floor (ENU, metres) and bouts along it.

The path is a corridor walked back and forth: straight legs joined by 180-degree turns whose
curvature rises and falls smoothly (no jump in yaw rate). A plan alternates quiet standing with
walking bouts; each bout speeds up over one stride, walks at the set speed and slows down over one
stride, so the walk has starts, stops, turns and standing.
"""

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.interpolate import CubicSpline

from .params import ParameterError

FloatArray = NDArray[np.float64]

_PATH_STEP_M: Final = 0.01


@dataclass(frozen=True)
class Corridor:
    """Straight legs of `straight_m` joined by turns of `turn_radius_m`, alternating left/right."""

    straight_m: float = 20.0
    turn_radius_m: float = 0.8

    def validate(self) -> None:
        if not 2.0 <= self.straight_m <= 500.0:
            raise ParameterError(f"straight_m = {self.straight_m:g} m is outside 2 to 500 m")
        if not 0.3 <= self.turn_radius_m <= 20.0:
            raise ParameterError(f"turn_radius_m = {self.turn_radius_m:g} m is outside 0.3 to 20 m")


class Path:
    """Position (x east, y north) and heading (rad, counter-clockwise from east) by arc length."""

    def __init__(self, corridor: Corridor, length_m: float) -> None:
        corridor.validate()
        turn_m = np.pi * corridor.turn_radius_m * 1.5
        """Raised-cosine curvature needs 1.5x the arc of a circle for the same 180 degrees."""
        s = np.arange(0.0, length_m + 10.0, _PATH_STEP_M)
        period = corridor.straight_m + turn_m
        lap = np.floor(s / period)
        u = (s - lap * period - corridor.straight_m) / turn_m
        in_turn = (u > 0) & (u < 1)
        direction = np.where(lap % 2 == 0, 1.0, -1.0)
        curvature = np.where(
            in_turn, direction * (np.pi / turn_m) * (1 - np.cos(2 * np.pi * u)), 0.0
        )
        heading = np.concatenate(
            ([0.0], np.cumsum(0.5 * (curvature[1:] + curvature[:-1]) * _PATH_STEP_M))
        )
        x = np.concatenate(
            ([0.0], np.cumsum(0.5 * (np.cos(heading[1:]) + np.cos(heading[:-1])) * _PATH_STEP_M))
        )
        y = np.concatenate(
            ([0.0], np.cumsum(0.5 * (np.sin(heading[1:]) + np.sin(heading[:-1])) * _PATH_STEP_M))
        )
        self._x = CubicSpline(s, x)
        self._y = CubicSpline(s, y)
        self._heading = CubicSpline(s, heading)
        self.length_m = length_m

    def point(
        self, s_m: FloatArray, derivative: int = 0
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """x, y and heading at arc lengths `s_m` (or their `derivative`-th derivative in s)."""
        return (
            np.asarray(self._x(s_m, derivative), dtype=np.float64),
            np.asarray(self._y(s_m, derivative), dtype=np.float64),
            np.asarray(self._heading(s_m, derivative), dtype=np.float64),
        )


@dataclass(frozen=True)
class Bout:
    """One walking bout: starts at `t_start_s` and arc length `s_start_m`, covers `distance_m`."""

    t_start_s: float
    s_start_m: float
    distance_m: float
    speed_mps: float
    ramp_s: float
    lead: str
    """Which foot takes the first step: "left" or "right"."""

    @property
    def duration_s(self) -> float:
        return self.distance_m / self.speed_mps + self.ramp_s

    @property
    def t_end_s(self) -> float:
        return self.t_start_s + self.duration_s

    def progress(self, t_s: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Arc length walked since the bout started, and speed as a fraction of cruise speed.

        Speed follows a raised cosine over `ramp_s` at each end, so its derivative is continuous.
        """
        tau = np.clip(t_s - self.t_start_s, 0.0, self.duration_s)
        r = self.ramp_s
        v = self.speed_mps
        cruise_end = self.duration_s - r
        up = tau < r
        down = tau > cruise_end
        s = v * (tau - r / 2)
        s = np.where(up, v / 2 * (tau - r / np.pi * np.sin(np.pi * tau / r)), s)
        td = tau - cruise_end
        s_down = v * (cruise_end - r / 2) + v / 2 * (td + r / np.pi * np.sin(np.pi * td / r))
        s = np.where(down, s_down, s)
        fraction = np.ones_like(tau)
        fraction = np.where(up, 0.5 * (1 - np.cos(np.pi * tau / r)), fraction)
        fraction = np.where(down, 0.5 * (1 + np.cos(np.pi * td / r)), fraction)
        inside = (t_s > self.t_start_s) & (t_s < self.t_end_s)
        return s, np.where(inside, fraction, 0.0)


@dataclass(frozen=True)
class Plan:
    """Bouts of walking separated by quiet standing, along one path."""

    bouts: tuple[Bout, ...]
    duration_s: float
    path: Path


def make_plan(
    duration_s: float,
    speed_mps: float,
    stride_s: float,
    *,
    corridor: Corridor | None = None,
    bout_s: float = 120.0,
    stand_s: float | None = None,
    lead_first: str = "left",
) -> Plan:
    """Stand `stand_s`, walk about `bout_s`, stand, walk ... for `duration_s` in all.

    Every plan starts and ends standing (by default 8 s, less in walks under a minute). The lead
    foot alternates between bouts.
    """
    if stand_s is None:
        stand_s = min(8.0, 0.15 * duration_s)
    if not 10.0 <= duration_s <= 24 * 3600:
        raise ParameterError(f"duration {duration_s:g} s is outside 10 s to 24 h")
    if not 0.5 <= stand_s <= 600:
        raise ParameterError(f"stand_s = {stand_s:g} s is outside 0.5 to 600 s")
    ramp_s = stride_s
    bouts: list[Bout] = []
    t = stand_s
    s = 0.0
    lead = lead_first
    while t + 2 * ramp_s + stand_s <= duration_s:
        walk_s = min(bout_s, duration_s - stand_s - t)
        distance = speed_mps * (walk_s - ramp_s)
        bout = Bout(t, s, distance, speed_mps, ramp_s, lead)
        bouts.append(bout)
        t = bout.t_end_s + stand_s
        s += distance
        lead = "right" if lead == "left" else "left"
    if not bouts:
        raise ParameterError(f"duration {duration_s:g} s leaves no time to walk between standing")
    return Plan(tuple(bouts), duration_s, Path(corridor or Corridor(), s))
