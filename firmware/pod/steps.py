"""On-pod step detection from a foot pod's accelerometer, in integer arithmetic, any mounting.

Only the magnitude of the specific force is used, so the pod may sit at any angle on the foot.
A step is a stance: the foot rests flat on the ground (magnitude within 0.15 g of 1 g) for at
least 80 ms, right after an impact (a peak of at least 2 g in the 250 ms before the rest
began). Its initial contact is the first peak of at least 60 % of the largest there (the
slap when the forefoot lands can be as large); stance ends at toe-off, the strongest push-off
peak in the 400 ms after the foot leaves its rest (two samples out of the band). A rest longer than
1020 ms ends the bout: the step is emitted with `FLAG_STANCE_OPEN` and no toe-off. An impact
must come 40 ms or more after the previous toe-off, so a push-off before standing still is no step.

Per step the detector reports the sample index of initial contact, the stance in samples, the
impact peak and the loading rate (the mean rise of the magnitude into the peak, a
cheap foot-strike proxy: a rear-foot strike loads steeply, a fore-foot strike hardly at all).

Per sample it does a few integer multiplications and allocates nothing: counts are shifted down
to about 256 per g first, so squared magnitudes stay small integers on a 32-bit MicroPython.
"""

from array import array
from math import sqrt

from micropython import const

FLAG_STANCE_OPEN = const(1)  # the foot stayed at rest: the bout ended, stance is a lower bound
FLAG_IMPACT_CLIPPED = const(2)  # an axis saturated at the impact: the peak is a lower bound
FLAG_GAP = const(4)  # samples were lost (FIFO overrun) since the previous step

QUIET_MS = const(80)
LOOKBACK_MS = const(250)
TOE_OFF_MS = const(400)
STANCE_CAP_MS = const(1020)
PUSH_OFF_MS = const(40)
_SATURATED = const(32767)


