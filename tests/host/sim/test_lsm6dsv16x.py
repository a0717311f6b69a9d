"""The LSM6DSV16X emulator behaves like the datasheet (ST DS13510) says the chip does.

Register addresses, bit positions and expected numbers are written out here from the datasheet
rather than imported, so the tests check the emulator's constants too.
"""

import errno
import math
import struct
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest
from gaitchain.sim.lsm6dsv16x import FloatArray, Lsm6dsv16xEmulator

ADDRESS = 0x6A  # SA0 low (5.1.2)
# Main-bank registers (table 24).
FUNC_CFG_ACCESS = 0x01
PIN_CTRL = 0x02
IF_CFG = 0x03
FIFO_CTRL1 = 0x07
FIFO_CTRL2 = 0x08
FIFO_CTRL3 = 0x09
FIFO_CTRL4 = 0x0A
INT1_CTRL = 0x0D
WHO_AM_I = 0x0F
CTRL1 = 0x10
CTRL2 = 0x11
CTRL3 = 0x12
CTRL6 = 0x15
CTRL8 = 0x17
FIFO_STATUS1 = 0x1B
FIFO_STATUS2 = 0x1C
STATUS_REG = 0x1E
OUTX_L_G = 0x22
OUTX_L_A = 0x28
OUTX_H_A = 0x29
TIMESTAMP0 = 0x40
INTERNAL_FREQ_FINE = 0x4F
FUNCTIONS_ENABLE = 0x50
FIFO_DATA_OUT_TAG = 0x78
# Embedded-functions bank (table 262).
EMB_FUNC_EN_A = 0x04
EMB_FUNC_FIFO_EN_A = 0x44
SFLP_ODR = 0x5E
# Values and bits.
ODR_7_5_HZ = 0x2  # ODR_[3:0] and BDR_[3:0]: 7.5 Hz doubling per code up to 960 Hz at 0x9
ODR_120_HZ = 0x6
ODR_240_HZ = 0x7
ODR_960_HZ = 0x9
FIFO_MODE = 0b001
CONTINUOUS = 0b110
DEC_TS_1 = 0b01 << 6
DEC_TS_8 = 0b10 << 6
TIMESTAMP_EN = 0x40
IF_INC = 0x04
BDU = 0x40
SW_RESET = 0x01
H_LACTIVE = 0x10
INT1_FIFO_TH = 0x08
EMB_FUNC_REG_ACCESS = 0x80
SFLP_GAME_EN = 0x02
SFLP_GAME_FIFO_EN = 0x02
XLDA = 0x01
GDA = 0x02
TIMESTAMP_ENDCOUNT = 0x80
FIFO_WTM_IA = 0x80
FIFO_OVR_IA = 0x40
FIFO_OVR_LATCHED = 0x08
TAG_GYRO = 0x01
TAG_ACCEL = 0x02
TAG_TIMESTAMP = 0x04
TAG_GAME_ROTATION = 0x13
FIFO_WORDS = 256  # 1.5 KB of 6-byte samples (6.12)
WORD_BYTES = 7
ACCEL_MG_PER_LSB = {0: 0.061, 1: 0.122, 2: 0.244, 3: 0.488}  # FS_XL code -> table 3
GYRO_MDPS_PER_LSB = {0: 4.375, 1: 8.75, 2: 17.5, 3: 35.0, 4: 70.0, 0b1100: 140.0}
TIMESTAMP_HZ = 46080.0  # INTERNAL_FREQ_FINE formula (9.39); register text says 21.75 us typ.
G_MPS2 = 9.80665

Signal = Callable[[FloatArray], tuple[FloatArray, FloatArray]]


class Word(NamedTuple):
    tag: int
    cnt: int
    payload: bytes


def constant(accel_g: tuple[float, float, float], gyro_dps: tuple[float, float, float]) -> Signal:
    def signal(t_s: FloatArray) -> tuple[FloatArray, FloatArray]:
        accel = np.tile(np.array(accel_g) * G_MPS2, (t_s.size, 1))
        gyro = np.tile(np.radians(np.array(gyro_dps)), (t_s.size, 1))
        return accel, gyro

    return signal


