"""ST LSM6DSV16X accelerometer and gyroscope over I2C, read through its tagged FIFO.

Register facts are from ST DS13510 (section and table numbers of that document); the interface
is the one every chip module implements (see `pod.imu`). The FIFO is read in one burst from
FIFO_DATA_OUT_TAG: with IF_INC set the address wraps from 7Eh back to 78h after each word, so k
words are k * 7 bytes of one transfer (as ST's and Linux's drivers read it).

Nothing here allocates after `configure` except the first `read_fifo` or `read_timestamp` with a
new buffer, which makes that buffer's memoryviews once: pass the same buffer every time.
"""

from micropython import const

TAG_GYRO = const(0x01)  # gyroscope, not compressed (table 218)
TAG_ACC = const(0x02)  # accelerometer, not compressed
TAG_TIMESTAMP = const(0x04)
TAG_GAME_ROTATION = const(0x13)  # SFLP game rotation vector: X, Y, Z as half floats, W >= 0
WORD_BYTES = const(7)
FIFO_WORDS = const(256)  # 1.5 KB of 6-byte words (6.12)
WHO_AM_I_VALUE = const(0x70)
DEFAULT_ADDRESS = const(0x6A)  # SA0 low; 6Bh with SA0 high (5.1.2)

# Main-bank registers (table 24).
_FUNC_CFG_ACCESS = const(0x01)
_FIFO_CTRL1 = const(0x07)
_FIFO_CTRL2 = const(0x08)
_FIFO_CTRL3 = const(0x09)
_FIFO_CTRL4 = const(0x0A)
_INT1_CTRL = const(0x0D)
_WHO_AM_I = const(0x0F)
_CTRL1 = const(0x10)
_CTRL2 = const(0x11)
_CTRL3 = const(0x12)
_CTRL6 = const(0x15)
_CTRL8 = const(0x17)
_FIFO_STATUS1 = const(0x1B)
_TIMESTAMP0 = const(0x40)
_WAKE_UP_SRC = const(0x45)
_FUNCTIONS_ENABLE = const(0x50)
_INACTIVITY_DUR = const(0x54)
_INACTIVITY_THS = const(0x55)
_TAP_CFG0 = const(0x56)
_WAKE_UP_THS = const(0x5B)
_WAKE_UP_DUR = const(0x5C)
_MD1_CFG = const(0x5E)
_FIFO_DATA_OUT_TAG = const(0x78)
# Embedded-functions bank (table 262), selected by FUNC_CFG_ACCESS.EMB_FUNC_REG_ACCESS.
_EMB_FUNC_EN_A = const(0x04)
_EMB_FUNC_FIFO_EN_A = const(0x44)
_SFLP_ODR = const(0x5E)

# Bits.
_EMB_FUNC_REG_ACCESS = const(0x80)
_CTRL3_DEFAULT = const(0x44)  # BDU and IF_INC, as after reset
_SW_RESET = const(0x01)
_TIMESTAMP_EN = const(0x40)
_INT1_FIFO_TH = const(0x08)
_DIFF_FIFO_8 = const(0x01)  # FIFO_STATUS2
_FIFO_OVR_LATCHED = const(0x08)
_FIFO_OVR_IA = const(0x40)
_FIFO_BYPASS = const(0x00)
_FIFO_CONTINUOUS = const(0x06)
_DEC_TS_8 = const(0x80)  # DEC_TS_BATCH = 10b: a timestamp word every 8 batches
_DEC_TS_32 = const(0xC0)  # DEC_TS_BATCH = 11b: every 32 batches
_OP_MODE_XL_LP1 = const(0x40)  # CTRL1 OP_MODE_XL_[2:0] = 100b: low-power mode 1
_SFLP_GAME = const(0x02)  # SFLP_GAME_EN in EMB_FUNC_EN_A, SFLP_GAME_FIFO_EN in EMB_FUNC_FIFO_EN_A
_SFLP_ODR_FIELD = const(0x38)
# Activity/inactivity (register descriptions of FUNCTIONS_ENABLE, INACTIVITY_DUR, WAKE_UP_DUR,
# MD1_CFG, WAKE_UP_SRC): INTERRUPTS_ENABLE | INACT_EN 11b (accelerometer to the inactive rate,
# gyroscope powered down); XL_INACT_ODR 01b = 15 Hz; LIR latches events until WAKE_UP_SRC is read.
_ACTIVITY_BITS = const(0x83)
_XL_INACT_15HZ = const(0x04)
_LIR = const(0x01)
_INT1_SLEEP_CHANGE = const(0x80)
_SLEEP_STATE = const(0x10)
_THS_MAX = const(63)
_SLEEP_DUR_MAX = const(15)
_SLEEP_DUR_PERIODS = const(512)
_MAX_WATERMARK = const(255)
_MAX_DIFF_FIFO = const(511)  # DIFF_FIFO_[8:0]
_RESET_POLLS = const(100)

