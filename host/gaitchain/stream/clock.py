"""A pod's clock mapped onto host time from ping/echo exchanges.

An exchange is ``(host_send_s, device_us, host_receive_s)``: the host noted its clock when it wrote
`PING`, the pod read its own clock while answering, and the host noted its clock when the `ECHO`
arrived. Whatever the delays were, the pod read its clock between the two host times, so each
exchange is a hard **bound**: ``host_send_s <= H(device_us) <= host_receive_s`` for the true map
``H``. Over a window in which the pod's oscillator runs at a constant rate, ``H`` is a line, and the
lines that respect every bound form a convex set in (value, slope) space. The estimate is the
**centroid** of that set: the mean under a flat prior, which is the least-squares choice when the
delays are uniform (and also when they are exponential with equal means both ways). Half the range
of values the feasible lines take at the newest exchange is a guaranteed error bound
(`uncertainty_us_`) as long as the rate was constant over the window.

Only exchanges that were quick in one direction tighten a bound, so low-delay exchanges dominate by
construction, and slow or asymmetric deliveries (a notification held for a few connection intervals,
a retransmission) only loosen bounds that other exchanges already set: unlike a regression on
round-trip midpoints, asymmetric jitter does not bias the estimate
(`tests/host/stream/test_clock.py`; `benchmarks/link_bench.py --clock` prints both over BLE).
Exchanges that contradict the others by more than `outlier_us` (a glitch, an echo from a rebooted
pod) are dropped.

The computation is exact and small: only the vertices of the upper convex hull of the lower bounds
and the lower convex hull of the upper bounds can ever bind, the band between them is piecewise
linear in the slope with breakpoints at the hull edges' slopes, and the centroid integrals are exact
on each piece (Simpson's rule on products of linear functions).

`ClockModel` is the streaming form (the newest `window_s` of exchanges, refitted at every exchange
so drift changes are followed; exactly but cheaply: exchanges that cannot bind for any drift in
range never reach the hull, and an exchange that cannot bind only moves the line's edge);
`fit_clock_track` the offline form (a knot every `step_s`, each the centroid over the window
centred on it, linear between knots). Sample times come only from device
timestamps through these maps; arrival times never enter.
"""

import math
from dataclasses import dataclass
from typing import Final, NamedTuple, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]

_US: Final = 1e-6


class LineFit(NamedTuple):
    """The centroid of the lines that respect every bound, around `x_eval_s`.

    The line is ``y(x) = value_s + slope * (x - x_eval_s)``. `half_range_s` is half the range of
    values feasible lines take at `x_eval_s` (inf when the bounds contradict each other: then the
    line is the one that violates them least). `width_s` is the widest band left between lower and
    upper bounds (negative when they contradict each other).
    """

    value_s: float
    slope: float
    half_range_s: float
    width_s: float


def lower_hull(x: FloatArray, y: FloatArray) -> IndexArray:
    """Indices of the lower convex hull of points sorted by strictly increasing `x`.

    Vectorised: every pass drops each point on or above the chord of its current neighbours (such a
    point is never a hull vertex, whatever else is dropped in the same pass).
    """
    index: IndexArray = np.arange(x.shape[0], dtype=np.intp)
    while index.shape[0] > 2:
        x0, x1, x2 = x[index[:-2]], x[index[1:-1]], x[index[2:]]
        y0, y1, y2 = y[index[:-2]], y[index[1:-1]], y[index[2:]]
        above = (y1 - y0) * (x2 - x0) >= (y2 - y0) * (x1 - x0)
        if not above.any():
            break
        keep = np.ones(index.shape[0], dtype=bool)
        keep[1:-1] = ~above
        index = index[keep]
    return index


def binding_candidates(dx: FloatArray, y: FloatArray, max_slope: float) -> IndexArray:
    """Indices of the points that can bind ``min_i(y_i - c·dx_i)`` for some ``|c| <= max_slope``
    (`dx` strictly increasing). Point i cannot when another is at or below it for every such c:
    a later j with ``y_j + max_slope·dx_j <= y_i + max_slope·dx_i`` or an earlier k with
    ``y_k - max_slope·dx_k <= y_i - max_slope·dx_i``. Two running minima, O(n); in a window of
    jittered exchanges only the few that were quick for their neighbourhood remain, so the hull
    and the fit cost little however many exchanges the window holds."""
    keep = np.ones(dx.shape[0], dtype=bool)
    right = y + max_slope * dx
    keep[:-1] = right[:-1] < np.minimum.accumulate(right[::-1])[::-1][1:]
    left = y - max_slope * dx
    keep[1:] &= left[1:] < np.minimum.accumulate(left)[:-1]
    return np.nonzero(keep)[0]


