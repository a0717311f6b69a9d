"""Register-level emulation of the ST LSM6DSV16X IMU, for running pod firmware under CPython.

`Lsm6dsv16xEmulator` answers the MicroPython `machine.I2C` memory API (`readfrom_mem`,
`readfrom_mem_into`, `writeto_mem`) as the chip does on the bus. `advance_to(t_s)` moves physical
time forward: the chip samples a motion `signal` on its own, possibly mistuned, oscillator,
quantises at the configured full scale and batches into its tagged FIFO. Nothing reads the wall
clock. Interrupt edges and FIFO contents are settled at the end of each `advance_to`, so a harness
that wants interrupt latency advances in steps no longer than the latency it models.

Datasheet facts used (ST DS13510, LSM6DSV16X; sections and tables of that document):
- I2C address 110101xb: 6Ah with SA0 low, 6Bh high (5.1.2). WHO_AM_I (0Fh) reads 70h.
- Register map and defaults (table 24): CTRL3 44h (BDU and IF_INC set), PIN_CTRL 23h, DEN 0Eh,
  INACTIVITY_DUR 04h, other control registers 00h; PIN_CTRL and IF_CFG survive SW_RESET (9.2, 9.3).
- CTRL1/CTRL2 ODR_[3:0] (tables 52, 55): 0 power-down, 1 = 1.875 Hz (accelerometer only), 2 = 7.5 Hz
  doubling up to 12 = 7.68 kHz. Every rate is 7680 Hz / ODR_coeff and the timestamp counts at
  46080 Hz (INTERNAL_FREQ_FINE formulas, table 146): one oscillator drives both, so both scale by
  (1 + oscillator_ppm * 1e-6). INTERNAL_FREQ_FINE (4Fh) reports that deviation in 0.13 % steps.
- Sensitivity (table 3): 0.061 / 0.122 / 0.244 / 0.488 mg/LSB at +-2/4/8/16 g (CTRL8 FS_XL_[1:0]);
  4.375 / 8.75 / 17.5 / 35 / 70 / 140 mdps/LSB at +-125 ... 4000 dps (CTRL6 FS_G_[3:0] 0-4, 1100b).
- FIFO (6.12; tables 33-40, 76-79, 216-218): 1.5 KB of uncompressed sample data, read here as 256
  words of 6 data bytes (DIFF_FIFO_[8:0] has the 9 bits that 256 needs). A word is a tag byte
  (TAG_SENSOR_[4:0] in bits 7:3, TAG_CNT_[1:0] in bits 2:1, bit 0 unused) and X, Y, Z as
  little-endian 16-bit; tags 00h empty, 01h gyroscope NC, 02h accelerometer NC, 04h timestamp, 13h
  SFLP game rotation vector. BDR codes as the ODR codes; DEC_TS_BATCH writes a timestamp every 1, 8
  or 32 batches of max(BDR_XL, BDR_GY). FIFO_MODE 000 bypass (empties the FIFO), 001 FIFO mode
  (stops collecting when full; bypass then FIFO mode restarts it), 110 continuous (overwrites the
  oldest). WTM_[7:0] counts words and FIFO_WTM_IA is set while unread words >= WTM; STOP_ON_WTM
  limits the depth to WTM; FIFO_OVR_LATCHED clears when FIFO_STATUS2 is read.
- TIMESTAMP0-3 (40h-43h): 32-bit counter enabled by TIMESTAMP_EN (FUNCTIONS_ENABLE bit 6); the
  STATUS_REG TIMESTAMP_ENDCOUNT bit warns 5.6 ms before it wraps. The register description gives
  the LSB as 21.75 us typical; the formula 1 / 46080 Hz = 21.70 us is used here.
- STATUS_REG XLDA/GDA stay set until the high byte of an output register is read (CTRL4
  DRDY_PULSED). INT1_CTRL routes DRDY_XL/DRDY_G/FIFO_TH/FIFO_OVR/FIFO_FULL to INT1; IF_CFG
  H_LACTIVE makes the pin active low.
- Activity/inactivity (sleep-change) and wake-up functions (DS13510 register descriptions of
  FUNCTIONS_ENABLE 50h, INACTIVITY_DUR 54h, INACTIVITY_THS 55h, TAP_CFG0 56h, WAKE_UP_THS 5Bh,
  WAKE_UP_DUR 5Ch, MD1_CFG 5Eh, WAKE_UP_SRC 45h, ALL_INT_SRC 1Dh; ST AN5763 "activity/inactivity
  recognition"): INACT_EN_[1:0] 01 drops the accelerometer to XL_INACT_ODR_[1:0] (1.875, 15, 30
  or 60 Hz) when inactivity is detected and leaves the gyroscope alone, 10 also puts the gyroscope
  in sleep, 11 powers it down (no gyroscope output either way here). Thresholds WK_THS_[5:0] and
  INACT_THS_[5:0] count in steps of WU_INACT_THS_W_[2:0] (7.8125 mg doubling to 250 mg). Inactivity
  after SLEEP_DUR_[3:0] x 512 accelerometer periods (0 means 16) below the inactivity threshold;
  back to the configured ODR on the (INACT_DUR_[1:0] + 1)-th low-rate sample above the wake-up
  threshold. WU_IA after WAKE_DUR_[1:0] + 1 samples above WK_THS. SLEEP_STATE and SLEEP_CHANGE_IA
  in WAKE_UP_SRC (also SLEEP_CHANGE_IA and WU_IA in ALL_INT_SRC); with LIR (TAP_CFG0 bit 0) the
  event bits stay set until WAKE_UP_SRC or ALL_INT_SRC is read. MD1_CFG INT1_SLEEP_CHANGE and
  INT1_WU route them to INT1 when INTERRUPTS_ENABLE (FUNCTIONS_ENABLE bit 7) is set; with
  SLEEP_STATUS_ON_INT (INACTIVITY_DUR bit 7) INT1 follows SLEEP_STATE instead of the change event.
- SFLP (2.8, 13.2, 13.17, table 262): SFLP_GAME_EN in EMB_FUNC_EN_A (04h), SFLP_GAME_FIFO_EN in
  EMB_FUNC_FIFO_EN_A (44h) and SFLP_GAME_ODR_[2:0] in SFLP_ODR (5Eh, default 5Bh = 120 Hz), all in
  the embedded-functions bank selected by FUNC_CFG_ACCESS (01h) bit 7.

From ST's and Linux's drivers rather than the datasheet, so less certain:
- An auto-incremented read wraps from FIFO_DATA_OUT_Z_H (7Eh) back to FIFO_DATA_OUT_TAG (78h), so a
  burst of k * 7 bytes from 78h pops k words (Linux st_lsm6dsx reads four tagged words per burst
  from 78h). A word leaves the FIFO when its last byte, 7Eh, is read.
- The timestamp word holds the counter in bytes 0-3, little-endian, and comes before the samples it
  dates (Linux st_lsm6dsx, ST lsm6dsv16x-pid). Bytes 4-5 are 0 here: not documented.
- SFLP X, Y, Z are IEEE half floats and readers rebuild W = sqrt(1 - x^2 - y^2 - z^2) (ST
  `lsm6dsv16x_from_f16_to_f32` and its sensor-fusion example, Zephyr), so the quaternion is sent
  with W >= 0.

Assumptions where no source says:
- In one time slot the words come timestamp, gyroscope, accelerometer, SFLP; TAG_CNT counts time
  slots (batch instants of any stream) modulo 4. Samples fall on a grid of the 7680 Hz clock
  counted from power-on (t_s = 0), so equal rates share time slots.
- Clearing TIMESTAMP_EN stops and zeroes the counter. Writes to TIMESTAMP2 are ignored (Linux writes
  AAh there to reset other parts, but DS13510 lists it read-only).
- FIFO mode stays stopped after the host reads words out; only bypass restarts it (6.12.2 gives
  that restart procedure and nothing else).
- WTM = 0 never sets FIFO_WTM_IA. FIFO_OVR_IA is set when a word is overwritten (continuous) or
  refused (FIFO mode) and clears when the FIFO is no longer full; FIFO_FULL_IA is set when the next
  time slot would fill it.
- Both thresholds are compared with the slope filter, (a[n] - a[n-1]) / 2 per axis (the default
  SLOPE_FDS = 0): wake-up when any axis is above WK_THS, inactivity counted while every axis is at
  or below INACT_THS. Without LIR an event bit lasts until the next accelerometer sample (the
  datasheet's pulsed mode lasts one ODR period). Each change of the sleep state happens right
  after the accelerometer sample that completes it, on the 7680 Hz grid.
- Reserved ODR/BDR codes mean power-down / not batched; reserved FS_G codes read as 125 dps.
  Addresses 80h-FFh read 0.

Not emulated: filters, noise and offsets (the signal carries them), temperature (reads 0 = 25 C,
TDA never set), compression, trigger-driven FIFO modes (no trigger ever fires: 011 acts as
continuous, 010 as continuous limited to WTM, 100 and 111 as bypass), high-accuracy and
ODR-triggered modes, OIS/EIS, embedded functions other than the SFLP game rotation vector, INT2,
the HP-filter path of the wake-up function (SLOPE_FDS = 1), USR_OFF_ON_WU, tap, free-fall, 6D and
the pedometer, pulsed data-ready, the BDR counter, and BDU (a sample may land between separate
reads of a low and
a high output byte; a multi-byte read is always consistent).
"""

