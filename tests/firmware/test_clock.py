"""The pod clock: ticks of the IMU counter to extended microseconds, exactly, without allocation."""

from fwtest import IS_MICROPYTHON, raises
from pod.clock import ChipClock, period_ns

TICK_US_NUM = 15625
TICK_US_DEN = 720


def _halves(ticks: int) -> tuple:
    ticks &= 0xFFFFFFFF
    return ticks & 0xFFFF, ticks >> 16


def _us(clock: ChipClock) -> int:
    return (clock.t_hi << 24) + clock.t_lo


def test_first_reading_is_time_zero_and_time_follows_ticks_exactly():
    clock = ChipClock()
    start = 123456
    clock.advance(*_halves(start))
    assert _us(clock) == 0
    ticks = start
    for step in (1, 383, 384, 384 * 18, 46080, 46080 * 60, 4000000):
        ticks += step
        clock.advance(*_halves(ticks))
        assert _us(clock) == ((ticks - start) * TICK_US_NUM) // TICK_US_DEN, step


def test_wraps_of_the_32_bit_counter_are_followed_for_days():
    clock = ChipClock()
    ticks = 0xFFFF0000
    clock.advance(*_halves(ticks))
    total = 0
    step = 46080 * 60 * 5
    for _ in range(12 * 24 * 3):  # three days in five-minute steps: eight wraps of the counter
        ticks += step
        total += step
        clock.advance(*_halves(ticks))
    assert _us(clock) == (total * TICK_US_NUM) // TICK_US_DEN
    assert clock.t_hi > (1 << 8), "past 2^32 us, far beyond small integers"


def test_back_dates_earlier_samples():
    clock = ChipClock()
    clock.advance(*_halves(1000))
    clock.advance(*_halves(1000 + 384 * 25 + 7))
    now = _us(clock)
    clock.back(384 * 3)
    exact_now = (384 * 25 + 7) * TICK_US_NUM / TICK_US_DEN
    assert _us(clock) == int(exact_now - 384 * 3 * TICK_US_NUM / TICK_US_DEN)
    assert _us(clock) < now
    clock.back(0)
    assert _us(clock) == now


def test_counter_going_backwards_is_refused():
    clock = ChipClock()
    clock.advance(*_halves(5000))
    error = raises(ValueError, clock.advance, *_halves(4000))
    assert "backwards" in str(error)


def test_period_in_nanoseconds():
    assert period_ns(384) == 8333333
    assert period_ns(768) == 16666667
    assert period_ns(96) == 2083333


def test_clock_allocates_nothing():
    if not IS_MICROPYTHON:
        return
    import gc

    import micropython

    clock = ChipClock()
    clock.advance(0, 0)
    lo, hi = 0, 0
    gc.collect()
    micropython.heap_lock()
    try:
        for _ in range(2000):
            lo += 6912
            if lo >= 65536:
                lo -= 65536
                hi = (hi + 1) & 0xFFFF
            clock.advance(lo, hi)
            clock.back(1000)
    finally:
        micropython.heap_unlock()


def test_older_reading_is_dated_without_moving_the_reference():
    clock = ChipClock()
    clock.advance(*_halves(0))
    clock.advance(*_halves(46080))  # a ping read the counter at 1 s
    clock.at(*_halves(23040))  # a batch whose first sample was at 0.5 s
    assert _us(clock) == 500000
    clock.at(*_halves(69120))
    assert _us(clock) == 1500000
    error = raises(ValueError, clock.at, *_halves(69120 - (1 << 22) - 1))
    assert "backwards" in str(error)