def _envelope_hull(dx: FloatArray, y: FloatArray, max_slope: float) -> IndexArray:
    """Vertices of the lower hull of the points that can bind (`binding_candidates`)."""
    candidates = binding_candidates(dx, y, max_slope)
    return candidates[lower_hull(dx[candidates], y[candidates])]


def _edge_slopes(x: FloatArray, y: FloatArray) -> FloatArray:
    return np.diff(y) / np.diff(x)


class _Support(NamedTuple):
    """What a feasible fit rests on: the hull vertices that bind (absolute x), and the slopes at
    which the band's edges bend (hull edge slopes and the ends of the feasible slope range), none
    of which depends on where the line is evaluated."""

    up_x_s: FloatArray
    up_hi_s: FloatArray
    down_x_s: FloatArray
    down_lo_s: FloatArray
    slopes: FloatArray

    def half_range_s(self, x_eval_s: float) -> float:
        """Half the range of values the feasible lines take at `x_eval_s`."""
        upper = np.min(
            self.up_hi_s[:, None] - np.multiply.outer(self.up_x_s - x_eval_s, self.slopes), axis=0
        )
        lower = np.max(
            self.down_lo_s[:, None] - np.multiply.outer(self.down_x_s - x_eval_s, self.slopes),
            axis=0,
        )
        return 0.5 * (float(np.max(upper)) - float(np.min(lower)))


def fit_bounded_line(
    x_s: FloatArray, lo_s: FloatArray, hi_s: FloatArray, x_eval_s: float, max_slope: float
) -> LineFit:
    """Centroid of the lines ``y = value + slope * (x - x_eval_s)`` with ``lo <= y(x) <= hi``.

    `x_s` (strictly increasing), `lo_s`, `hi_s` hold one bound pair per exchange; slopes are limited
    to ``[-max_slope, max_slope]``. With one exchange the slope is 0 and the value the middle of its
    bounds.
    """
    return _fit_with_support(x_s, lo_s, hi_s, x_eval_s, max_slope)[0]


def _fit_with_support(
    x_s: FloatArray, lo_s: FloatArray, hi_s: FloatArray, x_eval_s: float, max_slope: float
) -> tuple[LineFit, _Support | None]:
    """`fit_bounded_line` and, when the bounds are consistent, its `_Support`."""
    if x_s.shape[0] < 2:
        upper, lower = float(np.min(hi_s)), float(np.max(lo_s))
        return LineFit(0.5 * (upper + lower), 0.0, 0.5 * (upper - lower), upper - lower), None
    dx = x_s - x_eval_s
    up = _envelope_hull(dx, hi_s, max_slope)  # U(c) = min_i(hi_i - c dx_i) binds only on these
    down = _envelope_hull(dx, -lo_s, max_slope)  # L(c) = max_j(lo_j - c dx_j) binds only here
    dx_up, hi_up = dx[up], hi_s[up]
    dx_down, lo_down = dx[down], lo_s[down]
    breaks = np.concatenate(
        ([-max_slope, max_slope], _edge_slopes(dx_up, hi_up), _edge_slopes(dx_down, lo_down))
    )
    breaks = np.unique(np.clip(breaks, -max_slope, max_slope))

    def envelopes(c: FloatArray) -> tuple[FloatArray, FloatArray]:
        upper = np.min(hi_up[:, None] - np.multiply.outer(dx_up, c), axis=0)
        lower = np.max(lo_down[:, None] - np.multiply.outer(dx_down, c), axis=0)
        return upper, lower

    upper, lower = envelopes(breaks)
    width = upper - lower
    best = int(np.argmax(width))
    if width[best] < 0.0:
        value = 0.5 * float(upper[best] + lower[best])
        return LineFit(value, float(breaks[best]), math.inf, float(width[best])), None
    feasible = np.nonzero(width >= 0.0)[0]
    first, last = int(feasible[0]), int(feasible[-1])
    slopes = [float(c) for c in breaks[first : last + 1]]
    if first > 0:  # width is linear between breakpoints: its zero crossing is exact
        w0, w1 = float(width[first - 1]), float(width[first])
        slopes.insert(
            0, float(breaks[first] - w1 * (breaks[first] - breaks[first - 1]) / (w1 - w0))
        )
    if last < breaks.shape[0] - 1:
        w0, w1 = float(width[last]), float(width[last + 1])
        slopes.append(float(breaks[last] + w0 * (breaks[last + 1] - breaks[last]) / (w0 - w1)))
    c = np.asarray(slopes)
    upper, lower = envelopes(c)
    half_range = 0.5 * (float(np.max(upper)) - float(np.min(lower)))
    support = _Support(dx_up + x_eval_s, hi_up, dx_down + x_eval_s, lo_down, c)
    if c.shape[0] < 2 or float(c[-1] - c[0]) <= 0.0:
        fit = LineFit(0.5 * float(upper[0] + lower[0]), float(c[0]), half_range, float(width[best]))
        return fit, support
    w = np.maximum(upper - lower, 0.0)
    mid = 0.5 * (upper + lower)
    step = np.diff(c)
    w_mid = 0.5 * (w[:-1] + w[1:])
    area = float(np.sum(step * w_mid))
    if area <= 0.0:  # the feasible set is a segment: take its middle
        fit = LineFit(float(np.mean(mid)), float(np.mean(c)), half_range, float(width[best]))
        return fit, support
    mid_mid = 0.5 * (mid[:-1] + mid[1:])
    c_mid = 0.5 * (c[:-1] + c[1:])
    value = float(np.sum(step * (w[:-1] * mid[:-1] + 4 * w_mid * mid_mid + w[1:] * mid[1:]))) / 6
    slope = float(np.sum(step * (w[:-1] * c[:-1] + 4 * w_mid * c_mid + w[1:] * c[1:]))) / 6
    return LineFit(value / area, slope / area, half_range, float(width[best])), support