RAMP_MPS2_PER_S = 1.0


def ramp(t_s: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Accelerometer X grows 1 m/s^2 per second, so each sample tells when it was taken."""
    accel = np.zeros((t_s.size, 3))
    accel[:, 0] = RAMP_MPS2_PER_S * t_s
    return accel, np.zeros((t_s.size, 3))


def waves(t_s: FloatArray) -> tuple[FloatArray, FloatArray]:
    phase = 2 * np.pi * np.outer(t_s, [1.1, 1.7, 2.3])
    return 3.0 * G_MPS2 * np.sin(phase), np.radians(1500.0) * np.cos(phase)


def write(chip: Lsm6dsv16xEmulator, register: int, *values: int) -> None:
    chip.writeto_mem(ADDRESS, register, bytes(values))


def read(chip: Lsm6dsv16xEmulator, register: int, nbytes: int = 1) -> bytes:
    return chip.readfrom_mem(ADDRESS, register, nbytes)


def fifo_level(chip: Lsm6dsv16xEmulator) -> int:
    status1, status2 = read(chip, FIFO_STATUS1, 2)
    return status1 | (status2 & 0x01) << 8


def parse(data: bytes) -> list[Word]:
    words = (data[i : i + WORD_BYTES] for i in range(0, len(data), WORD_BYTES))
    return [Word(w[0] >> 3, w[0] >> 1 & 0x3, w[1:]) for w in words]


def drain(chip: Lsm6dsv16xEmulator) -> list[Word]:
    return parse(read(chip, FIFO_DATA_OUT_TAG, WORD_BYTES * fifo_level(chip)))


def xyz(word: Word) -> tuple[int, int, int]:
    return struct.unpack("<hhh", word.payload)


def timestamp(chip: Lsm6dsv16xEmulator) -> int:
    return struct.unpack("<I", read(chip, TIMESTAMP0, 4))[0]


def accel_chip(signal: Signal, oscillator_ppm: float = 0.0) -> Lsm6dsv16xEmulator:
    """Accelerometer on at 120 Hz, batched at 120 Hz into a continuous FIFO."""
    chip = Lsm6dsv16xEmulator(signal, oscillator_ppm=oscillator_ppm)
    write(chip, CTRL1, ODR_120_HZ)
    write(chip, FIFO_CTRL3, ODR_120_HZ)
    write(chip, FIFO_CTRL4, CONTINUOUS)
    return chip


def ramp_sample_index(word: Word) -> int:
    """Which 120 Hz sample (1, 2, ...) an accelerometer word of the ramp at +-2 g holds."""
    x_mps2 = xyz(word)[0] * ACCEL_MG_PER_LSB[0] * 1e-3 * G_MPS2
    return round(x_mps2 / RAMP_MPS2_PER_S * 120.0)


def test_who_am_i_reads_70h() -> None:
    assert read(Lsm6dsv16xEmulator(ramp), WHO_AM_I) == b"\x70"


def test_other_address_is_not_acknowledged() -> None:
    chip = Lsm6dsv16xEmulator(ramp, address=0x6B)
    assert chip.readfrom_mem(0x6B, WHO_AM_I, 1) == b"\x70"
    for call in (
        lambda: chip.readfrom_mem(0x6A, WHO_AM_I, 1),
        lambda: chip.readfrom_mem_into(0x6A, WHO_AM_I, bytearray(1)),
        lambda: chip.writeto_mem(0x6A, CTRL1, b"\x06"),
    ):
        with pytest.raises(OSError) as caught:
            call()
        assert caught.value.args[0] == errno.ENODEV == 19


def test_time_cannot_go_backwards() -> None:
    chip = Lsm6dsv16xEmulator(ramp)
    chip.advance_to(2.0)
    chip.advance_to(2.0)
    with pytest.raises(ValueError, match="backwards"):
        chip.advance_to(1.999)


@pytest.mark.parametrize("code", range(ODR_7_5_HZ, ODR_960_HZ + 1))
@pytest.mark.parametrize(
    ("odr_register", "bdr_shift", "tag"), [(CTRL1, 0, TAG_ACCEL), (CTRL2, 4, TAG_GYRO)]
)
def test_odr_codes_give_their_sample_count_over_10_s(
    code: int, odr_register: int, bdr_shift: int, tag: int
) -> None:
    odr_hz = 7.5 * 2 ** (code - ODR_7_5_HZ)
    chip = Lsm6dsv16xEmulator(ramp)
    write(chip, odr_register, code)
    write(chip, FIFO_CTRL3, code << bdr_shift)
    write(chip, FIFO_CTRL4, CONTINUOUS)
    words: list[Word] = []
    for step in range(1, 41):
        chip.advance_to(step * 0.25)
        words += drain(chip)
    assert {w.tag for w in words} == {tag}
    assert abs(len(words) - odr_hz * 10) <= 1


def test_fast_oscillator_samples_more_often() -> None:
    instants: list[FloatArray] = []

    def recording(t_s: FloatArray) -> tuple[FloatArray, FloatArray]:
        instants.append(t_s)
        return ramp(t_s)

    chip = Lsm6dsv16xEmulator(recording, oscillator_ppm=50.0)
    write(chip, CTRL1, ODR_120_HZ)
    chip.advance_to(10_000.0)
    t_s = np.concatenate(instants)
    # 120 Hz * 10,000 s * 50e-6 = 60 extra samples, taken 1 / (120 Hz * 1.00005) apart.
    assert abs(t_s.size - 1_200_060) <= 1
    np.testing.assert_allclose(np.diff(t_s[:3]), 1 / (120 * 1.00005), rtol=1e-9)


def test_fast_oscillator_adds_fifo_words() -> None:
    chip = accel_chip(ramp, oscillator_ppm=50.0)
    count = 0
    for step in range(1, 501):
        chip.advance_to(step * 2.0)
        count += len(drain(chip))
    assert abs(count - 120_006) <= 1  # 120 Hz * 1000 s * (1 + 50e-6)


@pytest.mark.parametrize("fs_code", [0, 1, 2, 3])
def test_accelerometer_sensitivity(fs_code: int) -> None:
    chip = Lsm6dsv16xEmulator(constant((0.0, -0.5, 1.0), (0.0, 0.0, 0.0)))
    write(chip, CTRL8, fs_code)
    write(chip, CTRL1, ODR_120_HZ)
    chip.advance_to(0.1)
    x, y, z = struct.unpack("<hhh", read(chip, OUTX_L_A, 6))
    one_g = 1000.0 / ACCEL_MG_PER_LSB[fs_code]  # 8197 counts at +-4 g
    assert x == 0
    assert abs(y + one_g / 2) <= 1
    assert abs(z - one_g) <= 1


@pytest.mark.parametrize("fs_code", [0, 1, 2, 3, 4, 0b1100])
def test_gyroscope_sensitivity(fs_code: int) -> None:
    chip = Lsm6dsv16xEmulator(constant((0.0, 0.0, 1.0), (100.0, -50.0, 0.0)))
    write(chip, CTRL6, fs_code)
    write(chip, CTRL2, ODR_120_HZ)
    chip.advance_to(0.1)
    x, y, z = struct.unpack("<hhh", read(chip, OUTX_L_G, 6))
    hundred_dps = min(100_000.0 / GYRO_MDPS_PER_LSB[fs_code], 32767)
    assert abs(x - hundred_dps) <= 1
    assert abs(y + 50_000.0 / GYRO_MDPS_PER_LSB[fs_code]) <= 1
    assert z == 0


def test_outputs_saturate_at_int16_limits() -> None:
    chip = Lsm6dsv16xEmulator(constant((3.0, -3.0, 0.0), (200.0, -200.0, 0.0)))
    write(chip, CTRL1, ODR_120_HZ, ODR_120_HZ)  # +-2 g and +-125 dps by default
    chip.advance_to(0.1)
    assert struct.unpack("<hhh", read(chip, OUTX_L_A, 6)) == (32767, -32768, 0)
    assert struct.unpack("<hhh", read(chip, OUTX_L_G, 6)) == (32767, -32768, 0)


def test_fifo_round_trip_with_timestamps() -> None:
    chip = Lsm6dsv16xEmulator(waves)
    write(chip, CTRL8, 1)  # +-4 g
    write(chip, CTRL6, 4)  # +-2000 dps
    write(chip, FUNCTIONS_ENABLE, TIMESTAMP_EN)
    write(chip, CTRL1, ODR_120_HZ, ODR_120_HZ)
    write(chip, FIFO_CTRL3, ODR_120_HZ << 4 | ODR_120_HZ)
    write(chip, FIFO_CTRL4, DEC_TS_1 | CONTINUOUS)
    chip.advance_to(0.5)
    words = drain(chip)
    assert len(words) == 3 * 60
    accel_lsb_mps2 = ACCEL_MG_PER_LSB[1] * 1e-3 * G_MPS2
    gyro_lsb_radps = math.radians(GYRO_MDPS_PER_LSB[4] * 1e-3)
    for slot in range(60):
        stamp, gyro, accel = words[3 * slot : 3 * slot + 3]
        assert (stamp.tag, gyro.tag, accel.tag) == (TAG_TIMESTAMP, TAG_GYRO, TAG_ACCEL)
        assert stamp.cnt == gyro.cnt == accel.cnt == slot % 4
        t_s = struct.unpack("<I", stamp.payload[:4])[0] / TIMESTAMP_HZ
        assert t_s == pytest.approx((slot + 1) / 120, abs=1 / TIMESTAMP_HZ)
        want_accel, want_gyro = waves(np.array([t_s]))
        np.testing.assert_allclose(
            np.array(xyz(accel)) * accel_lsb_mps2, want_accel[0], atol=accel_lsb_mps2
        )
        np.testing.assert_allclose(
            np.array(xyz(gyro)) * gyro_lsb_radps, want_gyro[0], atol=gyro_lsb_radps
        )


def test_timestamp_decimation_and_time_slots_at_mixed_rates() -> None:
    chip = Lsm6dsv16xEmulator(ramp)
    write(chip, CTRL1, ODR_120_HZ, ODR_240_HZ)
    write(chip, FIFO_CTRL3, ODR_240_HZ << 4 | ODR_120_HZ)
    write(chip, FIFO_CTRL4, DEC_TS_8 | CONTINUOUS)
    chip.advance_to(0.5)
    words = drain(chip)
    tags = [w.tag for w in words]
    assert (tags.count(TAG_GYRO), tags.count(TAG_ACCEL), tags.count(TAG_TIMESTAMP)) == (120, 60, 15)
    slots: list[list[Word]] = []
    for word in words:  # a slot starts with its timestamp or its gyroscope sample
        if word.tag == TAG_TIMESTAMP or (
            word.tag == TAG_GYRO and (not slots or slots[-1][-1].tag != TAG_TIMESTAMP)
        ):
            slots.append([])
        slots[-1].append(word)
    assert len(slots) == 120
    for index, slot in enumerate(slots):
        assert {w.cnt for w in slot} == {index % 4}
        assert slot[-1].tag == (TAG_ACCEL if index % 2 == 1 else TAG_GYRO)


def test_burst_read_pops_one_word_per_7_bytes() -> None:
    burst, by_word, by_byte = (accel_chip(ramp) for _ in range(3))
    for chip in (burst, by_word, by_byte):
        chip.advance_to(1.5)
        assert fifo_level(chip) == 180
    one_read = read(burst, FIFO_DATA_OUT_TAG, 180 * WORD_BYTES)
    word_reads = b"".join(read(by_word, FIFO_DATA_OUT_TAG, WORD_BYTES) for _ in range(180))
    byte_reads = b"".join(
        read(by_byte, FIFO_DATA_OUT_TAG + i % 7, 1) for i in range(180 * WORD_BYTES)
    )
    assert one_read == word_reads == byte_reads
    assert [ramp_sample_index(w) for w in parse(one_read)] == list(range(1, 181))
    assert fifo_level(burst) == 0
    assert read(burst, FIFO_DATA_OUT_TAG, WORD_BYTES) == bytes(WORD_BYTES)  # tag 00h: empty


def test_reading_the_tag_alone_does_not_pop() -> None:
    chip = accel_chip(ramp)
    chip.advance_to(0.1)
    assert read(chip, FIFO_DATA_OUT_TAG) == read(chip, FIFO_DATA_OUT_TAG)
    assert fifo_level(chip) == 12


def test_watermark_raises_int1_and_calls_back_on_the_rising_edge() -> None:
    edges: list[float] = []
    chip = accel_chip(ramp)
    chip.on_int1_rising = lambda: edges.append(chip.now_s)
    write(chip, FIFO_CTRL1, 10)
    write(chip, INT1_CTRL, INT1_FIFO_TH)
    for sample in range(1, 21):
        chip.advance_to(sample / 120)
        assert chip.int1 == (sample >= 10)
        assert bool(read(chip, FIFO_STATUS2)[0] & FIFO_WTM_IA) == (sample >= 10)
    assert edges == [pytest.approx(10 / 120)]
    drain(chip)
    assert not chip.int1
    chip.advance_to(30 / 120)
    assert chip.int1
    assert len(edges) == 2


def test_int1_active_low() -> None:
    chip = accel_chip(ramp)
    write(chip, IF_CFG, H_LACTIVE)
    write(chip, FIFO_CTRL1, 10)
    write(chip, INT1_CTRL, INT1_FIFO_TH)
    assert chip.int1
    chip.advance_to(0.1)
    assert not chip.int1


def test_continuous_mode_overwrites_the_oldest_and_flags_overrun() -> None:
    chip = accel_chip(ramp)
    chip.advance_to(300 / 120)
    status1, status2 = read(chip, FIFO_STATUS1, 2)
    assert (status1, status2 & 0x01) == (0x00, 1)  # DIFF_FIFO = 256
    assert status2 & FIFO_OVR_IA and status2 & FIFO_OVR_LATCHED
    assert not read(chip, FIFO_STATUS2)[0] & FIFO_OVR_LATCHED  # cleared by reading
    indices = [ramp_sample_index(w) for w in drain(chip)]
    assert indices == list(range(300 - FIFO_WORDS + 1, 301))
    assert not read(chip, FIFO_STATUS2)[0] & FIFO_OVR_IA


def test_fifo_mode_stops_when_full_until_reset_through_bypass() -> None:
    chip = accel_chip(ramp)
    write(chip, FIFO_CTRL4, FIFO_MODE)
    chip.advance_to(300 / 120)
    assert fifo_level(chip) == FIFO_WORDS
    assert [ramp_sample_index(w) for w in drain(chip)] == list(range(1, FIFO_WORDS + 1))
    chip.advance_to(310 / 120)
    assert fifo_level(chip) == 0  # still stopped after being read (6.12.2)
    write(chip, FIFO_CTRL4, 0)
    write(chip, FIFO_CTRL4, FIFO_MODE)
    chip.advance_to(312 / 120)
    assert [ramp_sample_index(w) for w in drain(chip)] == [311, 312]


def test_stop_on_watermark_limits_the_depth() -> None:
    chip = accel_chip(ramp)
    write(chip, FIFO_CTRL1, 20)
    write(chip, FIFO_CTRL2, 0x80)
    write(chip, FIFO_CTRL4, FIFO_MODE)
    chip.advance_to(1.0)
    assert fifo_level(chip) == 20


def test_bypass_mode_empties_the_fifo() -> None:
    chip = accel_chip(ramp)
    chip.advance_to(0.5)
    assert fifo_level(chip) == 60
    write(chip, FIFO_CTRL4, 0)
    assert fifo_level(chip) == 0
    chip.advance_to(1.0)
    assert fifo_level(chip) == 0


def test_timestamp_lsb_is_about_21_75_us() -> None:
    chip = Lsm6dsv16xEmulator(ramp)
    write(chip, FUNCTIONS_ENABLE, TIMESTAMP_EN)
    chip.advance_to(1.0)
    ticks = timestamp(chip)
    assert abs(ticks - TIMESTAMP_HZ) <= 1
    assert 1.0 / ticks == pytest.approx(21.75e-6, rel=0.003)


def test_timestamp_follows_the_oscillator() -> None:
    chip = Lsm6dsv16xEmulator(ramp, oscillator_ppm=100.0)
    write(chip, FUNCTIONS_ENABLE, TIMESTAMP_EN)
    chip.advance_to(100.0)
    assert abs(timestamp(chip) - 100.0 * TIMESTAMP_HZ * 1.0001) <= 1


def test_timestamp_is_zero_while_disabled() -> None:
    chip = Lsm6dsv16xEmulator(ramp)
    chip.advance_to(1.0)
    assert timestamp(chip) == 0


def test_timestamp_wraps_at_32_bits_with_early_warning() -> None:
    chip = Lsm6dsv16xEmulator(ramp)
    write(chip, FUNCTIONS_ENABLE, TIMESTAMP_EN)
    wrap_s = 2**32 / TIMESTAMP_HZ  # about 25.9 h
    chip.advance_to(wrap_s - 0.02)
    assert not read(chip, STATUS_REG)[0] & TIMESTAMP_ENDCOUNT
    chip.advance_to(wrap_s - 0.004)  # within the 5.6 ms warning
    assert read(chip, STATUS_REG)[0] & TIMESTAMP_ENDCOUNT
    chip.advance_to(wrap_s + 1000 / TIMESTAMP_HZ)
    assert abs(timestamp(chip) - 1000) <= 1


def test_data_ready_clears_when_the_high_byte_is_read() -> None:
    chip = Lsm6dsv16xEmulator(ramp)
    write(chip, CTRL1, ODR_120_HZ, ODR_120_HZ)
    assert read(chip, STATUS_REG) == b"\x00"
    chip.advance_to(0.01)
    assert read(chip, STATUS_REG)[0] == XLDA | GDA
    read(chip, OUTX_L_A)
    assert read(chip, STATUS_REG)[0] == XLDA | GDA
    read(chip, OUTX_H_A)
    assert read(chip, STATUS_REG)[0] == GDA


def test_signal_is_evaluated_once_per_advance_at_every_due_sample() -> None:
    calls: list[int] = []

    def counting(t_s: FloatArray) -> tuple[FloatArray, FloatArray]:
        calls.append(t_s.size)
        return ramp(t_s)

    chip = Lsm6dsv16xEmulator(counting)
    chip.advance_to(1.0)
    assert calls == []  # both sensors are powered down
    write(chip, CTRL1, ODR_120_HZ, ODR_240_HZ)
    chip.advance_to(2.0)
    assert calls == [240]  # the 120 Hz instants coincide with every other 240 Hz one


def test_sw_reset_restores_defaults() -> None:
    chip = accel_chip(ramp)
    write(chip, IF_CFG, H_LACTIVE)
    write(chip, FUNCTIONS_ENABLE, TIMESTAMP_EN)
    write(chip, CTRL8, 3)
    chip.advance_to(1.0)
    write(chip, CTRL3, BDU | IF_INC | SW_RESET)
    assert read(chip, CTRL3) == b"\x44"  # BDU and IF_INC set, SW_RESET cleared (table 24)
    assert read(chip, CTRL1, 2) == b"\x00\x00"
    assert read(chip, CTRL8) == read(chip, FIFO_CTRL3) == read(chip, FIFO_CTRL4) == b"\x00"
    assert read(chip, PIN_CTRL) == b"\x23"
    assert read(chip, IF_CFG)[0] == H_LACTIVE  # IF_CFG survives a software reset (9.3)
    assert fifo_level(chip) == 0
    assert timestamp(chip) == 0
    chip.advance_to(2.0)
    assert read(chip, STATUS_REG) == b"\x00"


def test_reserved_registers_read_zero_and_ignore_writes() -> None:
    chip = Lsm6dsv16xEmulator(ramp)
    for register in (0x04, 0x1F, 0x3C, 0x76, 0x7F):
        write(chip, register, 0xA5)
        assert read(chip, register) == b"\x00"
    write(chip, WHO_AM_I, 0x00)
    assert read(chip, WHO_AM_I) == b"\x70"


def test_multi_byte_access_follows_if_inc() -> None:
    chip = Lsm6dsv16xEmulator(ramp)
    write(chip, CTRL1, ODR_120_HZ, ODR_240_HZ)
    assert read(chip, CTRL1, 2) == bytes((ODR_120_HZ, ODR_240_HZ))
    write(chip, CTRL3, BDU)  # IF_INC off
    assert read(chip, WHO_AM_I, 2) == b"\x70\x70"
    write(chip, CTRL1, 0x00, ODR_960_HZ)
    assert read(chip, CTRL1) == bytes((ODR_960_HZ,))
    assert read(chip, CTRL2) == bytes((ODR_240_HZ,))


def test_readfrom_mem_into_fills_the_buffer() -> None:
    chip = Lsm6dsv16xEmulator(ramp)
    write(chip, FUNCTIONS_ENABLE, TIMESTAMP_EN)
    chip.advance_to(1.0)
    buf = bytearray(4)
    chip.readfrom_mem_into(ADDRESS, TIMESTAMP0, memoryview(buf))
    assert struct.unpack("<I", buf)[0] == timestamp(chip)


def test_internal_freq_fine_reports_the_oscillator_in_0_13_percent_steps() -> None:
    assert read(Lsm6dsv16xEmulator(ramp, oscillator_ppm=2600.0), INTERNAL_FREQ_FINE) == b"\x02"
    assert read(Lsm6dsv16xEmulator(ramp, oscillator_ppm=-1300.0), INTERNAL_FREQ_FINE) == b"\xff"
    assert read(Lsm6dsv16xEmulator(ramp, oscillator_ppm=50.0), INTERNAL_FREQ_FINE) == b"\x00"


def spin_about_z(t_s: FloatArray) -> FloatArray:
    """4 rad/s about Z: w changes sign after pi / 4 s."""
    half_angle = 2.0 * t_s
    return np.column_stack((np.cos(half_angle), 0 * t_s, 0 * t_s, np.sin(half_angle)))


def test_sflp_game_rotation_words_carry_the_orientation() -> None:
    chip = Lsm6dsv16xEmulator(ramp, orientation=spin_about_z)
    write(chip, FUNC_CFG_ACCESS, EMB_FUNC_REG_ACCESS)
    assert read(chip, SFLP_ODR) == b"\x5b"  # SFLP_GAME_ODR = 011: 120 Hz by default
    write(chip, EMB_FUNC_EN_A, SFLP_GAME_EN)
    write(chip, EMB_FUNC_FIFO_EN_A, SFLP_GAME_FIFO_EN)
    write(chip, FUNC_CFG_ACCESS, 0x00)
    write(chip, CTRL1, ODR_120_HZ, ODR_120_HZ)
    write(chip, FIFO_CTRL4, CONTINUOUS)
    chip.advance_to(1.0)
    words = drain(chip)
    assert len(words) == 120
    for k, word in enumerate(words, start=1):
        assert word.tag == TAG_GAME_ROTATION
        x, y, z = struct.unpack("<eee", word.payload)
        want = spin_about_z(np.array([k / 120]))[0]
        want *= math.copysign(1.0, want[0])  # sent with w >= 0
        # Half floats near 1 are 2**-11 apart; the reader rebuilds w = sqrt(1 - x^2 - y^2 - z^2).
        np.testing.assert_allclose([x, y, z], want[1:], atol=2**-12)