import errno
import math
import sys
from collections import deque
from collections.abc import Callable
from enum import Enum
from typing import Final, cast

import numpy as np
from numpy.typing import NDArray

from ..signals import G_MPS2

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
ByteArray = NDArray[np.uint8]
Signal = Callable[[FloatArray], tuple[FloatArray, FloatArray]]
"""Physical times (n,) in s -> specific force (n, 3) in m/s^2 and angular rate (n, 3) in rad/s."""
Orientation = Callable[[FloatArray], FloatArray]
"""Physical times (n,) in s -> unit quaternions (n, 4) as w, x, y, z, sensor to game frame."""

# Main-bank register addresses (table 24).
FUNC_CFG_ACCESS: Final = 0x01
PIN_CTRL: Final = 0x02
IF_CFG: Final = 0x03
ODR_TRIG_CFG: Final = 0x06
FIFO_CTRL1: Final = 0x07
FIFO_CTRL2: Final = 0x08
FIFO_CTRL3: Final = 0x09
FIFO_CTRL4: Final = 0x0A
INT1_CTRL: Final = 0x0D
WHO_AM_I: Final = 0x0F
CTRL1: Final = 0x10
CTRL2: Final = 0x11
CTRL3: Final = 0x12
CTRL6: Final = 0x15
CTRL8: Final = 0x17
CTRL10: Final = 0x19
FIFO_STATUS1: Final = 0x1B
FIFO_STATUS2: Final = 0x1C
ALL_INT_SRC: Final = 0x1D
STATUS_REG: Final = 0x1E
OUTX_L_G: Final = 0x22
OUTX_L_A: Final = 0x28
TIMESTAMP0: Final = 0x40
WAKE_UP_SRC: Final = 0x45
TIMESTAMP3: Final = 0x43
INTERNAL_FREQ_FINE: Final = 0x4F
FUNCTIONS_ENABLE: Final = 0x50
DEN: Final = 0x51
INACTIVITY_DUR: Final = 0x54
INACTIVITY_THS: Final = 0x55
TAP_CFG0: Final = 0x56
WAKE_UP_THS: Final = 0x5B
WAKE_UP_DUR: Final = 0x5C
MD1_CFG: Final = 0x5E
MD2_CFG: Final = 0x5F
HAODR_CFG: Final = 0x62
CTRL_EIS: Final = 0x6B
X_OFS_USR: Final = 0x73
Z_OFS_USR: Final = 0x75
FIFO_DATA_OUT_TAG: Final = 0x78
FIFO_DATA_OUT_Z_H: Final = 0x7E

# Embedded-functions bank (table 262), selected by FUNC_CFG_ACCESS.EMB_FUNC_REG_ACCESS.
PAGE_SEL: Final = 0x02
EMB_FUNC_EN_A: Final = 0x04
EMB_FUNC_EN_B: Final = 0x05
PAGE_RW: Final = 0x17
EMB_FUNC_FIFO_EN_A: Final = 0x44
EMB_FUNC_FIFO_EN_B: Final = 0x45
SFLP_ODR: Final = 0x5E
EMB_FUNC_INIT_A: Final = 0x66

