"""The pod's LSM6DSV16X driver against the register-level emulator (CPython only).

The emulator (gaitchain.sim.lsm6dsv16x) samples a motion signal on the chip's own clock and fills
its tagged FIFO as DS13510 describes; here the driver configures it over the fake `machine.I2C`
and everything is checked through what `read_fifo` and `read_timestamp` return.
"""

import math
import struct
from collections import Counter
from collections.abc import Callable

import machine  # pyright: ignore[reportMissingImports]  (tests/firmware/fakes, see conftest)
import numpy as np
import pytest
from gaitchain.sim.lsm6dsv16x import FloatArray, Lsm6dsv16xEmulator
from pod.imu import lsm6dsv16x as imu  # pyright: ignore[reportMissingImports]

G = 9.80665
RATES = (60, 120, 240, 480)
TICK_HZ = 46080
FIFO_WORDS = 256
WORD = struct.Struct("<Bhhh")
FIFO_STATUS1 = 0x1B
WHO_AM_I = 0x0F

Signal = Callable[[FloatArray], tuple[FloatArray, FloatArray]]


def still(accel=(0.0, 0.0, G), gyro=(0.0, 0.0, 0.0)) -> Signal:
    """A pod lying still: constant specific force (m/s^2) and angular rate (rad/s)."""

    def signal(t_s: FloatArray) -> tuple[FloatArray, FloatArray]:
        n = t_s.size
        return np.tile(np.asarray(accel, float), (n, 1)), np.tile(np.asarray(gyro, float), (n, 1))

    return signal


def on_bus(emulator: object):
    machine.clear()
    bus = machine.I2C(0)
    bus.attach(emulator)
    return bus


def pod(signal: Signal | None = None, **emulator_options):
    """An emulator on the fake bus and the driver constructed on it (at t = 0)."""
    emulator = Lsm6dsv16xEmulator(signal or still(), **emulator_options)
    return emulator, imu.Lsm6dsv16x(on_bus(emulator))


def stream(emulator, driver, seconds: float, step_s: float = 0.01) -> list[bytes]:
    """Advance in steps, reading the FIFO after each; every word read, in order."""
    buf = bytearray(7 * FIFO_WORDS)
    words: list[bytes] = []
    start = emulator.now_s
    for k in range(1, round(seconds / step_s) + 1):
        emulator.advance_to(start + k * step_s)
        n = driver.read_fifo(buf)
        assert not driver.overrun, f"overrun at {emulator.now_s} s"
        words += [bytes(buf[7 * i : 7 * i + 7]) for i in range(n)]
    return words


def tags(words: list[bytes]) -> list[int]:
    return [imu.tag_of(word, 0) for word in words]


def xyz(words: list[bytes], tag: int) -> np.ndarray:
    return np.array([WORD.unpack(w)[1:] for w in words if imu.tag_of(w, 0) == tag])


def timestamps(words: list[bytes]) -> list[int]:
    return [
        struct.unpack_from("<I", w, 1)[0] for w in words if imu.tag_of(w, 0) == imu.TAG_TIMESTAMP
    ]


def unread(emulator: Lsm6dsv16xEmulator) -> int:
    low, high = emulator.readfrom_mem(emulator.address, FIFO_STATUS1, 2)
    return low | (high & 1) << 8


class OtherChip(Lsm6dsv16xEmulator):
    """An LSM6DSOX-like part at the same address: WHO_AM_I reads 6Ch."""

    def readfrom_mem(self, addr: int, memaddr: int, nbytes: int, *, addrsize: int = 8) -> bytes:
        data = super().readfrom_mem(addr, memaddr, nbytes, addrsize=addrsize)
        return b"\x6c" + data[1:] if memaddr == WHO_AM_I else data


def test_who_am_i_failures_raise_oserror():
    emulator = Lsm6dsv16xEmulator(still(), address=0x6B)
    bus = on_bus(emulator)
    with pytest.raises(OSError, match="no LSM6DSV16X at I2C address 0x6a"):
        imu.Lsm6dsv16x(bus)
    imu.Lsm6dsv16x(bus, 0x6B)
    with pytest.raises(OSError, match="WHO_AM_I reads 0x6c, expected 0x70"):
        imu.Lsm6dsv16x(on_bus(OtherChip(still())))


@pytest.mark.parametrize("rate", RATES)
def test_each_rate_gives_its_samples_per_second(rate: int):
    emulator, driver = pod()
    driver.configure(rate)
    counts = Counter(tags(stream(emulator, driver, 1.0)))
    assert counts[imu.TAG_ACC] == rate
    assert counts[imu.TAG_GYRO] == rate
    assert counts[imu.TAG_TIMESTAMP] == rate // 8
    assert set(counts) == {imu.TAG_ACC, imu.TAG_GYRO, imu.TAG_TIMESTAMP}


@pytest.mark.parametrize("rate", RATES)
def test_rates_follow_the_chip_clock(rate: int):
    emulator, driver = pod(oscillator_ppm=2000.0)  # 0.2 % fast
    driver.configure(rate)
    counts = Counter(tags(stream(emulator, driver, 2.0)))
    assert counts[imu.TAG_ACC] == math.floor(2 * rate * 1.002)


