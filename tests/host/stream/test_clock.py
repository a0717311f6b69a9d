"""Clock model on synthetic exchanges: exact geometry, guaranteed bounds, robustness, drift.

Five virtual pods' alignment over BLE: tests/host/link/test_ble_virtual.py (minutes) and
`benchmarks/link_bench.py --clock` (the hour)."""

import math
from dataclasses import dataclass

import numpy as np
import pytest
from gaitchain.stream import ClockModel, fit_bounded_line, fit_clock_track
from gaitchain.stream.clock import lower_hull
from numpy.typing import ArrayLike

FloatArray = np.ndarray[tuple[int], np.dtype[np.float64]]


@dataclass(frozen=True)
class DeviceClock:
    """A pod oscillator: device µs at true host time ``t`` is
    ``offset_us + 1e6·(t·(1 + drift) + wander·P/2π·(1 - cos(2πt/P)))`` with drift and wander in ppm
    (the rate wanders by ±`wander_ppm` with period `wander_period_s`)."""

    offset_us: float
    drift_ppm: float
    wander_ppm: float = 0.0
    wander_period_s: float = 1800.0

    def device_us(self, host_s: ArrayLike) -> FloatArray:
        t = np.asarray(host_s, dtype=np.float64)
        drift, wander = self.drift_ppm * 1e-6, self.wander_ppm * 1e-6
        period = self.wander_period_s
        bend = wander * period / (2 * math.pi) * (1 - np.cos(2 * math.pi * t / period))
        return self.offset_us + 1e6 * (t * (1 + drift) + bend)

    def host_s(self, device_us: ArrayLike) -> FloatArray:
        """True host time of device times (Newton's method; exact to well below a nanosecond)."""
        d = np.asarray(device_us, dtype=np.float64)
        rate = 1 + self.drift_ppm * 1e-6
        t = (d - self.offset_us) * 1e-6 / rate
        for _ in range(3):
            t = t - (self.device_us(t) - d) * 1e-6 / rate
        return t