# Bit fields.
EMB_FUNC_REG_ACCESS: Final = 0x80  # FUNC_CFG_ACCESS
SW_POR: Final = 0x04  # FUNC_CFG_ACCESS
H_LACTIVE: Final = 0x10  # IF_CFG
SW_RESET: Final = 0x01  # CTRL3
IF_INC: Final = 0x04  # CTRL3
BOOT: Final = 0x80  # CTRL3
ODR_MASK: Final = 0x0F  # CTRL1, CTRL2 ODR_[3:0]
FS_G_MASK: Final = 0x0F  # CTRL6
FS_XL_MASK: Final = 0x03  # CTRL8
STOP_ON_WTM: Final = 0x80  # FIFO_CTRL2
BDR_MASK: Final = 0x0F  # FIFO_CTRL3: BDR_XL in 3:0, BDR_GY in 7:4
BDR_GY_SHIFT: Final = 4
FIFO_MODE_MASK: Final = 0x07  # FIFO_CTRL4
DEC_TS_BATCH_SHIFT: Final = 6  # FIFO_CTRL4 bits 7:6
INT1_DRDY_XL: Final = 0x01
INT1_DRDY_G: Final = 0x02
INT1_FIFO_TH: Final = 0x08
INT1_FIFO_OVR: Final = 0x10
INT1_FIFO_FULL: Final = 0x20
DIFF_FIFO_8: Final = 0x01  # FIFO_STATUS2
FIFO_OVR_LATCHED: Final = 0x08
FIFO_FULL_IA: Final = 0x20
FIFO_OVR_IA: Final = 0x40
FIFO_WTM_IA: Final = 0x80
XLDA: Final = 0x01  # STATUS_REG
GDA: Final = 0x02
TIMESTAMP_ENDCOUNT: Final = 0x80
TIMESTAMP_EN: Final = 0x40  # FUNCTIONS_ENABLE
INTERRUPTS_ENABLE: Final = 0x80  # FUNCTIONS_ENABLE
INACT_EN_MASK: Final = 0x03  # FUNCTIONS_ENABLE: 00 off, 01 XL low ODR, 10 + G sleep, 11 + G off
SLEEP_STATUS_ON_INT: Final = 0x80  # INACTIVITY_DUR
WU_INACT_THS_W_SHIFT: Final = 4  # INACTIVITY_DUR bits 6:4
XL_INACT_ODR_SHIFT: Final = 2  # INACTIVITY_DUR bits 3:2
INACT_DUR_MASK: Final = 0x03  # INACTIVITY_DUR bits 1:0
THS_MASK: Final = 0x3F  # INACTIVITY_THS INACT_THS_[5:0], WAKE_UP_THS WK_THS_[5:0]
LIR: Final = 0x01  # TAP_CFG0
WAKE_DUR_SHIFT: Final = 5  # WAKE_UP_DUR bits 6:5
SLEEP_DUR_MASK: Final = 0x0F  # WAKE_UP_DUR bits 3:0
INT1_SLEEP_CHANGE: Final = 0x80  # MD1_CFG
INT1_WU: Final = 0x20
SLEEP_CHANGE_IA: Final = 0x40  # WAKE_UP_SRC
SLEEP_STATE: Final = 0x10
WU_IA: Final = 0x08
X_WU: Final = 0x04
ALL_SLEEP_CHANGE_IA: Final = 0x20  # ALL_INT_SRC
ALL_WU_IA: Final = 0x02
SFLP_GAME_EN: Final = 0x02  # EMB_FUNC_EN_A
SFLP_GAME_FIFO_EN: Final = 0x02  # EMB_FUNC_FIFO_EN_A
SFLP_GAME_ODR_SHIFT: Final = 3  # SFLP_ODR bits 5:3
SFLP_GAME_ODR_MASK: Final = 0x07
TAG_SENSOR_SHIFT: Final = 3
TAG_CNT_SHIFT: Final = 1
TAG_CNT_MODULO: Final = 4

# FIFO tags (table 218).
TAG_EMPTY: Final = 0x00
TAG_GYRO_NC: Final = 0x01
TAG_ACCEL_NC: Final = 0x02
TAG_TIMESTAMP: Final = 0x04
TAG_SFLP_GAME_ROTATION: Final = 0x13
WORD_ORDER_IN_SLOT: Final = (TAG_TIMESTAMP, TAG_GYRO_NC, TAG_ACCEL_NC, TAG_SFLP_GAME_ROTATION)

WHO_AM_I_VALUE: Final = 0x70
DEFAULT_ADDRESS: Final = 0x6A
REGISTER_SPACE: Final = 0x100
ADDRESS_SIZE_BITS: Final = 8
BASE_ODR_HZ: Final = 7680.0  # ODR = 7680 Hz / ODR_coeff (table 146)
TIMESTAMP_HZ: Final = 46080.0  # t_actual = 1 / (46080 Hz (1 + 0.0013 FREQ_FINE))
TIMESTAMP_TICKS_PER_BASE_TICK: Final = 6  # 46080 / 7680
TIMESTAMP_MODULO: Final = 1 << 32
TIMESTAMP_ENDCOUNT_WINDOW_S: Final = 5.6e-3
FREQ_FINE_STEP: Final = 0.0013
INT8_MIN: Final = -128
INT8_MAX: Final = 127
INT16_MIN: Final = -32768
INT16_MAX: Final = 32767
FIFO_CAPACITY_WORDS: Final = 256
FIFO_WORD_BYTES: Final = 7
FIFO_PAYLOAD_BYTES: Final = 6
TIMESTAMP_PAYLOAD_BYTES: Final = 4
EMPTY_WORD: Final = bytes((TAG_EMPTY,)) + bytes(FIFO_PAYLOAD_BYTES)
AXES: Final = 3
QUATERNION_COMPONENTS: Final = 4
MAX_SAMPLES_PER_CHUNK: Final = 1 << 16  # bounds memory when advancing by hours at high ODR

ODR_1_875_HZ: Final = 0x1  # accelerometer only (tables 52, 55)
ODR_7_5_HZ: Final = 0x2
ODR_7680_HZ: Final = 0xC
ODR_COEFF: Final[dict[int, int]] = {ODR_1_875_HZ: round(BASE_ODR_HZ / 1.875)} | {
    code: 1 << (ODR_7680_HZ - code) for code in range(ODR_7_5_HZ, ODR_7680_HZ + 1)
}
"""ODR_[3:0] and BDR_[3:0] code -> periods of the 7680 Hz clock (tables 38, 52, 146)."""
SFLP_ODR_COEFF: Final[dict[int, int]] = {0: 512, 1: 256, 2: 128, 3: 64, 4: 32, 5: 16}
"""SFLP_GAME_ODR_[2:0] -> periods of the 7680 Hz clock: 15, 30, 60, 120, 240, 480 Hz."""
TIMESTAMP_DECIMATION: Final[dict[int, int]] = {1: 1, 2: 8, 3: 32}
ACCEL_SENSITIVITY_MG: Final[dict[int, float]] = {0: 0.061, 1: 0.122, 2: 0.244, 3: 0.488}
GYRO_SENSITIVITY_MDPS: Final[dict[int, float]] = {
    0: 4.375,
    1: 8.75,
    2: 17.5,
    3: 35.0,
    4: 70.0,
    12: 140.0,
}
GYRO_DEFAULT_FS_CODE: Final = 0
THS_WEIGHT_MG: Final = (7.8125, 15.625, 31.25, 62.5, 125.0, 250.0, 250.0, 250.0)
"""WU_INACT_THS_W_[2:0] -> mg per LSB of WK_THS and INACT_THS (101b-111b: 250 mg)."""
XL_INACT_ODR_CODES: Final = (ODR_1_875_HZ, 0x3, 0x4, 0x5)
"""XL_INACT_ODR_[1:0] -> accelerometer ODR code while inactive: 1.875, 15, 30, 60 Hz."""
SLEEP_DUR_PERIODS: Final = 512  # SLEEP_DUR LSB in accelerometer periods; 0 means 16
SLEEP_DUR_ZERO_PERIODS: Final = 16