def _worst_exchange(
    x_s: FloatArray, lo_s: FloatArray, hi_s: FloatArray, fit: LineFit, max_slope: float
) -> int:
    """Index of the exchange whose removal widens the band most (one of the binding bounds)."""
    x_eval = float(x_s[-1])
    line = fit.value_s + fit.slope * (x_s - x_eval)
    candidates = {int(np.argmax(lo_s - line)), int(np.argmin(hi_s - line))}
    best, best_width = -1, -math.inf
    for index in sorted(candidates):
        keep = np.ones(x_s.shape[0], dtype=bool)
        keep[index] = False
        width = fit_bounded_line(x_s[keep], lo_s[keep], hi_s[keep], x_eval, max_slope).width_s
        if width > best_width:
            best, best_width = index, width
    return best


@dataclass(frozen=True)
class ClockTrack:
    """A device-to-host time map: knots at device times, linear between and beyond them.

    Device time ``d`` (µs) maps to ``host_ref_s + x + y(x)`` with ``x = (d - device_ref_us)·1e-6``
    and ``y`` interpolated from `knot_y_s` at `knot_x_s` (extrapolated with the end slopes).
    """

    device_ref_us: float
    host_ref_s: float
    knot_x_s: FloatArray
    knot_y_s: FloatArray
    slope_before: float
    slope_after: float

    def to_host_s(self, device_us: ArrayLike) -> FloatArray:
        """Host seconds of device times in µs (vectorised)."""
        x = (np.asarray(device_us, dtype=np.float64) - self.device_ref_us) * _US
        y = np.interp(x, self.knot_x_s, self.knot_y_s)
        first, last = float(self.knot_x_s[0]), float(self.knot_x_s[-1])
        y = np.where(x < first, self.knot_y_s[0] + self.slope_before * (x - first), y)
        y = np.where(x > last, self.knot_y_s[-1] + self.slope_after * (x - last), y)
        return self.host_ref_s + x + y


