"""Device time: the IMU's own timestamp counter, in microseconds, extended past wrap-around.

The pod's clock is the IMU chip's 32-bit timestamp counter (46080 Hz nominal on the LSM6DSV16X),
the same oscillator that paces its samples, so sample times are exact on it and the host only has
to fit one offset and one drift per pod. Nothing here knows host time.

Microseconds grow past 2^30, where MicroPython on a 32-bit chip would need a long integer, so the
clock keeps them as two small integers: `t_hi` (microseconds >> 24) and `t_lo` (the low 24 bits),
the pair the protocol encoder takes. Ticks arrive as their two 16-bit halves for the same reason.
The conversion is exact: 1 tick = 15625/720 us, and the remainder is carried, so no rounding
error accumulates however long the pod runs.
"""

from micropython import const

_US_PER_TICK_NUM = const(15625)
_US_PER_TICK_DEN = const(720)
_LO_BITS = const(24)
_LO_MASK = const(0xFFFFFF)
_MAX_STEP_TICKS = const(1 << 22)


class ChipClock:
    """Follows a 32-bit tick counter that only moves forward, in steps of less than 2^31 ticks.

    `advance(lo16, hi16)` moves the reference to a newer reading and leaves its time in
    `t_hi`, `t_lo`; `back(ticks)` turns an earlier time, `ticks` before the reference, into the
    same pair without moving the reference. Neither allocates.
    """

    def __init__(self) -> None:
        self.started = False
        self._lo16 = 0
        self._hi16 = 0
        self._us_hi = 0
        self._us_lo = 0
        self._remainder = 0
        self.t_hi = 0
        self.t_lo = 0

    def delta_ticks(self, lo16: int, hi16: int) -> int:
        """Signed ticks from the reference to (lo16, hi16), for readings within 2^29 ticks."""
        high = ((hi16 - self._hi16 + 0x8000) & 0xFFFF) - 0x8000
        return (high << 16) + lo16 - self._lo16

    def advance(self, lo16: int, hi16: int) -> None:
        if not self.started:
            self.started = True
            self._lo16 = lo16
            self._hi16 = hi16
            self.t_hi = 0
            self.t_lo = 0
            return
        delta = self.delta_ticks(lo16, hi16)
        if delta < 0:
            raise ValueError("the tick counter went backwards")
        while delta > 0:
            step = delta if delta < _MAX_STEP_TICKS else _MAX_STEP_TICKS
            delta -= step
            whole = (step // _US_PER_TICK_DEN) * _US_PER_TICK_NUM
            part = (step % _US_PER_TICK_DEN) * _US_PER_TICK_NUM + self._remainder
            self._remainder = part % _US_PER_TICK_DEN
            self._add(whole + part // _US_PER_TICK_DEN)
        self._lo16 = lo16
        self._hi16 = hi16
        self.t_hi = self._us_hi
        self.t_lo = self._us_lo

    def at(self, lo16: int, hi16: int) -> None:
        """The time of any reading into `t_hi`, `t_lo`: a newer one moves the reference
        (`advance`), an older one (up to 2^22 ticks, 91 s, back) is dated with `back`. A ping
        answered while samples older than it still wait in the FIFO needs this."""
        if not self.started:
            self.advance(lo16, hi16)
            return
        delta = self.delta_ticks(lo16, hi16)
        if delta >= 0:
            self.advance(lo16, hi16)
        elif -delta <= _MAX_STEP_TICKS:
            self.back(-delta)
        else:
            raise ValueError("the tick counter went backwards")

    def _add(self, us: int) -> None:
        lo = self._us_lo + us
        self._us_hi += lo >> _LO_BITS
        self._us_lo = lo & _LO_MASK

    def back(self, ticks: int) -> None:
        """Time `ticks` (0 to 2^22) before the reference, into `t_hi`, `t_lo` (rounded down)."""
        part = (ticks % _US_PER_TICK_DEN) * _US_PER_TICK_NUM - self._remainder
        us = (ticks // _US_PER_TICK_DEN) * _US_PER_TICK_NUM - (-part // _US_PER_TICK_DEN)
        lo = self._us_lo - us
        hi = self._us_hi
        while lo < 0:
            lo += 1 << _LO_BITS
            hi -= 1
        self.t_hi = hi
        self.t_lo = lo


def period_ns(ticks_per_sample: int) -> int:
    """Sample period in nanoseconds on this clock: ticks * 10^9 / 46080, rounded."""
    return (ticks_per_sample * 15625000 + 360) // 720