MAIN_DEFAULTS: Final[dict[int, int]] = {
    PIN_CTRL: 0x23,
    CTRL3: 0x44,
    DEN: 0x0E,
    INACTIVITY_DUR: 0x04,
}
EMB_DEFAULTS: Final[dict[int, int]] = {PAGE_SEL: 0x01, SFLP_ODR: 0x5B}
SURVIVE_SW_RESET: Final = (PIN_CTRL, IF_CFG)
MAIN_READ_WRITE: Final = frozenset(
    {
        FUNC_CFG_ACCESS,
        PIN_CTRL,
        IF_CFG,
        *range(ODR_TRIG_CFG, WHO_AM_I),
        *range(CTRL1, CTRL10 + 1),
        FUNCTIONS_ENABLE,
        DEN,
        *range(INACTIVITY_DUR, MD2_CFG + 1),
        *range(HAODR_CFG, CTRL_EIS + 1),
        *range(X_OFS_USR, Z_OFS_USR + 1),
    }
)
EMB_READ_WRITE: Final = frozenset(
    {
        PAGE_SEL,
        EMB_FUNC_EN_A,
        EMB_FUNC_EN_B,
        PAGE_RW,
        EMB_FUNC_FIFO_EN_A,
        EMB_FUNC_FIFO_EN_B,
        SFLP_ODR,
        EMB_FUNC_INIT_A,
    }
)


class FifoBehaviour(Enum):
    """What a FIFO_MODE_[2:0] code does when no interrupt trigger ever fires."""

    BYPASS = "bypass"
    FIFO = "fifo"
    CONTINUOUS = "continuous"
    CONTINUOUS_TO_WTM = "continuous limited to WTM"


FIFO_MODE_BEHAVIOUR: Final[dict[int, FifoBehaviour]] = {
    0b001: FifoBehaviour.FIFO,
    0b010: FifoBehaviour.CONTINUOUS_TO_WTM,
    0b011: FifoBehaviour.CONTINUOUS,
    0b110: FifoBehaviour.CONTINUOUS,
}
"""Other codes (bypass, reserved, bypass-to-*) keep the FIFO empty."""


def quantise(counts: FloatArray) -> NDArray[np.int16]:
    """Rounds to the nearest count and saturates at the int16 limits, as the output registers do."""
    return np.clip(np.rint(counts), INT16_MIN, INT16_MAX).astype(np.int16)


def accel_counts(accel_mps2: FloatArray, fs_code: int) -> NDArray[np.int16]:
    """Specific force in m/s^2 -> accelerometer output at full-scale code FS_XL_[1:0]."""
    lsb_mps2 = ACCEL_SENSITIVITY_MG[fs_code] * 1e-3 * G_MPS2
    return quantise(accel_mps2 / lsb_mps2)


def gyro_counts(gyro_radps: FloatArray, fs_code: int) -> NDArray[np.int16]:
    """Angular rate in rad/s -> gyroscope output at full-scale code FS_G_[3:0]."""
    sensitivity_mdps = GYRO_SENSITIVITY_MDPS.get(
        fs_code, GYRO_SENSITIVITY_MDPS[GYRO_DEFAULT_FS_CODE]
    )
    lsb_radps = math.radians(sensitivity_mdps * 1e-3)
    return quantise(gyro_radps / lsb_radps)