# Rates: ODR/BDR code (tables 52, 55, 38) and SFLP_GAME_ODR code (15 Hz << code; -1 would mark a
# rate the SFLP cannot run at, as above 480 Hz).
_RATES_HZ = (60, 120, 240, 480)
_ODR_CODES = (5, 6, 7, 8)
_LP_RATES_HZ = (60, 120, 240)
_SFLP_CODES = (2, 3, 4, 5)
# Full scales: FS_XL / FS_G code and sensitivity (table 3).
_ACC_RANGES_G = (2, 4, 8, 16)
_ACC_MG_PER_LSB = (0.061, 0.122, 0.244, 0.488)
_GYR_RANGES_DPS = (125, 250, 500, 1000, 2000, 4000)
_GYR_CODES = (0, 1, 2, 3, 4, 12)
_GYR_MDPS_PER_LSB = (4.375, 8.75, 17.5, 35.0, 70.0, 140.0)
_MPS2_PER_MG = 9.80665e-3
_RADPS_PER_MDPS = 1.7453292519943295e-05  # pi / 180 / 1000


def tag_of(buf: bytearray | memoryview, i: int) -> int:
    """FIFO tag of word i of a `read_fifo` result (TAG_SENSOR_[4:0], bits 7:3 of the tag byte)."""
    return buf[7 * i] >> 3


