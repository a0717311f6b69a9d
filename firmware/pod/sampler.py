"""Sampler: IMU FIFO words in, timed SAMPLES batches out.

The FIFO watermark interrupt only sets `pending`; the streaming task calls `poll`, which reads
the FIFO (tagged 7-byte words as the LSM6DSV16X delivers them: a tag byte, then X, Y, Z as
little-endian int16), copies accelerometer and gyroscope words straight into the encoder's
records, and sends a batch whenever one is full.

Timing: timestamp words in the FIFO carry the chip's tick counter for the samples after them;
samples between timestamp words are `ticks_per_sample` apart on the same oscillator. The first
sample of each batch is stamped with its tick count turned into device microseconds by the clock.
Samples read before the first timestamp word are dated backwards from it.

Orientation, when the stream carries it: the chip's game-rotation words (half-float x, y, z with
w >= 0) are turned into Q14 with integer arithmetic only; a chip without them gets a Mahony filter
run on each sample instead (floats: allocates on a chip whose floats are boxed).

Nothing is dropped silently: a FIFO overrun ends the batch in progress (so no batch spans a gap),
flags the next batch OVERRUN, and the samples lost in the gap are counted from the timestamps on
either side (`samples_lost`), as is every sample that could not be timed.
"""

from array import array

from micropython import const

from .clock import ChipClock, period_ns
from .protocol import FLAG_OVERRUN, SampleEncoder

TAG_GYRO = const(0x01)
TAG_ACC = const(0x02)
TAG_TIMESTAMP = const(0x04)
TAG_GAME_ROTATION = const(0x13)
ORIENTATION_NONE = const(0)
ORIENTATION_CHIP = const(1)
ORIENTATION_MAHONY = const(2)
_Q14_ONE = const(16384)
_Q14_ONE_SQUARED = const(16384 * 16384)
_WORD = const(7)
_FIELD_ACC = const(0)
_FIELD_GYR = const(1)