def _exchanges(
    clock: DeviceClock, sent_s: FloatArray, up_s: FloatArray, down_s: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    return sent_s, np.round(clock.device_us(sent_s + up_s)), sent_s + up_s + down_s


def test_lower_hull_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    for n in (2, 3, 5, 20, 200):
        x = np.sort(rng.uniform(0, 100, n))
        x += np.arange(n) * 1e-6  # strictly increasing
        y = rng.normal(size=n)
        hull = set(lower_hull(x, y).tolist())
        slopes = np.linspace(-50, 50, 20001)
        # the lowest point along each direction is a vertex; every vertex is lowest for some
        lowest = np.argmin(y[:, None] - np.multiply.outer(x, slopes), axis=0)
        assert hull == set(lowest.tolist()) | {0, n - 1}


def test_centroid_matches_dense_integration() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        n = int(rng.integers(3, 12))
        x = np.sort(rng.uniform(0, 60, n)) + np.arange(n)
        true = 0.002 + 3e-5 * x
        lo = true - rng.uniform(0, 0.03, n)
        hi = true + rng.uniform(0, 0.03, n)
        x_eval = float(x[-1])
        fit = fit_bounded_line(x, lo, hi, x_eval, 200e-6)
        slopes = np.linspace(-200e-6, 200e-6, 400_001)
        shifted = np.multiply.outer(x - x_eval, slopes)
        upper = np.min(hi[:, None] - shifted, axis=0)
        lower = np.max(lo[:, None] - shifted, axis=0)
        weight = np.maximum(upper - lower, 0)
        value = float(np.sum(weight * (upper + lower) / 2) / np.sum(weight))
        slope = float(np.sum(weight * slopes) / np.sum(weight))
        assert fit.value_s == pytest.approx(value, abs=2e-7)
        assert fit.slope == pytest.approx(slope, abs=2e-9)
        feasible = weight > 0
        half_range = (np.max(upper[feasible]) - np.min(lower[feasible])) / 2
        assert fit.half_range_s == pytest.approx(half_range, abs=2e-7)


def test_zero_delay_exchanges_give_the_exact_clock() -> None:
    clock = DeviceClock(123_456_789.0, 37.5)
    sent = np.arange(0.0, 100.0, 1.0)
    model = ClockModel()
    for s, d, r in zip(*_exchanges(clock, sent, sent * 0, sent * 0), strict=True):
        model.update(float(s), float(d), float(r))
    device = clock.device_us(np.array([10.0, 50.0, 99.0]))
    np.testing.assert_allclose(model.to_host_s(device), [10.0, 50.0, 99.0], atol=2e-6)
    assert model.drift_ppm_ == pytest.approx(37.5, abs=0.05)
    assert model.offset_s_ == pytest.approx(float(clock.host_s(0.0)), abs=1e-5)
    assert model.n_exchanges_ == 100
    assert model.ready_


def test_uncertainty_bounds_the_error() -> None:
    rng = np.random.default_rng(2)
    clock = DeviceClock(5e8, -42.0)
    sent = np.arange(0.0, 300.0, 1.0)
    ex = _exchanges(clock, sent, rng.uniform(0, 0.03, 300), rng.uniform(0, 0.03, 300))
    model = ClockModel()
    for s, d, r in zip(*ex, strict=True):
        model.update(float(s), float(d), float(r))
        error_us = (float(model.to_host_s(np.array([d]))[0]) - float(clock.host_s(d))) * 1e6
        assert abs(error_us) <= model.uncertainty_us_ + 1.0  # +1 µs: echo times are whole µs
    assert model.uncertainty_us_ < 1000.0
    assert 5_000 < model.residual_us_ < 12_000  # the jitter the fit removed


def test_asymmetric_jitter_does_not_bias_the_fit() -> None:
    """Pings mostly quick (mean 7.5 ms), echoes uniform over 0-30 ms (mean 15 ms): round-trip
    midpoints are off by several ms on average; the bounds are not biased by it."""
    rng = np.random.default_rng(3)
    clock = DeviceClock(1e7, 12.0)
    sent = np.arange(0.0, 600.0, 1.0)
    down = 0.03 * rng.random(600)
    up = 0.03 * rng.random(600) ** 3
    ex = _exchanges(clock, sent, up, down)
    model = ClockModel()
    for s, d, r in zip(*ex, strict=True):
        model.update(float(s), float(d), float(r))
    device = clock.device_us(np.linspace(300, 599, 50))
    error_ms = (model.to_host_s(device) - clock.host_s(device)) * 1e3
    midpoint_bias_ms = float(np.mean((up - down) / 2)) * 1e3
    assert abs(midpoint_bias_ms) > 3.0
    assert np.max(np.abs(error_ms)) < 0.5


def test_streaming_model_matches_a_fresh_fit_of_its_window_after_every_exchange() -> None:
    """Most updates take the shortcut (the newest exchange cannot bind, no binding one left the
    window); the line and the uncertainty must still be exactly those of a fit from scratch."""
    rng = np.random.default_rng(7)
    clock = DeviceClock(4e6, -17.0)
    sent = np.concatenate((np.arange(0.0, 60.0, 0.05), np.arange(60.0, 700.0, 0.5)))
    ex = _exchanges(clock, sent, rng.uniform(0, 0.03, sent.size), rng.uniform(0, 0.03, sent.size))
    model = ClockModel(window_s=120.0)
    slack = model.device_resolution_us * 1e-6
    for i, (s, d, r) in enumerate(zip(*ex, strict=True)):
        model.update(float(s), float(d), float(r))
        if i < 3 or i % 7:
            continue
        x = (ex[1][: i + 1] - ex[1][0]) * 1e-6
        keep = x >= x[-1] - 120.0
        lo = ex[0][: i + 1][keep] - ex[0][0] - x[keep] - slack
        hi = ex[2][: i + 1][keep] - ex[0][0] - x[keep] + slack
        fit = fit_bounded_line(x[keep], lo, hi, float(x[-1]), 200e-6)
        mapped = float(model.to_host_s(np.array([d]))[0]) - float(ex[0][0]) - x[-1]
        assert mapped == pytest.approx(fit.value_s, abs=1e-12)
        assert model.uncertainty_us_ == pytest.approx(fit.half_range_s * 1e6, abs=1e-6)
        assert model.n_exchanges_ == int(np.sum(keep))


def test_contradicting_exchange_is_dropped() -> None:
    rng = np.random.default_rng(4)
    clock = DeviceClock(2e7, 20.0)
    sent = np.arange(0.0, 120.0, 1.0)
    s, d, r = _exchanges(clock, sent, rng.uniform(0, 0.02, 120), rng.uniform(0, 0.02, 120))
    d[60] += 80_000.0  # a glitched device time: 80 ms off
    model = ClockModel()
    for i in range(120):
        model.update(float(s[i]), float(d[i]), float(r[i]))
    assert model.n_rejected_ == 1
    assert math.isfinite(model.uncertainty_us_)
    device = clock.device_us(np.array([100.0]))
    assert abs(float(model.to_host_s(device)[0]) - 100.0) < 1e-3


def test_drift_change_is_followed() -> None:
    """The rate steps from 10 to 15 ppm (the pod warms up); once the window has passed the step,
    drift and times follow. The drift estimate of one update is only good to about ±1 ppm with
    30 ms jitter, which moves a sample mapped within a second of the newest exchange by 1 µs."""
    rng = np.random.default_rng(5)
    before, after = DeviceClock(0.0, 10.0), DeviceClock(0.0, 15.0)
    step_s = 1000.0
    shift_us = float(before.device_us(step_s) - after.device_us(step_s))
    model = ClockModel(window_s=600.0)
    drift_ppm: list[float] = []
    error_s: list[float] = []
    for t in np.arange(0.0, 2000.0, 1.0):
        up, down = rng.uniform(0, 0.03, 2)
        clock = before if t + up < step_s else after
        device = float(clock.device_us(t + up)) + (0.0 if clock is before else shift_us)
        model.update(float(t), device, float(t + up + down))
        if t > step_s + 600.0:
            drift_ppm.append(model.drift_ppm_)
            device = float(after.device_us(t)) + shift_us
            error_s.append(float(model.to_host_s(np.array([device]))[0]) - t)
    assert np.mean(drift_ppm) == pytest.approx(15.0, abs=0.3)
    assert max(abs(d - 15.0) for d in drift_ppm) < 1.5
    assert max(abs(e) for e in error_s) < 0.3e-3


def test_offline_track_handles_order_and_repeated_ticks() -> None:
    rng = np.random.default_rng(6)
    clock = DeviceClock(3e6, -30.0, wander_ppm=1.0, wander_period_s=1200.0)
    sent = np.arange(0.0, 1800.0, 1.0)
    s, d, r = _exchanges(clock, sent, rng.uniform(0, 0.03, 1800), rng.uniform(0, 0.03, 1800))
    order = rng.permutation(1800)
    s, d, r = np.append(s[order], s[5]), np.append(d[order], d[5]), np.append(r[order], r[5])
    track = fit_clock_track(s, d, r, window_s=600.0, step_s=30.0)
    device = clock.device_us(np.linspace(1, 1799, 500))
    error_ms = (track.to_host_s(device) - clock.host_s(device)) * 1e3
    assert np.max(np.abs(error_ms)) < 0.5