class ClockModel:
    """Streaming clock model of one pod (one boot of it): offset and drift from ping/echo exchanges.

    Parameters: `window_s` of newest exchanges used (device time), `max_drift_ppm` the slope
    search range, `outlier_us` how far an exchange may contradict the others before it is dropped,
    `device_resolution_us` the tick of the pod's clock (each bound is widened by it, so truncated
    or rounded readings stay consistent; the LSM6DSV16X ticks every 21.75 µs),
    `ready_uncertainty_us` and `min_exchanges` when the model is `ready_` (latched).

    `update` takes one exchange and refits. Results: `offset_s_` (host time at device time 0),
    `drift_ppm_` (how fast the pod's clock runs relative to the host's; positive is fast),
    `uncertainty_us_` (guaranteed error bound at the newest exchange if the pod's rate was constant
    over the window; inf while exchanges contradict each other), `residual_us_` (RMS of the
    round-trip midpoints about the fit: the jitter the fit removed), `n_exchanges_` (in the
    window), `n_rejected_` (dropped as contradicting), `ready_`.
    """

    def __init__(
        self,
        *,
        window_s: float = 900.0,
        max_drift_ppm: float = 200.0,
        outlier_us: float = 2000.0,
        device_resolution_us: float = 25.0,
        ready_uncertainty_us: float = 250.0,
        min_exchanges: int = 3,
    ) -> None:
        self.window_s = window_s
        self.max_drift_ppm = max_drift_ppm
        self.outlier_us = outlier_us
        self.device_resolution_us = device_resolution_us
        self.ready_uncertainty_us = ready_uncertainty_us
        self.min_exchanges = min_exchanges
        self.offset_s_ = math.nan
        self.drift_ppm_ = math.nan
        self.uncertainty_us_ = math.inf
        self.residual_us_ = math.nan
        self.n_exchanges_ = 0
        self.n_rejected_ = 0
        self.ready_ = False
        self._device_ref_us: float | None = None
        self._host_ref_s = 0.0
        self._x = np.zeros(64)
        self._lo = np.zeros(64)
        self._hi = np.zeros(64)
        self._start: int = 0
        self._end: int = 0
        self._edge_x_s = 0.0
        self._edge_y_s = 0.0
        self._slope = 0.0
        self._support: _Support | None = None
        self._oldest_binding_x_s = 0.0

    def update(self, host_send_s: float, device_us: float, host_receive_s: float) -> Self:
        """Add one exchange and refit. Exchanges come in device-time order (one boot of one pod)."""
        if not host_send_s <= host_receive_s:
            raise ValueError(
                f"exchange received at {host_receive_s} s before it was sent at {host_send_s} s"
            )
        if self._device_ref_us is None:
            self._device_ref_us = float(device_us)
            self._host_ref_s = host_send_s
        x = (float(device_us) - self._device_ref_us) * _US
        slack = self.device_resolution_us * _US
        lo = host_send_s - self._host_ref_s - x - slack
        hi = host_receive_s - self._host_ref_s - x + slack
        last = self._end - 1
        if self._end > self._start and x <= self._x[last]:
            if x < self._x[last]:
                raise ValueError(
                    f"exchange at device time {device_us} µs is older than the previous one; "
                    "give exchanges in order, and a rebooted pod a new ClockModel"
                )
            self._lo[last] = max(self._lo[last], lo)  # same device tick: keep the tighter bounds
            self._hi[last] = min(self._hi[last], hi)
            self._support = None
        else:
            self._append(x, lo, hi)
        while self._x[self._start] < x - self.window_s:
            self._start += 1
        if not self._shift_edge():
            self._refit()
        return self

    def to_host_s(self, device_us: ArrayLike) -> FloatArray:
        """Host seconds of device times in µs (vectorised); nan before the first exchange."""
        device = np.asarray(device_us, dtype=np.float64)
        if self._device_ref_us is None:
            return np.full(device.shape, math.nan)
        x = (device - self._device_ref_us) * _US
        return self._host_ref_s + x + self._edge_y_s + self._slope * (x - self._edge_x_s)

    def track(self) -> ClockTrack:
        """The current line as a `ClockTrack` (a snapshot that later updates do not change)."""
        if self._device_ref_us is None:
            raise ValueError("the clock model has no exchange yet")
        return ClockTrack(
            self._device_ref_us,
            self._host_ref_s,
            np.array([self._edge_x_s]),
            np.array([self._edge_y_s]),
            self._slope,
            self._slope,
        )

    def _append(self, x: float, lo: float, hi: float) -> None:
        if self._end == self._x.shape[0]:
            count = self._end - self._start
            size = max(64, 2 * count)
            for name in ("_x", "_lo", "_hi"):
                old: FloatArray = getattr(self, name)
                grown = np.zeros(size)
                grown[:count] = old[self._start : self._end]
                setattr(self, name, grown)
            self._start, self._end = 0, count
        self._x[self._end] = x
        self._lo[self._end] = lo
        self._hi[self._end] = hi
        self._end += 1

    def _drop(self, index: int) -> None:
        at = self._start + index
        for array in (self._x, self._lo, self._hi):
            array[at : self._end - 1] = array[at + 1 : self._end].copy()
        self._end -= 1
        self.n_rejected_ += 1

    def _shift_edge(self) -> bool:
        """The refit's shortcut, exact: when no exchange that bound the last fit has left the
        window and the newest exchange cannot bind (an older one in the window is at least as
        tight for every slope in range), the feasible set and its centroid line are unchanged;
        only the edge moves to the newest exchange and the uncertainty is re-read there. Most
        exchanges take this path, so a refit per exchange stays cheap at any window length."""
        support = self._support
        if support is None or self._x[self._start] > self._oldest_binding_x_s:
            return False
        x = self._x[self._start : self._end]
        newest = float(x[-1])
        reach = self.max_drift_ppm * _US * (newest - x[:-1])
        if not (
            self._hi[self._end - 1] >= float(np.min(self._hi[self._start : self._end - 1] + reach))
            and self._lo[self._end - 1]
            <= float(np.max(self._lo[self._start : self._end - 1] - reach))
        ):
            return False
        self._edge_y_s += self._slope * (newest - self._edge_x_s)
        self._edge_x_s = newest
        self._finish(support.half_range_s(newest))
        return True

    def _refit(self) -> None:
        max_slope = self.max_drift_ppm * _US
        while True:
            x = self._x[self._start : self._end]
            lo = self._lo[self._start : self._end]
            hi = self._hi[self._start : self._end]
            edge = float(x[-1])
            fit, support = _fit_with_support(x, lo, hi, edge, max_slope)
            if fit.width_s >= -self.outlier_us * _US or x.shape[0] <= 2:
                break
            self._drop(_worst_exchange(x, lo, hi, fit, max_slope))
        self._support = support
        if support is not None:
            self._oldest_binding_x_s = min(float(support.up_x_s[0]), float(support.down_x_s[0]))
        self._edge_x_s, self._edge_y_s, self._slope = edge, fit.value_s, fit.slope
        self.drift_ppm_ = (1.0 / (1.0 + fit.slope) - 1.0) / _US
        self.offset_s_ = float(self.to_host_s(np.zeros(1))[0])
        self._finish(fit.half_range_s)

    def _finish(self, half_range_s: float) -> None:
        x = self._x[self._start : self._end]
        mid = 0.5 * (self._lo[self._start : self._end] + self._hi[self._start : self._end])
        line = self._edge_y_s + self._slope * (x - self._edge_x_s)
        self.n_exchanges_ = int(x.shape[0])
        self.uncertainty_us_ = half_range_s / _US
        self.residual_us_ = float(np.sqrt(np.mean((mid - line) ** 2))) / _US
        if (
            not self.ready_
            and self.n_exchanges_ >= self.min_exchanges
            and self.uncertainty_us_ <= self.ready_uncertainty_us
        ):
            self.ready_ = True