class Sampler:
    def __init__(
        self,
        imu: object,
        encoder: SampleEncoder,
        clock: ChipClock,
        ticks_per_sample: int,
        fifo_words: int = 128,
        orientation: int = ORIENTATION_NONE,
        mahony: object = None,
    ) -> None:
        self._imu = imu
        self._encoder = encoder
        self._clock = clock
        self._buf = bytearray(_WORD * fifo_words)
        self.ticks_per_sample = ticks_per_sample
        self.period_ns = period_ns(ticks_per_sample)
        self.pending = False
        self.seq = 0
        self.count = 0
        self.overruns = 0
        self.samples_lost = 0
        self._flags = 0
        self._has_acc = False
        self._has_gyr = False
        self._has_quat = False
        self.orientation = orientation
        self._mahony = mahony
        self._q = array("h", (_Q14_ONE, 0, 0, 0))
        self._dt_s = ticks_per_sample / 46080.0
        self._synced = False
        self._next_lo = 0
        self._next_hi = 0
        self._start_lo = 0
        self._start_hi = 0
        self._start_known = False
        self._gap = False
        self._gap_lo = 0
        self._gap_hi = 0

    def on_interrupt(self, _pin: object = None) -> None:
        """FIFO watermark interrupt handler: only sets a flag."""
        self.pending = True

    def poll(self, send: object) -> int:
        """Read the FIFO until it is below the watermark again (its interrupt is a level: it
        rises only after the FIFO drained) and hand every full batch to `send(message, seq)`;
        return how many batches went out."""
        self.pending = False
        sent = 0
        capacity = len(self._buf) // _WORD
        while True:
            words = self._imu.read_fifo(self._buf)  # type: ignore[attr-defined]
            sent += self._words(words, send)
            if words < capacity:
                return sent

    def _words(self, words: int, send: object) -> int:
        imu = self._imu
        sent = 0
        if imu.overrun:  # type: ignore[attr-defined]
            imu.overrun = False  # type: ignore[attr-defined]
            sent += self._overrun(send)
        buf = self._buf
        for i in range(words):
            base = i * _WORD
            tag = buf[base] >> 3
            if tag == TAG_TIMESTAMP:
                self._timestamp(
                    buf[base + 1] | (buf[base + 2] << 8), buf[base + 3] | (buf[base + 4] << 8)
                )
            elif tag == TAG_ACC:
                self._encoder.copy_axes(self.count, _FIELD_ACC, buf, base + 1)
                self._has_acc = True
            elif tag == TAG_GYRO:
                self._encoder.copy_axes(self.count, _FIELD_GYR, buf, base + 1)
                self._has_gyr = True
            elif tag == TAG_GAME_ROTATION and self.orientation == ORIENTATION_CHIP:
                self._chip_quaternion(buf, base + 1)
            if self._has_acc and self._has_gyr:
                if self.orientation == ORIENTATION_MAHONY:
                    self._mahony_quaternion()
                elif self.orientation == ORIENTATION_CHIP and not self._has_quat:
                    continue
                sent += self._commit(send)
        return sent

    def flush(self, send: object) -> int:
        """Send the batch in progress, however short (when streaming stops)."""
        return self._finish(send) if self.count else 0

    def _timestamp(self, lo16: int, hi16: int) -> None:
        if self._gap:
            self._clock_free_delta(lo16, hi16)
        self._gap = False
        if self.count and not self._start_known:
            self._start_lo, self._start_hi = lo16, hi16
            self._shift_start(-self.count * self.ticks_per_sample)
            self._start_known = True
        self._next_lo = lo16
        self._next_hi = hi16
        self._synced = True

    def _clock_free_delta(self, lo16: int, hi16: int) -> None:
        """Count the samples an overrun lost: slots from the expected next sample to this
        timestamp's, less those read since the overrun (they are in the batch in progress)."""
        high = ((hi16 - self._gap_hi + 0x8000) & 0xFFFF) - 0x8000
        delta = (high << 16) + lo16 - self._gap_lo
        missed = (delta + self.ticks_per_sample // 2) // self.ticks_per_sample - self.count
        if missed > 0:
            self.samples_lost += missed

    def _shift_start(self, ticks: int) -> None:
        lo = self._start_lo + ticks
        hi = self._start_hi
        while lo < 0:
            lo += 0x10000
            hi = (hi - 1) & 0xFFFF
        while lo > 0xFFFF:
            lo -= 0x10000
            hi = (hi + 1) & 0xFFFF
        self._start_lo = lo
        self._start_hi = hi

    def _chip_quaternion(self, buf: bytearray, at: int) -> None:
        x = half_to_q14(buf[at] | (buf[at + 1] << 8))
        y = half_to_q14(buf[at + 2] | (buf[at + 3] << 8))
        z = half_to_q14(buf[at + 4] | (buf[at + 5] << 8))
        w = isqrt(_Q14_ONE_SQUARED - x * x - y * y - z * z)
        self._encoder.put_quat(self.count, w, x, y, z)
        self._has_quat = True

    def _mahony_quaternion(self) -> None:
        """Run the filter on the record just completed (counts: the filter needs no units for
        the accelerometer; the gyroscope is scaled to rad/s)."""
        encoder = self._encoder
        imu = self._imu
        scale = imu.gyr_scale_radps_per_lsb  # type: ignore[attr-defined]
        ax, ay, az, gx, gy, gz = encoder.record_counts(self.count)
        filter_ = self._mahony
        filter_.update(gx * scale, gy * scale, gz * scale, ax, ay, az, self._dt_s)  # type: ignore[attr-defined]
        q = self._q
        filter_.quaternion_q14(q)  # type: ignore[attr-defined]
        encoder.put_quat(self.count, q[0], q[1], q[2], q[3])

    def _commit(self, send: object) -> int:
        self._has_acc = False
        self._has_gyr = False
        self._has_quat = False
        if self.count == 0 and self._synced:
            self._start_lo = self._next_lo
            self._start_hi = self._next_hi
            self._start_known = True
        if self._synced:
            lo = self._next_lo + self.ticks_per_sample
            if lo > 0xFFFF:
                lo -= 0x10000
                self._next_hi = (self._next_hi + 1) & 0xFFFF
            self._next_lo = lo
        self.count += 1
        if self.count == self._encoder.capacity:
            return self._finish(send)
        return 0

    def _finish(self, send: object) -> int:
        count = self.count
        self.count = 0
        if not self._start_known:
            self.samples_lost += count
            return 0
        self._start_known = False
        clock = self._clock
        clock.at(self._start_lo, self._start_hi)
        message = self._encoder.finish(
            self.seq, clock.t_hi, clock.t_lo, self.period_ns, count, self._flags
        )
        self._flags = 0
        send(message, self.seq)  # type: ignore[operator]
        self.seq += 1
        return 1

    def _overrun(self, send: object) -> int:
        """The FIFO overwrote samples: close the batch before the gap, mark the next one."""
        self.overruns += 1
        self._has_acc = False
        self._has_gyr = False
        sent = self.flush(send)
        self._flags = FLAG_OVERRUN
        if self._synced:
            self._gap = True
            self._gap_lo = self._next_lo
            self._gap_hi = self._next_hi
        self._synced = False
        return sent


def half_to_q14(bits: int) -> int:
    """An IEEE half float (as its 16 bits) times 16384, rounded, clamped to +-1.0: integers only."""
    exponent = (bits >> 10) & 0x1F
    mantissa = bits & 0x3FF
    if exponent == 0:
        value = (mantissa + 512) >> 10
    elif exponent == 0x1F:
        value = _Q14_ONE
    else:
        significand = 1024 + mantissa
        shift = exponent - 11
        if shift >= 0:
            value = significand << shift
        else:
            value = (significand + (1 << (-shift - 1))) >> -shift
        value = min(value, _Q14_ONE)
    return -value if bits & 0x8000 else value


def isqrt(n: int) -> int:
    """Integer square root (floor) of 0 <= n < 2^30, by Newton's method; 0 for n <= 0."""
    if n <= 0:
        return 0
    x = n
    y = (x + 1) >> 1
    while y < x:
        x = y
        y = (x + n // x) >> 1
    return x