class Lsm6dsv16x:
    """One LSM6DSV16X on an I2C bus; checks WHO_AM_I and resets the chip on construction."""

    TICK_HZ = 46080  # timestamp counter, nominal (INTERNAL_FREQ_FINE formula, table 146)

    def __init__(self, i2c, address: int = DEFAULT_ADDRESS) -> None:
        self._i2c = i2c
        self._address = address
        self._one = bytearray(1)
        self._status = bytearray(2)
        self._fifo_buf: object = None
        self._fifo_views: list[memoryview] = []
        self._fifo_max = 0
        self._ts_buf: object = None
        self._ts_view = memoryview(self._one)
        self.rate_hz = 0
        self.quaternion = False
        self.acc_scale_mps2_per_lsb = 0.0
        self.gyr_scale_radps_per_lsb = 0.0
        self.ticks_per_sample = 0
        self.overrun = False
        self.overruns = 0
        who = -1
        bus_error: object = None
        try:
            who = self._read(_WHO_AM_I)
        except OSError as error:  # raised below: MicroPython has no exception chaining
            bus_error = error
        if bus_error is not None:
            raise OSError(
                "no LSM6DSV16X at I2C address 0x%02x: the bus gave %s; check wiring, power and "
                "SA0 (0x6a low, 0x6b high)" % (address, bus_error)
            )
        if who != WHO_AM_I_VALUE:
            raise OSError(
                "the chip at I2C address 0x%02x is not an LSM6DSV16X: WHO_AM_I reads 0x%02x, "
                "expected 0x70 (0x6c is an LSM6DSO/LSM6DSOX)" % (address, who)
            )
        self._reset()

    # ------------------------------------------------------------------------- setup

    def configure(
        self,
        rate_hz: int,
        acc_range_g: int = 16,
        gyr_range_dps: int = 2000,
        watermark_words: int = 40,
        quaternion: bool = False,
    ) -> None:
        """Stream accelerometer and gyroscope at rate_hz through the FIFO (restarting it empty).

        High-performance mode; a timestamp word every 8 samples; INT1 high while at least
        `watermark_words` words (1-255) are unread. With `quaternion` the SFLP game rotation
        vector is batched too, at the same rate (ValueError where the SFLP cannot run).
        """
        if rate_hz not in _RATES_HZ:
            raise ValueError("rate %r Hz is not supported: use 60, 120, 240 or 480" % (rate_hz,))
        if acc_range_g not in _ACC_RANGES_G:
            raise ValueError("accelerometer range %r g is not 2, 4, 8 or 16" % (acc_range_g,))
        if gyr_range_dps not in _GYR_RANGES_DPS:
            raise ValueError(
                "gyroscope range %r dps is not 125, 250, 500, 1000, 2000 or 4000" % (gyr_range_dps,)
            )
        if not 1 <= watermark_words <= _MAX_WATERMARK:
            raise ValueError("watermark %r words is not 1 to 255" % (watermark_words,))
        rate = _RATES_HZ.index(rate_hz)
        if quaternion and _SFLP_CODES[rate] < 0:
            raise ValueError("the SFLP game rotation vector runs at 15 to 480 Hz, not %d" % rate_hz)
        odr = _ODR_CODES[rate]
        acc = _ACC_RANGES_G.index(acc_range_g)
        gyr = _GYR_RANGES_DPS.index(gyr_range_dps)

        self._write(_FIFO_CTRL4, _FIFO_BYPASS)  # empties the FIFO
        self._write(_CTRL8, acc)
        self._write(_CTRL6, _GYR_CODES[gyr])
        self._write(_CTRL1, odr)  # OP_MODE_XL 000: high performance
        self._write(_CTRL2, odr)
        self._write(_FUNCTIONS_ENABLE, self._functions() | _TIMESTAMP_EN)
        self._set_sflp(_SFLP_CODES[rate] if quaternion else -1)
        self._write(_FIFO_CTRL1, watermark_words)
        self._write(_FIFO_CTRL2, 0)  # no STOP_ON_WTM: the whole FIFO is used
        self._write(_FIFO_CTRL3, odr << 4 | odr)  # BDR_GY, BDR_XL
        self._write(_INT1_CTRL, _INT1_FIFO_TH)
        self._i2c.readfrom_mem_into(self._address, _FIFO_STATUS1, self._status)  # clears latch
        self._write(_FIFO_CTRL4, _DEC_TS_8 | _FIFO_CONTINUOUS)

        self.rate_hz = rate_hz
        self.quaternion = quaternion
        self.acc_scale_mps2_per_lsb = _ACC_MG_PER_LSB[acc] * _MPS2_PER_MG
        self.gyr_scale_radps_per_lsb = _GYR_MDPS_PER_LSB[gyr] * _RADPS_PER_MDPS
        self.ticks_per_sample = self.TICK_HZ // rate_hz
        self.overrun = False

    def scales(self, acc_range_g: int, gyr_range_dps: int) -> tuple:
        """(m/s^2 per LSB, rad/s per LSB) that `configure` with these ranges will set, without
        touching the chip (a stream's scales before it starts)."""
        if acc_range_g not in _ACC_RANGES_G:
            raise ValueError("accelerometer range %r g is not 2, 4, 8 or 16" % (acc_range_g,))
        if gyr_range_dps not in _GYR_RANGES_DPS:
            raise ValueError(
                "gyroscope range %r dps is not 125, 250, 500, 1000, 2000 or 4000" % (gyr_range_dps,)
            )
        return (
            _ACC_MG_PER_LSB[_ACC_RANGES_G.index(acc_range_g)] * _MPS2_PER_MG,
            _GYR_MDPS_PER_LSB[_GYR_RANGES_DPS.index(gyr_range_dps)] * _RADPS_PER_MDPS,
        )

    def configure_logging(self, rate_hz: int, acc_range_g: int, watermark_words: int) -> None:
        """The accelerometer alone, in low-power mode 1 (OP_MODE_XL 100b, table 52: two-sample
        average, up to 240 Hz), through the FIFO with a timestamp every 32 samples; the
        gyroscope and the SFLP are off. INT1 high at `watermark_words` unread words."""
        if rate_hz not in _LP_RATES_HZ:
            raise ValueError("low-power rate %r Hz is not 60, 120 or 240" % (rate_hz,))
        if acc_range_g not in _ACC_RANGES_G:
            raise ValueError("accelerometer range %r g is not 2, 4, 8 or 16" % (acc_range_g,))
        if not 1 <= watermark_words <= _MAX_WATERMARK:
            raise ValueError("watermark %r words is not 1 to 255" % (watermark_words,))
        odr = _ODR_CODES[_RATES_HZ.index(rate_hz)]
        acc = _ACC_RANGES_G.index(acc_range_g)
        self._write(_FIFO_CTRL4, _FIFO_BYPASS)
        self._write(_CTRL2, 0)  # gyroscope off
        self._set_sflp(-1)
        self._write(_CTRL8, acc)
        self._write(_CTRL1, _OP_MODE_XL_LP1 | odr)
        self._write(_FUNCTIONS_ENABLE, self._functions() | _TIMESTAMP_EN)
        self._write(_FIFO_CTRL1, watermark_words)
        self._write(_FIFO_CTRL2, 0)
        self._write(_FIFO_CTRL3, odr)  # BDR_XL only
        self._write(_INT1_CTRL, _INT1_FIFO_TH)
        self._i2c.readfrom_mem_into(self._address, _FIFO_STATUS1, self._status)
        self._write(_FIFO_CTRL4, _DEC_TS_32 | _FIFO_CONTINUOUS)
        self.rate_hz = rate_hz
        self.quaternion = False
        self.acc_scale_mps2_per_lsb = _ACC_MG_PER_LSB[acc] * _MPS2_PER_MG
        self.ticks_per_sample = self.TICK_HZ // rate_hz
        self.overrun = False

    def configure_inactivity(self, threshold_mg: int, still_s: int) -> None:
        """After `still_s` seconds (rounded up to 512 samples, at most 15 x 512) with every axis'
        slope at or below `threshold_mg`, the chip drops the accelerometer to 15 Hz and powers
        the gyroscope down; on the first 15 Hz sample above it, it returns to the configured
        rate. Each change raises INT1 (MD1_CFG INT1_SLEEP_CHANGE; latched until `asleep` reads
        WAKE_UP_SRC). Call after `configure_logging` or `configure`."""
        if self.rate_hz == 0:
            raise ValueError("configure a rate before inactivity detection")
        weight = 0
        while weight < 5 and threshold_mg * 128 > _THS_MAX * (1000 << weight):
            weight += 1  # WU_INACT_THS_W: 7.8125 mg << weight per LSB
        ths = min(_THS_MAX, max(1, (threshold_mg * 128 + (500 << weight)) // (1000 << weight)))
        periods = (still_s * self.rate_hz + _SLEEP_DUR_PERIODS - 1) // _SLEEP_DUR_PERIODS
        self._write(_INACTIVITY_DUR, weight << 4 | _XL_INACT_15HZ)  # wake at the first sample
        self._write(_INACTIVITY_THS, ths)
        self._write(_WAKE_UP_THS, ths)
        self._write(_WAKE_UP_DUR, min(_SLEEP_DUR_MAX, max(1, periods)))
        self._write(_TAP_CFG0, self._read(_TAP_CFG0) | _LIR)
        self._write(_MD1_CFG, _INT1_SLEEP_CHANGE)
        self._write(_FUNCTIONS_ENABLE, self._read(_FUNCTIONS_ENABLE) | _ACTIVITY_BITS)

    def asleep(self) -> bool:
        """True while the chip is in its inactive state (WAKE_UP_SRC.SLEEP_STATE); the read
        clears the latched sleep-change event and with it INT1."""
        return bool(self._read(_WAKE_UP_SRC) & _SLEEP_STATE)

    def pause_fifo(self) -> None:
        """FIFO in bypass (emptied, nothing batched); sensors and functions keep running."""
        self._write(_FIFO_CTRL4, _FIFO_BYPASS)

    def resume_fifo(self) -> None:
        """FIFO continuous again after `pause_fifo`, as `configure_logging` set it."""
        self._i2c.readfrom_mem_into(self._address, _FIFO_STATUS1, self._status)
        self._write(_FIFO_CTRL4, _DEC_TS_32 | _FIFO_CONTINUOUS)
        self.overrun = False

    def stop(self) -> None:
        """Accelerometer and gyroscope powered down (SFLP stops with them), FIFO in bypass,
        activity/inactivity off."""
        self._write(_FUNCTIONS_ENABLE, self._functions())
        self._write(_MD1_CFG, 0)
        self._write(_CTRL1, 0)
        self._write(_CTRL2, 0)
        self._write(_FIFO_CTRL4, _FIFO_BYPASS)
        self.rate_hz = 0

    # ------------------------------------------------------------------------- streaming

    def read_fifo(self, buf: bytearray | memoryview) -> int:
        """Move the oldest unread words that fit into buf[0:7n]; return n (0 when empty).

        Sets `overrun` when words were overwritten since the last call and counts it in
        `overruns`. The first call with a buffer makes its views; later calls allocate nothing.
        When n fills buf more words may be waiting, and INT1 (a level) then stays high without a
        new edge: call again until n is smaller.
        """
        if buf is not self._fifo_buf:
            self._bind_fifo(buf)
        status = self._status
        self._i2c.readfrom_mem_into(self._address, _FIFO_STATUS1, status)
        flags = status[1]
        if flags & (_FIFO_OVR_LATCHED | _FIFO_OVR_IA):
            self.overrun = True
            self.overruns += 1
        else:
            self.overrun = False
        n = status[0] | (flags & _DIFF_FIFO_8) << 8
        n = min(n, self._fifo_max)
        if n:
            self._i2c.readfrom_mem_into(self._address, _FIFO_DATA_OUT_TAG, self._fifo_views[n])
        return n

    def read_timestamp(self, buf: bytearray | memoryview) -> None:
        """The timestamp counter now (TIMESTAMP0-3), little-endian 32-bit, into buf[0:4]."""
        if buf is not self._ts_buf:
            self._ts_view = memoryview(buf)[:4]
            self._ts_buf = buf
        self._i2c.readfrom_mem_into(self._address, _TIMESTAMP0, self._ts_view)

    # ------------------------------------------------------------------------- registers

    def _bind_fifo(self, buf: bytearray | memoryview) -> None:
        whole = memoryview(buf)
        most = min(len(buf) // WORD_BYTES, _MAX_DIFF_FIFO)
        self._fifo_views = [whole[: WORD_BYTES * k] for k in range(most + 1)]
        self._fifo_max = most
        self._fifo_buf = buf

    def _read(self, register: int) -> int:
        self._i2c.readfrom_mem_into(self._address, register, self._one)
        return self._one[0]

    def _write(self, register: int, value: int) -> None:
        self._one[0] = value
        self._i2c.writeto_mem(self._address, register, self._one)

    def _functions(self) -> int:
        """FUNCTIONS_ENABLE with the activity/inactivity bits cleared."""
        return self._read(_FUNCTIONS_ENABLE) & ~_ACTIVITY_BITS & 0xFF

    def _reset(self) -> None:
        """Software reset (control registers to defaults) from any state a previous run left."""
        self._write(_FUNC_CFG_ACCESS, 0)
        self._write(_CTRL1, 0)
        self._write(_CTRL2, 0)
        self._write(_CTRL3, _CTRL3_DEFAULT | _SW_RESET)
        for _ in range(_RESET_POLLS):
            if not self._read(_CTRL3) & _SW_RESET:
                break
        else:
            raise OSError("LSM6DSV16X at 0x%02x: software reset never finished" % self._address)
        self._write(_CTRL3, _CTRL3_DEFAULT)

    def _set_sflp(self, odr_code: int) -> None:
        """SFLP game rotation vector on at SFLP_GAME_ODR code odr_code, or off if it is < 0."""
        self._write(_FUNC_CFG_ACCESS, _EMB_FUNC_REG_ACCESS)
        try:
            enable = self._read(_EMB_FUNC_EN_A) & ~_SFLP_GAME & 0xFF
            batch = self._read(_EMB_FUNC_FIFO_EN_A) & ~_SFLP_GAME & 0xFF
            if odr_code >= 0:
                odr = self._read(_SFLP_ODR) & ~_SFLP_ODR_FIELD & 0xFF
                self._write(_SFLP_ODR, odr | odr_code << 3)
                enable |= _SFLP_GAME
                batch |= _SFLP_GAME
            self._write(_EMB_FUNC_FIFO_EN_A, batch)
            self._write(_EMB_FUNC_EN_A, enable)
        finally:
            self._write(_FUNC_CFG_ACCESS, 0)