def fit_clock_track(
    host_send_s: ArrayLike,
    device_us: ArrayLike,
    host_receive_s: ArrayLike,
    *,
    window_s: float = 900.0,
    step_s: float = 30.0,
    max_drift_ppm: float = 200.0,
    device_resolution_us: float = 25.0,
) -> ClockTrack:
    """Offline clock map over all exchanges of one boot of one pod (any order).

    A knot every `step_s` of device time; each knot is the centroid of the feasible lines over the
    exchanges within `window_s / 2` of it (widened to at least two exchanges on each side where they
    are sparse). Interpolated linearly between knots. Other parameters as for `ClockModel`.
    """
    send = np.asarray(host_send_s, dtype=np.float64)
    device = np.asarray(device_us, dtype=np.float64)
    receive = np.asarray(host_receive_s, dtype=np.float64)
    if device.shape[0] == 0:
        raise ValueError("a clock track needs at least one exchange")
    order = np.argsort(device, kind="stable")
    send, device, receive = send[order], device[order], receive[order]
    distinct = np.concatenate(([True], np.diff(device) > 0))
    if not distinct.all():  # exchanges at one device tick: keep the tightest bounds
        starts = np.nonzero(distinct)[0]
        send = np.maximum.reduceat(send, starts)
        receive = np.minimum.reduceat(receive, starts)
        device = device[distinct]
    device_ref, host_ref = float(device[0]), float(send[0])
    x = (device - device_ref) * _US
    lo = send - host_ref - x - device_resolution_us * _US
    hi = receive - host_ref - x + device_resolution_us * _US
    span = float(x[-1])
    knots: FloatArray = (
        np.linspace(0.0, span, max(2, math.ceil(span / step_s) + 1)) if span > 0 else x[:1]
    )
    max_slope = max_drift_ppm * _US
    values = np.empty(knots.shape[0])
    slopes = np.empty(knots.shape[0])
    for k in range(knots.shape[0]):
        knot = float(knots[k])
        middle = int(np.searchsorted(x, knot))
        first = min(int(np.searchsorted(x, knot - window_s / 2)), max(0, middle - 2))
        last = max(int(np.searchsorted(x, knot + window_s / 2, side="right")), middle + 2)
        part = slice(first, min(last, x.shape[0]))
        fit = fit_bounded_line(x[part], lo[part], hi[part], knot, max_slope)
        values[k], slopes[k] = fit.value_s, fit.slope
    return ClockTrack(device_ref, host_ref, knots, values, float(slopes[0]), float(slopes[-1]))
