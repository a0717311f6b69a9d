"""The live clock model over an hour of synthetic BLE exchanges, replayed in seconds.

`gaitchain.sim.clock_session` generates what `benchmarks/link_bench.py --clock` measures over the
real stack (five pods at -50 to +50 ppm, 0-30 ms on the air each way with order kept, 18-sample
batches at 60 Hz, `PodStream`'s ping schedule); the benchmark stays the end-to-end figure."""

import numpy as np
import pytest
from gaitchain.sim.clock_session import (
    SessionSpec,
    pairwise_error_ms,
    replay_live,
    replay_offline,
    simulate_clock_session,
    simulate_pod,
)
from gaitchain.stream import ClockModel


@pytest.fixture(scope="module")
def hour() -> list:
    return simulate_clock_session(SessionSpec(minutes=60.0), seed=11)


def test_session_has_the_benchmarks_statistics() -> None:
    pod = simulate_pod(SessionSpec(minutes=10.0), 37.0, np.random.default_rng(1))
    send, device, receive = pod.exchanges.T
    rtt_ms = (receive - send) * 1e3
    assert 0.0 < rtt_ms.min() < 2.0 and 50.0 < rtt_ms.max() <= 61.0
    assert np.all(np.diff(receive) >= 0), "in arrival order"
    steps = np.round(np.diff(send[send > send[0] + 400.0]), 3)
    assert set(steps.tolist()) <= {0.5, 0.525}, "every 0.5 s after the startup"
    assert np.sum(send < send[0] + 300.0) == pytest.approx(300 / 0.05, rel=0.01)
    assert pod.batch_device_us.shape[1] == 18
    lag_s = pod.batch_arrival_s - pod.batch_truth_s[:, -1]
    assert lag_s.min() > 0.0 and lag_s.max() < 0.05 + 0.03 + 0.01
    rate = np.polyfit((send + receive) / 2, device * 1e-6, 1)[0]  # device s per host s
    assert float(rate) == pytest.approx(1 + 37e-6, abs=2e-6)


def test_live_alignment_over_an_hour_meets_the_bar_with_margin(hour: list) -> None:
    """Issue 5's bar: inter-pod p99 <= 0.5 ms with +-50 ppm and 0-30 ms jitter over 60 minutes,
    each sample as the live model mapped it when it was released; asserted with margin."""
    errors = [replay_live(pod) for pod in hour]
    live_ms, when_s = pairwise_error_ms(hour, errors)
    assert np.percentile(live_ms, 99) < 0.3
    start = float(when_s.min())
    for minute in range(5, 60, 5):  # no stretch of the hour carries the excess
        part = (when_s >= start + minute * 60.0) & (when_s < start + (minute + 5) * 60.0)
        assert np.percentile(live_ms[part], 99) < 0.4, f"minutes {minute}-{minute + 5}"
    offline_ms, _ = pairwise_error_ms(hour, [replay_offline(pod) for pod in hour])
    assert np.percentile(offline_ms, 99) < 0.25


def test_the_previous_schedule_and_latch_miss_the_bar_margin() -> None:
    """The schedule before (10 Hz for 2 minutes, then 1 Hz) and the 500 µs ready latch: the
    error at the newest exchange is then more than twice as large (why they changed)."""
    spec = SessionSpec(
        minutes=30.0, ping_interval_s=1.0, startup_ping_interval_s=0.1, startup_ping_s=120.0
    )
    pods = simulate_clock_session(spec, seed=11)
    old = [replay_live(p, lambda: ClockModel(ready_uncertainty_us=500.0)) for p in pods]
    now = simulate_clock_session(SessionSpec(minutes=30.0), seed=11)
    new = [replay_live(p) for p in now]
    old_p99 = float(np.percentile(pairwise_error_ms(pods, old)[0], 99))
    new_p99 = float(np.percentile(pairwise_error_ms(now, new)[0], 99))
    assert old_p99 > 1.8 * new_p99