class StepDetector:
    """Feed accelerometer counts with `feed`; each step calls `on_step(ic_index,
    stance_samples, impact_g16, loading, flags)` (stance_samples -1 when the stance is open)."""

    def __init__(self, counts_per_g: float, rate_hz: int, on_step: object) -> None:
        shift = 0
        while counts_per_g / (1 << (shift + 1)) >= 256:
            shift += 1
        self._shift = shift
        g = counts_per_g / (1 << shift)
        self._g = g
        g2 = g * g
        self._quiet_lo = int(0.7225 * g2)  # (1 - 0.15 g)^2
        self._quiet_hi = int(1.3225 * g2)  # (1 + 0.15 g)^2
        self._impact = int(4 * g2)  # (2 g)^2
        self.rate_hz = rate_hz
        self._quiet_min = max(2, rate_hz * QUIET_MS // 1000)
        self._lookback = rate_hz * LOOKBACK_MS // 1000
        self._toe_window = rate_hz * TOE_OFF_MS // 1000
        self._cap = rate_hz * STANCE_CAP_MS // 1000
        self._push_off = max(1, rate_hz * PUSH_OFF_MS // 1000)
        self._ring_len = self._quiet_min + self._lookback + 1
        self._ring = array("i", [0] * self._ring_len)
        self._clip = bytearray(self._ring_len)
        self._on_step = on_step
        self.index = 0
        self.steps = 0
        self._quiet_run = 0
        self._loud_run = 0
        self._in_stance = False
        self._toe_search = False
        self._ic = 0
        self._ic_m2 = 0
        self._ic_prev_m2 = 0
        self._ic_rise = 1
        self._ic_flags = 0
        self._toe_until = 0
        self._toe_m2 = 0
        self._toe_at = 0
        self._gap = 0
        self._after = -1  # an impact must come after this sample (the last push-off)

    def mark_gap(self, lost_samples: int, flag: int = FLAG_GAP) -> None:
        """Samples were lost (or not taken: the pod slept while still): finish a pending step,
        skip the index past the lost samples and flag the next step with `flag`."""
        if self._toe_search:
            self._emit(self._toe_at - self._ic)
        elif self._in_stance:
            self._emit(-1)
        self.index += lost_samples
        self._gap = flag
        self._quiet_run = 0
        self._in_stance = False
        self._toe_search = False
        self._after = self.index - 1

    def feed(self, ax: int, ay: int, az: int) -> None:
        s = self._shift
        x = ax >> s
        y = ay >> s
        z = az >> s
        m2 = x * x + y * y + z * z
        i = self.index
        slot = i % self._ring_len
        self._ring[slot] = m2
        clipped = ax >= _SATURATED or ay >= _SATURATED or az >= _SATURATED
        clipped = clipped or ax <= -_SATURATED or ay <= -_SATURATED or az <= -_SATURATED
        self._clip[slot] = 1 if clipped else 0
        if self._quiet_lo <= m2 <= self._quiet_hi:
            self._quiet_run += 1
            self._loud_run = 0
        else:
            self._quiet_run = 0
            self._loud_run += 1
        if self._toe_search:
            if m2 > self._toe_m2:
                self._toe_m2 = m2
                self._toe_at = i
            if i >= self._toe_until or self._quiet_run >= self._quiet_min:
                self._toe_search = False
                self._after = self._toe_at + self._push_off  # the push-off peak is no impact
                self._emit(self._toe_at - self._ic)
        if self._in_stance:
            if self._loud_run >= 2:  # heel off
                self._in_stance = False
                self._toe_search = True
                self._toe_until = i + self._toe_window
                before = self._ring[(i - 1) % self._ring_len]
                self._toe_m2 = max(m2, before)  # the two samples that left the rest count too
                self._toe_at = i - 1 if before >= m2 else i
            elif i - self._ic >= self._cap:  # the foot stayed down: the bout is over
                self._in_stance = False
                self._after = i
                self._emit(-1)
        elif self._quiet_run == self._quiet_min and not self._toe_search:
            self._find_impact(i - self._quiet_min + 1)
        self.index = i + 1

    def _find_impact(self, rest_start: int) -> None:
        """Look for the impact before a rest that began at sample `rest_start`."""
        ring = self._ring
        n = self._ring_len
        best = -1
        best_m2 = 0
        first = max(rest_start - self._lookback, self._after + 1, 0)
        for k in range(first, rest_start):
            value = ring[k % n]
            if value > best_m2:
                best_m2 = value
                best = k
        if best < 0 or best_m2 < self._impact:
            return
        # Initial contact is the first peak of at least 60 % of the largest (the foot-flat slap
        # that follows can be as large): the first sample over that level, then uphill.
        level = max(self._impact, best_m2 * 9 // 25)
        k = first
        while ring[k % n] < level:
            k += 1
        climb_from = k
        while k + 1 < rest_start and ring[(k + 1) % n] > ring[k % n]:
            k += 1
        best = k
        best_m2 = ring[k % n]
        self._in_stance = True
        self._ic = best
        self._ic_m2 = best_m2
        self._ic_prev_m2 = ring[(climb_from - 1) % n] if climb_from > 0 else best_m2
        self._ic_rise = best - climb_from + 1
        self._ic_flags = FLAG_IMPACT_CLIPPED if self._clip[best % n] else 0

    def _emit(self, stance_samples: int) -> None:
        g = self._g
        peak_g = sqrt(self._ic_m2) / g
        rise_gps = (peak_g - sqrt(self._ic_prev_m2) / g) * self.rate_hz / self._ic_rise
        impact_g16 = min(255, int(peak_g * 16 + 0.5))
        loading = max(0, min(255, int(rise_gps / 16 + 0.5)))
        flags = self._ic_flags | self._gap
        if stance_samples < 0:
            flags |= FLAG_STANCE_OPEN
        self._gap = 0
        self.steps += 1
        self._on_step(self._ic, stance_samples, impact_g16, loading, flags)  # type: ignore[operator]