@pytest.mark.parametrize("range_g", [2, 4, 8, 16])
def test_accelerometer_full_scales_give_one_g(range_g: int):
    emulator, driver = pod(still(accel=(0.0, 0.0, G)))
    driver.configure(120, acc_range_g=range_g)
    acc = xyz(stream(emulator, driver, 0.2), imu.TAG_ACC) * driver.acc_scale_mps2_per_lsb
    assert len(acc) == 24
    assert np.all(np.abs(acc[:, 2] - G) <= 0.005 * G)
    assert np.all(acc[:, :2] == 0.0)


@pytest.mark.parametrize("range_dps", [125, 250, 500, 1000, 2000, 4000])
def test_gyroscope_full_scales_give_the_angular_rate(range_dps: int):
    rate_radps = np.array([0.3, -0.6, 1.0])  # 57 deg/s on Z, inside +-125 dps
    emulator, driver = pod(still(gyro=tuple(rate_radps)))
    driver.configure(120, gyr_range_dps=range_dps)
    gyr = xyz(stream(emulator, driver, 0.2), imu.TAG_GYRO) * driver.gyr_scale_radps_per_lsb
    assert np.all(np.abs(gyr - rate_radps) <= 0.005 * np.abs(rate_radps))


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("ppm", [0.0, -800.0])
def test_timestamps_advance_by_ticks_per_sample(rate: int, ppm: float):
    emulator, driver = pod(oscillator_ppm=ppm)
    emulator.advance_to(0.25)
    driver.configure(rate)
    assert driver.ticks_per_sample == TICK_HZ // rate
    words = stream(emulator, driver, 1.5)
    stamps = timestamps(words)
    assert len(stamps) >= rate // 8
    assert set(np.diff(stamps)) == {8 * driver.ticks_per_sample}  # one word per 8 samples
    order = tags(words)
    between = np.diff([i for i, tag in enumerate(order) if tag == imu.TAG_TIMESTAMP])
    assert set(between) == {1 + 8 * 2}  # the stamp, then 8 gyroscope and 8 accelerometer words
    now = bytearray(4)
    driver.read_timestamp(now)
    elapsed = 1.5 * TICK_HZ * (1 + ppm * 1e-6)
    assert abs(int.from_bytes(now, "little") - elapsed) <= 1
    assert stamps[-1] <= int.from_bytes(now, "little")


def test_overrun_is_reported_when_the_fifo_is_not_read_in_time():
    emulator, driver = pod()
    driver.configure(480)
    buf = bytearray(7 * FIFO_WORDS)
    emulator.advance_to(1.0)  # 1020 words for a FIFO of 256
    assert driver.read_fifo(buf) == FIFO_WORDS
    assert driver.overrun and driver.overruns == 1
    emulator.advance_to(1.01)
    assert 0 < driver.read_fifo(buf) < 20
    assert not driver.overrun and driver.overruns == 1
    for k in range(1, 6):  # 306 words between reads: every read finds words lost
        emulator.advance_to(1.01 + 0.3 * k)
        driver.read_fifo(buf)
        assert driver.overrun
    assert driver.overruns == 6


def test_reading_in_time_never_overruns_even_with_quaternions():
    emulator, driver = pod()
    driver.configure(480, quaternion=True)  # 3.125 words per sample
    stream(emulator, driver, 2.0, step_s=0.05)  # asserts no overrun on every read
    assert driver.overruns == 0


def test_int1_rises_at_the_watermark():
    rises: list[tuple[float, int]] = []
    emulator, driver = pod()
    pin = machine.Pin(5, machine.Pin.IN)
    pin.irq(lambda p: rises.append((emulator.now_s, unread(emulator))), machine.Pin.IRQ_RISING)
    driver.configure(120, watermark_words=40)
    step = 0.001
    for k in range(1, 160):
        emulator.advance_to(k * step)
        pin.value(emulator.int1)
    # 2 words per sample and a timestamp every 8: word 40 comes with sample 19, at 19/120 s.
    assert len(rises) == 1
    assert 19 / 120 <= rises[0][0] < 19 / 120 + step
    assert rises[0][1] == 40
    driver.read_fifo(bytearray(7 * FIFO_WORDS))
    assert not emulator.int1
    pin.value(emulator.int1)
    for k in range(160, 400):
        emulator.advance_to(k * step)
        pin.value(emulator.int1)
    assert len(rises) == 2
    assert rises[1][1] >= 40


def test_quaternion_words_arrive_at_the_rate():
    turn = math.radians(30.0)

    def orientation(t_s: FloatArray) -> FloatArray:
        q = np.array([math.cos(turn / 2), 0.0, 0.0, math.sin(turn / 2)])
        return np.tile(q, (t_s.size, 1))

    emulator, driver = pod(orientation=orientation)
    driver.configure(240, quaternion=True)
    words = stream(emulator, driver, 1.0)
    assert Counter(tags(words))[imu.TAG_GAME_ROTATION] == 240
    rotation = next(w for w in words if imu.tag_of(w, 0) == imu.TAG_GAME_ROTATION)
    x, y, z = struct.unpack_from("<eee", rotation, 1)
    assert (x, y) == (0.0, 0.0)
    assert z == pytest.approx(math.sin(turn / 2), abs=1e-3)


def test_stop_ends_the_stream():
    emulator, driver = pod()
    driver.configure(240)
    stream(emulator, driver, 0.1)
    driver.stop()
    emulator.advance_to(emulator.now_s + 0.5)
    assert driver.read_fifo(bytearray(7 * FIFO_WORDS)) == 0
    assert not emulator.int1