def _grid(after_tick: int, last_tick: int, coeff: int | None) -> IntArray:
    """Multiples of `coeff` in (after_tick, last_tick]; empty when the stream is off."""
    if coeff is None:
        return np.empty(0, dtype=np.int64)
    first = (after_tick // coeff + 1) * coeff
    return np.arange(first, last_tick + 1, coeff, dtype=np.int64)


def _xyz_payload(counts: NDArray[np.int16]) -> ByteArray:
    return counts.astype("<i2").view(np.uint8).reshape(-1, FIFO_PAYLOAD_BYTES)


def _timestamp_payload(values: IntArray) -> ByteArray:
    payload = np.zeros((values.size, FIFO_PAYLOAD_BYTES), dtype=np.uint8)
    little_endian = values.astype("<u4").view(np.uint8).reshape(-1, TIMESTAMP_PAYLOAD_BYTES)
    payload[:, :TIMESTAMP_PAYLOAD_BYTES] = little_endian
    return payload


def _quaternion_payload(quaternions_wxyz: FloatArray) -> ByteArray:
    norms = np.linalg.norm(quaternions_wxyz, axis=1, keepdims=True)
    sign: FloatArray = np.where(quaternions_wxyz[:, :1] < 0.0, -1.0, 1.0)  # readers assume w >= 0
    vector: FloatArray = quaternions_wxyz[:, 1:] * (sign / norms)
    return vector.astype("<f2").view(np.uint8).reshape(-1, FIFO_PAYLOAD_BYTES)


class Lsm6dsv16xEmulator:
    """An LSM6DSV16X on an I2C bus, driven by a motion signal in physical time.

    `signal(t_s)` gives specific force (n, 3) in m/s^2 and angular rate (n, 3) in rad/s in the
    chip's frame at physical times t_s; it is called once per `advance_to` (once per
    `MAX_SAMPLES_PER_CHUNK` samples for very long steps). The optional `orientation(t_s)` gives the
    quaternions (n, 4), w x y z, that the SFLP game rotation vector reports. The chip's oscillator
    runs `oscillator_ppm` fast (positive) or slow; its ODRs and timestamp counter follow it.
    Physical time starts at 0 s with the chip just powered on.
    """

    def __init__(
        self,
        signal: Signal,
        *,
        oscillator_ppm: float = 0.0,
        address: int = DEFAULT_ADDRESS,
        orientation: Orientation | None = None,
        on_int1_rising: Callable[[], None] | None = None,
    ) -> None:
        self.address = address
        self.on_int1_rising = on_int1_rising
        self._signal = signal
        self._orientation = orientation
        self._clock_scale = 1.0 + oscillator_ppm * 1e-6
        self._freq_fine = min(
            max(round(oscillator_ppm * 1e-6 / FREQ_FINE_STEP), INT8_MIN), INT8_MAX
        )
        self._now_s = 0.0
        self._base_tick = 0
        self._int1_pin = False
        self._main = bytearray(REGISTER_SPACE)
        self._emb = bytearray(REGISTER_SPACE)
        self._fifo: deque[bytes] = deque()
        self._overrun = False
        self._overrun_latched = False
        self._fifo_stopped = False
        self._slot_count = 0
        self._out_accel = bytes(FIFO_PAYLOAD_BYTES)
        self._out_gyro = bytes(FIFO_PAYLOAD_BYTES)
        self._accel_ready = False
        self._gyro_ready = False
        self._timestamp_origin: int | None = None
        self._asleep = False
        self._still_ticks = 0
        self._over_count = 0
        self._last_accel_mg: FloatArray | None = None
        self._sleep_change = False
        self._wake_up = False
        self._wake_axes = 0
        self._power_on_reset()

    # ----------------------------------------------------------------------------- public API

    @property
    def now_s(self) -> float:
        """Physical time reached by the last `advance_to`, in s."""
        return self._now_s

    @property
    def asleep(self) -> bool:
        """True while the activity/inactivity function holds the chip in its inactive state."""
        return self._asleep

    @property
    def int1(self) -> bool:
        """Electrical level of the INT1 pin (True = high)."""
        return self._int1_pin

    def advance_to(self, t_s: float) -> None:
        """Moves physical time forward to t_s, producing every sample due on the way."""
        if t_s < self._now_s:
            raise ValueError(f"time cannot go backwards: {t_s} s is before {self._now_s} s")
        target_tick = math.floor(t_s * self._clock_scale * BASE_ODR_HZ)
        while self._base_tick < target_tick:
            end_tick = min(target_tick, self._base_tick + self._chunk_ticks())
            self._produce(self._base_tick, end_tick)
            self._base_tick = end_tick
        self._now_s = t_s
        self._update_int1()

    def readfrom_mem(self, addr: int, memaddr: int, nbytes: int, *, addrsize: int = 8) -> bytes:
        """Reads nbytes from register memaddr on, like `machine.I2C.readfrom_mem`."""
        self._check_transfer(addr, memaddr, addrsize)
        if nbytes < 0:
            raise ValueError(f"nbytes must not be negative, got {nbytes}")
        data = self._read_block(memaddr, nbytes)
        self._update_int1()
        return data

    def readfrom_mem_into(
        self, addr: int, memaddr: int, buf: bytearray | memoryview, *, addrsize: int = 8
    ) -> None:
        """Fills buf from register memaddr on, like `machine.I2C.readfrom_mem_into`."""
        view = memoryview(buf).cast("B")
        view[:] = self.readfrom_mem(addr, memaddr, view.nbytes, addrsize=addrsize)

    def writeto_mem(
        self, addr: int, memaddr: int, buf: bytes | bytearray | memoryview, *, addrsize: int = 8
    ) -> None:
        """Writes buf from register memaddr on, like `machine.I2C.writeto_mem`."""
        self._check_transfer(addr, memaddr, addrsize)
        auto_increment = bool(self._main[CTRL3] & IF_INC)
        register = memaddr
        for value in memoryview(buf).cast("B"):
            self._write_register(register, value)
            if auto_increment:
                register = self._next_address(register)
        self._update_int1()

    # ---------------------------------------------------------------------------- bus access

    def _check_transfer(self, addr: int, memaddr: int, addrsize: int) -> None:
        if addr != self.address:
            raise OSError(errno.ENODEV, f"no device at I2C address {addr:#04x}")
        if addrsize != ADDRESS_SIZE_BITS:
            raise ValueError(f"the LSM6DSV16X takes 8-bit register addresses, not {addrsize}-bit")
        if not 0 <= memaddr < REGISTER_SPACE:
            raise ValueError(f"register address {memaddr} does not fit in 8 bits")

    def _emb_selected(self) -> bool:
        return bool(self._main[FUNC_CFG_ACCESS] & EMB_FUNC_REG_ACCESS)

    def _next_address(self, register: int) -> int:
        if register == FIFO_DATA_OUT_Z_H and not self._emb_selected():
            return FIFO_DATA_OUT_TAG
        return (register + 1) % REGISTER_SPACE

    def _read_block(self, memaddr: int, nbytes: int) -> bytes:
        auto_increment = bool(self._main[CTRL3] & IF_INC)
        out = bytearray()
        register = memaddr
        while len(out) < nbytes:
            whole_word = nbytes - len(out) >= FIFO_WORD_BYTES
            at_fifo_output = register == FIFO_DATA_OUT_TAG and not self._emb_selected()
            if at_fifo_output and auto_increment and whole_word:
                out += self._pop_word()  # the address wraps back to the tag register
                continue
            out.append(self._read_register(register))
            if auto_increment:
                register = self._next_address(register)
        return bytes(out)

    def _read_register(self, register: int) -> int:
        if register != FUNC_CFG_ACCESS and self._emb_selected():
            return self._emb[register] if register in EMB_READ_WRITE else 0
        if register in MAIN_READ_WRITE:
            return self._main[register]
        if register == WHO_AM_I:
            return WHO_AM_I_VALUE
        if register == FIFO_STATUS1:
            return len(self._fifo) & 0xFF
        if register in (WAKE_UP_SRC, ALL_INT_SRC):
            return self._read_event_source(register)
        if register == FIFO_STATUS2:
            value = self._fifo_status2()
            self._overrun_latched = False
            return value
        if register == STATUS_REG:
            return self._status_reg()
        if OUTX_L_G <= register < OUTX_L_G + FIFO_PAYLOAD_BYTES:
            offset = register - OUTX_L_G
            if offset % 2:  # reading a high byte clears GDA
                self._gyro_ready = False
            return self._out_gyro[offset]
        if OUTX_L_A <= register < OUTX_L_A + FIFO_PAYLOAD_BYTES:
            offset = register - OUTX_L_A
            if offset % 2:  # reading a high byte clears XLDA
                self._accel_ready = False
            return self._out_accel[offset]
        if TIMESTAMP0 <= register <= TIMESTAMP3:
            return (self._timestamp_now() >> (8 * (register - TIMESTAMP0))) & 0xFF
        if register == INTERNAL_FREQ_FINE:
            return self._freq_fine & 0xFF
        if FIFO_DATA_OUT_TAG <= register <= FIFO_DATA_OUT_Z_H:
            value = (self._fifo[0] if self._fifo else EMPTY_WORD)[register - FIFO_DATA_OUT_TAG]
            if register == FIFO_DATA_OUT_Z_H:
                self._pop_word()
            return value
        return 0

    def _write_register(self, register: int, value: int) -> None:
        if register == FUNC_CFG_ACCESS:
            if value & SW_POR:
                self._power_on_reset()
            else:
                self._main[FUNC_CFG_ACCESS] = value
            return
        if self._emb_selected():
            if register in EMB_READ_WRITE:
                self._emb[register] = value
            return
        if register not in MAIN_READ_WRITE:
            return
        if register == CTRL3 and value & SW_RESET:
            self._software_reset()
            return
        if register == CTRL3:
            value &= ~BOOT & 0xFF  # reboot is instantaneous here and the bit clears itself
        if register == FUNCTIONS_ENABLE:
            self._set_timestamp_enabled(bool(value & TIMESTAMP_EN))
            if not value & INACT_EN_MASK:
                self._asleep = False
        self._main[register] = value
        if register == FIFO_CTRL4 and self._fifo_behaviour() is FifoBehaviour.BYPASS:
            self._clear_fifo()

    # ----------------------------------------------------------------------------- resets

    def _power_on_reset(self) -> None:
        self._main[:] = bytes(REGISTER_SPACE)
        for register, value in MAIN_DEFAULTS.items():
            self._main[register] = value
        self._emb[:] = bytes(REGISTER_SPACE)
        for register, value in EMB_DEFAULTS.items():
            self._emb[register] = value
        self._reset_state()

    def _software_reset(self) -> None:
        kept = {register: self._main[register] for register in SURVIVE_SW_RESET}
        self._main[:] = bytes(REGISTER_SPACE)
        for register, value in (MAIN_DEFAULTS | kept).items():
            self._main[register] = value
        self._reset_state()

    def _reset_state(self) -> None:
        self._clear_fifo()
        self._slot_count = 0
        self._out_accel = bytes(FIFO_PAYLOAD_BYTES)
        self._out_gyro = bytes(FIFO_PAYLOAD_BYTES)
        self._accel_ready = False
        self._gyro_ready = False
        self._timestamp_origin = None
        self._asleep = False
        self._still_ticks = 0
        self._over_count = 0
        self._last_accel_mg = None
        self._sleep_change = False
        self._wake_up = False
        self._wake_axes = 0

    def _clear_fifo(self) -> None:
        self._fifo.clear()
        self._fifo_stopped = False
        self._overrun = False
        self._overrun_latched = False

    # ------------------------------------------------------------------------ configuration

    def _accel_coeff(self) -> int | None:
        active = ODR_COEFF.get(self._main[CTRL1] & ODR_MASK)
        if active is None or not self._asleep:
            return active
        code = XL_INACT_ODR_CODES[self._main[INACTIVITY_DUR] >> XL_INACT_ODR_SHIFT & 0x3]
        return max(active, ODR_COEFF[code])  # never faster than the configured rate

    def _gyro_coeff(self) -> int | None:
        if self._asleep and self._main[FUNCTIONS_ENABLE] & INACT_EN_MASK >= 0b10:
            return None  # gyroscope in sleep (10b) or powered down (11b) while inactive
        code = self._main[CTRL2] & ODR_MASK
        return None if code == ODR_1_875_HZ else ODR_COEFF.get(code)

    def _sflp_coeff(self) -> int | None:
        enabled = self._emb[EMB_FUNC_EN_A] & SFLP_GAME_EN
        batched = self._emb[EMB_FUNC_FIFO_EN_A] & SFLP_GAME_FIFO_EN
        sensors_on = self._accel_coeff() is not None and self._gyro_coeff() is not None
        if not (enabled and batched and sensors_on):
            return None
        code = (self._emb[SFLP_ODR] >> SFLP_GAME_ODR_SHIFT) & SFLP_GAME_ODR_MASK
        return SFLP_ODR_COEFF.get(code)

    def _fifo_behaviour(self) -> FifoBehaviour:
        code = self._main[FIFO_CTRL4] & FIFO_MODE_MASK
        return FIFO_MODE_BEHAVIOUR.get(code, FifoBehaviour.BYPASS)

    def _watermark(self) -> int:
        return self._main[FIFO_CTRL1]

    def _capacity(self) -> int:
        limited = self._main[FIFO_CTRL2] & STOP_ON_WTM
        limited = limited or self._fifo_behaviour() is FifoBehaviour.CONTINUOUS_TO_WTM
        if limited and self._watermark():
            return self._watermark()
        return FIFO_CAPACITY_WORDS

    def _batch_plan(self) -> dict[int, int]:
        """FIFO tag -> periods of the 7680 Hz clock between its words, for streams being batched."""
        if self._fifo_behaviour() is FifoBehaviour.BYPASS:
            return {}
        plan: dict[int, int] = {}
        accel, gyro = self._accel_coeff(), self._gyro_coeff()
        bdr_accel = ODR_COEFF.get(self._main[FIFO_CTRL3] & BDR_MASK)
        bdr_gyro = ODR_COEFF.get(self._main[FIFO_CTRL3] >> BDR_GY_SHIFT)
        if accel is not None and bdr_accel is not None:
            plan[TAG_ACCEL_NC] = max(accel, bdr_accel)
        if gyro is not None and bdr_gyro is not None:
            plan[TAG_GYRO_NC] = max(gyro, bdr_gyro)
        decimation = TIMESTAMP_DECIMATION.get(self._main[FIFO_CTRL4] >> DEC_TS_BATCH_SHIFT)
        if decimation is not None and plan:
            plan[TAG_TIMESTAMP] = min(plan.values()) * decimation
        sflp = self._sflp_coeff()
        if sflp is not None:
            plan[TAG_SFLP_GAME_ROTATION] = sflp
        return plan

    # ------------------------------------------------------------------------------- timing

    def _chunk_ticks(self) -> int:
        coeffs = [c for c in (self._accel_coeff(), self._gyro_coeff()) if c is not None]
        return min(coeffs) * MAX_SAMPLES_PER_CHUNK if coeffs else sys.maxsize

    def _physical_time_s(self, ticks: IntArray) -> FloatArray:
        return ticks / (BASE_ODR_HZ * self._clock_scale)

    def _set_timestamp_enabled(self, enabled: bool) -> None:
        if not enabled:
            self._timestamp_origin = None
        elif self._timestamp_origin is None:
            self._timestamp_origin = math.floor(self._now_s * self._clock_scale * TIMESTAMP_HZ)

    def timestamp_time_s(self, ticks: FloatArray) -> FloatArray:
        """Physical time (s since power-on) at which the timestamp counter reaches `ticks`
        (counted since TIMESTAMP_EN, not wrapped; fractions interpolate): the truth that tests
        compare device times with."""
        if self._timestamp_origin is None:
            raise ValueError("the timestamp counter is off (TIMESTAMP_EN clear)")
        return (np.asarray(ticks, dtype=np.float64) + self._timestamp_origin) / (
            TIMESTAMP_HZ * self._clock_scale
        )

    def _timestamp_now(self) -> int:
        if self._timestamp_origin is None:
            return 0
        ticks = math.floor(self._now_s * self._clock_scale * TIMESTAMP_HZ)
        return (ticks - self._timestamp_origin) % TIMESTAMP_MODULO

    def _timestamps_at(self, base_ticks: IntArray) -> IntArray:
        if self._timestamp_origin is None:
            return np.zeros_like(base_ticks)
        ticks = base_ticks * TIMESTAMP_TICKS_PER_BASE_TICK - self._timestamp_origin
        return ticks % TIMESTAMP_MODULO

    # --------------------------------------------------------------------------- sampling

    def _produce(self, after_tick: int, last_tick: int) -> None:
        """Samples due at the 7680 Hz clock ticks in (after_tick, last_tick], split where the
        activity/inactivity function changes the sleep state (and with it the rates)."""
        while after_tick < last_tick:
            end_tick, changed = self._scan_activity(after_tick, last_tick)
            self._produce_samples(after_tick, end_tick)
            if changed:
                self._asleep = not self._asleep
                self._sleep_change = True
                self._still_ticks = 0
                self._over_count = 0
            after_tick = end_tick

    # ------------------------------------------------------------ activity / inactivity

    def _activity_enabled(self) -> bool:
        return bool(self._main[FUNCTIONS_ENABLE] & (INACT_EN_MASK | INTERRUPTS_ENABLE))

    def _threshold_mg(self, register: int) -> float:
        weight = THS_WEIGHT_MG[self._main[INACTIVITY_DUR] >> WU_INACT_THS_W_SHIFT & 0x7]
        return (self._main[register] & THS_MASK) * weight

    def _sleep_after_ticks(self, coeff: int) -> int:
        code = self._main[WAKE_UP_DUR] & SLEEP_DUR_MASK
        return (code * SLEEP_DUR_PERIODS if code else SLEEP_DUR_ZERO_PERIODS) * coeff

    def _scan_activity(self, after_tick: int, last_tick: int) -> tuple[int, bool]:
        """Runs the wake-up and inactivity logic over the accelerometer samples in (after_tick,
        last_tick]; returns the tick of the sample that changes the sleep state (and True), or
        last_tick (and False)."""
        coeff = self._accel_coeff()
        if coeff is None or not self._activity_enabled():
            self._last_accel_mg = None
            return last_tick, False
        ticks = _grid(after_tick, last_tick, coeff)
        if ticks.size == 0:
            return last_tick, False
        accel_mps2, _ = self._evaluate_signal(self._physical_time_s(ticks))
        accel_mg: FloatArray = accel_mps2 / (G_MPS2 * 1e-3)
        previous = accel_mg[0] if self._last_accel_mg is None else self._last_accel_mg
        slopes = np.abs(np.diff(np.vstack((previous, accel_mg)), axis=0)) / 2.0
        wake_mg = self._threshold_mg(WAKE_UP_THS)
        still_mg = self._threshold_mg(INACTIVITY_THS)
        over_axes: NDArray[np.bool_] = slopes > wake_mg
        over = cast(list[bool], over_axes.any(axis=1).tolist())
        still = cast(list[bool], (slopes <= still_mg).all(axis=1).tolist())
        axes_over = cast(list[list[bool]], over_axes.tolist())
        latched = bool(self._main[TAP_CFG0] & LIR)
        wake_dur = (self._main[WAKE_UP_DUR] >> WAKE_DUR_SHIFT & 0x3) + 1
        wake_inact = (self._main[INACTIVITY_DUR] & INACT_DUR_MASK) + 1
        sleep_after = self._sleep_after_ticks(ODR_COEFF.get(self._main[CTRL1] & ODR_MASK, coeff))
        inact_on = bool(self._main[FUNCTIONS_ENABLE] & INACT_EN_MASK)
        for i in range(ticks.size):
            if not latched:
                self._wake_up = False
                self._sleep_change = False
            self._over_count = self._over_count + 1 if over[i] else 0
            if self._over_count >= wake_dur:
                self._wake_up = True
                self._wake_axes = sum(X_WU >> axis for axis in range(AXES) if axes_over[i][axis])
            if not inact_on:
                continue
            if self._asleep and self._over_count >= wake_inact:
                self._last_accel_mg = accel_mg[i]
                return int(ticks[i]), True
            self._still_ticks = self._still_ticks + coeff if still[i] else 0
            if not self._asleep and self._still_ticks >= sleep_after:
                self._last_accel_mg = accel_mg[i]
                return int(ticks[i]), True
        self._last_accel_mg = accel_mg[-1]
        return last_tick, False

    def _read_event_source(self, register: int) -> int:
        """WAKE_UP_SRC or ALL_INT_SRC; reading either clears the latched event bits."""
        if register == WAKE_UP_SRC:
            value = (SLEEP_CHANGE_IA if self._sleep_change else 0) | (
                SLEEP_STATE if self._asleep else 0
            )
            value |= (WU_IA | self._wake_axes) if self._wake_up else 0
        else:
            value = (ALL_SLEEP_CHANGE_IA if self._sleep_change else 0) | (
                ALL_WU_IA if self._wake_up else 0
            )
        if self._main[TAP_CFG0] & LIR:
            self._sleep_change = False
            self._wake_up = False
            self._wake_axes = 0
        return value

    def _produce_samples(self, after_tick: int, last_tick: int) -> None:
        accel_ticks = _grid(after_tick, last_tick, self._accel_coeff())
        gyro_ticks = _grid(after_tick, last_tick, self._gyro_coeff())
        ticks: IntArray = np.union1d(accel_ticks, gyro_ticks)
        if ticks.size == 0:
            return
        accel_mps2, gyro_radps = self._evaluate_signal(self._physical_time_s(ticks))
        accel = accel_counts(accel_mps2[np.searchsorted(ticks, accel_ticks)], self._accel_fs())
        gyro = gyro_counts(gyro_radps[np.searchsorted(ticks, gyro_ticks)], self._gyro_fs())
        if accel.size:
            self._out_accel = accel[-1].astype("<i2").tobytes()
            self._accel_ready = True
        if gyro.size:
            self._out_gyro = gyro[-1].astype("<i2").tobytes()
            self._gyro_ready = True
        plan = self._batch_plan()
        if not plan:
            return
        payloads: dict[int, tuple[IntArray, ByteArray]] = {}
        for tag, coeff in plan.items():
            batch_ticks = _grid(after_tick, last_tick, coeff)
            payloads[tag] = (
                batch_ticks,
                self._payload(tag, batch_ticks, accel_ticks, accel, gyro_ticks, gyro),
            )
        self._push(self._tag_words(payloads))

    def _evaluate_signal(self, t_s: FloatArray) -> tuple[FloatArray, FloatArray]:
        accel_mps2, gyro_radps = self._signal(t_s)
        accel = np.asarray(accel_mps2, dtype=np.float64)
        gyro = np.asarray(gyro_radps, dtype=np.float64)
        expected = (t_s.size, AXES)
        if accel.shape != expected or gyro.shape != expected:
            raise ValueError(
                f"signal must return two arrays of shape {expected}, got {accel.shape} and "
                f"{gyro.shape}"
            )
        return accel, gyro

    def _accel_fs(self) -> int:
        return self._main[CTRL8] & FS_XL_MASK

    def _gyro_fs(self) -> int:
        return self._main[CTRL6] & FS_G_MASK

    def _payload(
        self,
        tag: int,
        ticks: IntArray,
        accel_ticks: IntArray,
        accel: NDArray[np.int16],
        gyro_ticks: IntArray,
        gyro: NDArray[np.int16],
    ) -> ByteArray:
        if tag == TAG_ACCEL_NC:
            return _xyz_payload(accel[np.searchsorted(accel_ticks, ticks)])
        if tag == TAG_GYRO_NC:
            return _xyz_payload(gyro[np.searchsorted(gyro_ticks, ticks)])
        if tag == TAG_TIMESTAMP:
            return _timestamp_payload(self._timestamps_at(ticks))
        return _quaternion_payload(self._evaluate_orientation(self._physical_time_s(ticks)))

    def _evaluate_orientation(self, t_s: FloatArray) -> FloatArray:
        if self._orientation is None:
            identity = np.zeros((t_s.size, QUATERNION_COMPONENTS))
            identity[:, 0] = 1.0
            return identity
        quaternions = np.asarray(self._orientation(t_s), dtype=np.float64)
        if quaternions.shape != (t_s.size, QUATERNION_COMPONENTS):
            raise ValueError(
                f"orientation must return shape {(t_s.size, QUATERNION_COMPONENTS)}, "
                f"got {quaternions.shape}"
            )
        return quaternions

    # ------------------------------------------------------------------------------- FIFO

    def _tag_words(self, payloads: dict[int, tuple[IntArray, ByteArray]]) -> ByteArray:
        """Orders the words of all streams by time slot and adds the tag bytes (n, 7)."""
        ticks = np.concatenate([batch_ticks for batch_ticks, _ in payloads.values()])
        data = np.concatenate([payload for _, payload in payloads.values()])
        tags = np.concatenate(
            [np.full(t.size, tag, dtype=np.int64) for tag, (t, _) in payloads.items()]
        )
        rank = np.concatenate(
            [
                np.full(t.size, WORD_ORDER_IN_SLOT.index(tag), dtype=np.int64)
                for tag, (t, _) in payloads.items()
            ]
        )
        order = np.lexsort((rank, ticks))
        slots: IntArray = np.unique(ticks)
        tag_cnt = (np.searchsorted(slots, ticks[order]) + self._slot_count) % TAG_CNT_MODULO
        self._slot_count += slots.size
        tag_byte = (tags[order] << TAG_SENSOR_SHIFT) | (tag_cnt << TAG_CNT_SHIFT)
        return np.column_stack((tag_byte.astype(np.uint8), data[order]))

    def _push(self, words: ByteArray) -> None:
        capacity = self._capacity()
        count = words.shape[0]
        if self._fifo_behaviour() is FifoBehaviour.FIFO:
            room = 0 if self._fifo_stopped else max(capacity - len(self._fifo), 0)
            kept = words[:room]  # the newest words are refused
            dropped_old = 0
            self._fifo_stopped = len(self._fifo) + kept.shape[0] >= capacity
        else:
            kept = words[count - min(capacity, count) :]  # at most the newest `capacity` words
            dropped_old = min(max(len(self._fifo) + kept.shape[0] - capacity, 0), len(self._fifo))
        for _ in range(dropped_old):
            self._fifo.popleft()
        if dropped_old or kept.shape[0] < count:
            self._overrun = True
            self._overrun_latched = True
        raw = kept.tobytes()
        self._fifo.extend(raw[i : i + FIFO_WORD_BYTES] for i in range(0, len(raw), FIFO_WORD_BYTES))

    def _pop_word(self) -> bytes:
        if not self._fifo:
            return EMPTY_WORD
        word = self._fifo.popleft()
        if len(self._fifo) < self._capacity():
            self._overrun = False
        return word

    def _watermark_reached(self) -> bool:
        return 0 < self._watermark() <= len(self._fifo)

    def _full_at_next_slot(self) -> bool:
        plan = self._batch_plan()
        if not plan:
            return False
        next_tick = min((self._base_tick // coeff + 1) * coeff for coeff in plan.values())
        words = sum(1 for coeff in plan.values() if next_tick % coeff == 0)
        return len(self._fifo) + words >= self._capacity()

    def _fifo_status2(self) -> int:
        flags = (
            (FIFO_WTM_IA, self._watermark_reached()),
            (FIFO_OVR_IA, self._overrun),
            (FIFO_FULL_IA, self._full_at_next_slot()),
            (FIFO_OVR_LATCHED, self._overrun_latched),
            (DIFF_FIFO_8, len(self._fifo) >> 8 & 1 == 1),
        )
        return sum(bit for bit, on in flags if on)

    def _status_reg(self) -> int:
        window_ticks = round(TIMESTAMP_ENDCOUNT_WINDOW_S * TIMESTAMP_HZ)  # in chip time
        ending = self._timestamp_origin is not None and (
            self._timestamp_now() >= TIMESTAMP_MODULO - window_ticks
        )
        flags = ((XLDA, self._accel_ready), (GDA, self._gyro_ready), (TIMESTAMP_ENDCOUNT, ending))
        return sum(bit for bit, on in flags if on)

    # ----------------------------------------------------------------------------- INT1

    def _int1_asserted(self) -> bool:
        routing = self._main[INT1_CTRL]
        sources = (
            (INT1_DRDY_XL, self._accel_ready),
            (INT1_DRDY_G, self._gyro_ready),
            (INT1_FIFO_TH, self._watermark_reached()),
            (INT1_FIFO_OVR, self._overrun),
            (INT1_FIFO_FULL, self._full_at_next_slot()),
        )
        return any(routing & bit and on for bit, on in sources) or self._int1_events()

    def _int1_events(self) -> bool:
        if not self._main[FUNCTIONS_ENABLE] & INTERRUPTS_ENABLE:
            return False
        routing = self._main[MD1_CFG]
        status_on_pin = bool(self._main[INACTIVITY_DUR] & SLEEP_STATUS_ON_INT)
        sleep_signal = self._asleep if status_on_pin else self._sleep_change
        return bool(
            (routing & INT1_SLEEP_CHANGE and sleep_signal) or (routing & INT1_WU and self._wake_up)
        )

    def _update_int1(self) -> None:
        pin = self._int1_asserted() != bool(self._main[IF_CFG] & H_LACTIVE)
        rising = pin and not self._int1_pin
        self._int1_pin = pin
        if rising and self.on_int1_rising is not None:
            self.on_int1_rising()
