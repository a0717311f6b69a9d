"""The LSM6DSV16X driver against a register-file fake on the fake I2C bus (CPython and MicroPython).

Register addresses and values are written out here from ST DS13510 rather than imported from the
driver, so these tests check the driver's constants too.
"""

import machine
from fakes.fake_lsm6dsv16x import FakeLsm6dsv16x, timestamp_word, word
from fwtest import IS_MICROPYTHON, raises
from pod.imu import lsm6dsv16x as imu

FUNC_CFG_ACCESS = 0x01
FIFO_CTRL1 = 0x07
FIFO_CTRL2 = 0x08
FIFO_CTRL3 = 0x09
FIFO_CTRL4 = 0x0A
INT1_CTRL = 0x0D
CTRL1 = 0x10
CTRL2 = 0x11
CTRL3 = 0x12
CTRL6 = 0x15
CTRL8 = 0x17
FUNCTIONS_ENABLE = 0x50
EMB_FUNC_EN_A = 0x04
EMB_FUNC_FIFO_EN_A = 0x44
SFLP_ODR = 0x5E
CONTINUOUS_DEC_TS_8 = 0x86  # DEC_TS_BATCH 10b, FIFO_MODE 110b
ODR_CODE = {60: 5, 120: 6, 240: 7, 480: 8}
SFLP_CODE = {60: 2, 120: 3, 240: 4, 480: 5}
G = 9.80665


def _bus(device=None):
    """I2C bus 0 with `device` on it, every fake pin and bus forgotten first."""
    machine.clear()  # pyright: ignore[reportAttributeAccessIssue]  (test hook of the fake)
    bus = machine.I2C(0, scl=machine.Pin(9), sda=machine.Pin(8))
    if device is not None:
        bus.attach(device)  # pyright: ignore[reportAttributeAccessIssue]
    return bus


def _driver(rate_hz=120, **options):
    chip = FakeLsm6dsv16x()
    driver = imu.Lsm6dsv16x(_bus(chip))
    driver.configure(rate_hz, **options)
    return chip, driver


def _close(a, b, rel=1e-5):
    return abs(a - b) <= rel * abs(b)


def test_tags_and_tag_of_follow_the_datasheet():
    assert (imu.TAG_GYRO, imu.TAG_ACC, imu.TAG_TIMESTAMP) == (0x01, 0x02, 0x04)
    assert imu.TAG_GAME_ROTATION == 0x13
    assert imu.Lsm6dsv16x.TICK_HZ == 46080
    buf = bytearray(word(0x02, 1, 2, 3) + bytes([0x13 << 3 | 0x06]) + bytes(6))
    assert imu.tag_of(buf, 0) == imu.TAG_ACC
    assert imu.tag_of(buf, 1) == imu.TAG_GAME_ROTATION  # TAG_CNT bits ignored


def test_an_absent_chip_raises_oserror_naming_the_address():
    bus = _bus()
    error = raises(OSError, imu.Lsm6dsv16x, bus)
    assert "0x6a" in str(error) and "LSM6DSV16X" in str(error)


def test_another_chip_raises_oserror_naming_what_was_read():
    bus = _bus(FakeLsm6dsv16x(who_am_i=0x6C))
    error = raises(OSError, imu.Lsm6dsv16x, bus)
    assert "0x6c" in str(error) and "0x70" in str(error)


def test_sa0_high_address():
    chip = FakeLsm6dsv16x(address=0x6B)
    bus = _bus(chip)
    raises(OSError, imu.Lsm6dsv16x, bus)
    imu.Lsm6dsv16x(bus, 0x6B)


def test_construction_resets_what_a_previous_run_left():
    chip = FakeLsm6dsv16x()
    chip.regs[FIFO_CTRL4] = 0x06
    chip.regs[CTRL1] = 0x08
    chip.push(word(2) * 5)
    imu.Lsm6dsv16x(_bus(chip))
    assert ("main", CTRL3, 0x45) in chip.writes  # SW_RESET with BDU and IF_INC kept
    assert chip.regs[CTRL3] == 0x44
    assert chip.regs[CTRL1] == 0 and chip.regs[FIFO_CTRL4] == 0
    assert chip.unread == 0


def test_configure_sets_rate_fifo_timestamp_and_int1_for_every_rate():
    for rate, ticks in ((60, 768), (120, 384), (240, 192), (480, 96)):
        chip, driver = _driver(rate, watermark_words=33)
        odr = ODR_CODE[rate]
        assert (chip.regs[CTRL1], chip.regs[CTRL2]) == (odr, odr), rate
        assert chip.regs[FIFO_CTRL3] == odr << 4 | odr
        assert chip.regs[FIFO_CTRL4] == CONTINUOUS_DEC_TS_8
        assert chip.regs[FIFO_CTRL1] == 33
        assert chip.regs[FIFO_CTRL2] == 0
        assert chip.regs[INT1_CTRL] == 0x08
        assert chip.regs[FUNCTIONS_ENABLE] & 0x40
        assert driver.ticks_per_sample == ticks
        assert driver.rate_hz == rate


def test_configure_restarts_the_fifo_empty_and_enables_it_last():
    chip, driver = _driver(120)
    chip.push(word(2) * 9)
    del chip.writes[:]
    driver.configure(240)
    assert chip.unread == 0
    assert chip.writes[0] == ("main", FIFO_CTRL4, 0)
    assert chip.writes[-1] == ("main", FIFO_CTRL4, CONTINUOUS_DEC_TS_8)


def test_full_scales_and_scale_factors():
    for range_g, code, mg in ((2, 0, 0.061), (4, 1, 0.122), (8, 2, 0.244), (16, 3, 0.488)):
        chip, driver = _driver(120, acc_range_g=range_g)
        assert chip.regs[CTRL8] & 0x03 == code
        assert _close(driver.acc_scale_mps2_per_lsb, mg * 1e-3 * G)
    gyro = (
        (125, 0, 4.375),
        (250, 1, 8.75),
        (500, 2, 17.5),
        (1000, 3, 35.0),
        (2000, 4, 70.0),
        (4000, 12, 140.0),  # FS_G 1100b
    )
    for range_dps, code, mdps in gyro:
        chip, driver = _driver(120, gyr_range_dps=range_dps)
        assert chip.regs[CTRL6] & 0x0F == code
        assert _close(driver.gyr_scale_radps_per_lsb, mdps * 1e-3 * 3.141592653589793 / 180)


def test_defaults_are_16_g_2000_dps_watermark_40():
    chip, _ = _driver(60)
    assert chip.regs[CTRL8] & 0x03 == 3 and chip.regs[CTRL6] & 0x0F == 4
    assert chip.regs[FIFO_CTRL1] == 40


def test_configure_rejects_what_the_chip_cannot_do_before_writing():
    chip, driver = _driver(120)
    before = len(chip.writes)
    for rate in (0, 15, 30, 100, 960, 7680):
        raises(ValueError, driver.configure, rate)
    for acc in (0, 1, 3, 32):
        raises(ValueError, driver.configure, 120, acc)
    for gyr in (0, 100, 3000, 8000):
        raises(ValueError, driver.configure, 120, 16, gyr)
    for watermark in (0, -1, 256):
        raises(ValueError, driver.configure, 120, 16, 2000, watermark)
    assert len(chip.writes) == before
    assert "60, 120, 240 or 480" in str(raises(ValueError, driver.configure, 100))


def test_quaternion_batches_the_sflp_game_vector_at_the_rate():
    for rate in (60, 120, 240, 480):
        chip, driver = _driver(rate, quaternion=True)
        assert chip.emb[EMB_FUNC_EN_A] & 0x02
        assert chip.emb[EMB_FUNC_FIFO_EN_A] & 0x02
        assert (chip.emb[SFLP_ODR] >> 3) & 0x07 == SFLP_CODE[rate]
        assert chip.emb[SFLP_ODR] & ~0x38 & 0xFF == 0x43  # reserved bits as they were
        assert chip.regs[FUNC_CFG_ACCESS] == 0  # back on the main bank
        assert driver.quaternion
    driver.configure(120)
    assert not chip.emb[EMB_FUNC_EN_A] & 0x02
    assert not chip.emb[EMB_FUNC_FIFO_EN_A] & 0x02
    assert chip.regs[FUNC_CFG_ACCESS] == 0


def test_read_fifo_reads_every_unread_word_in_one_burst():
    chip, driver = _driver(120)
    words = timestamp_word(768) + word(1, 10, 20, 30) + word(2, -1, -2, 16000)
    chip.push(words)
    buf = bytearray(7 * 10)
    reads = chip.reads
    assert driver.read_fifo(buf) == 3
    assert chip.reads == reads + 2  # FIFO_STATUS1-2, then the words
    assert bytes(buf[:21]) == words
    assert [imu.tag_of(buf, i) for i in range(3)] == [imu.TAG_TIMESTAMP, imu.TAG_GYRO, imu.TAG_ACC]
    assert chip.unread == 0
    assert driver.read_fifo(buf) == 0
    assert chip.reads == reads + 3  # nothing unread: no burst
    assert not driver.overrun


def test_read_fifo_stops_at_whole_words_that_fit():
    chip, driver = _driver(120)
    chip.push(b"".join(word(2, i) for i in range(12)))
    buf = bytearray(7 * 5 + 6)
    assert driver.read_fifo(buf) == 5
    assert buf[7 * 5 :] == bytearray(6)  # the partial word's room is untouched
    assert chip.unread == 7
    assert driver.read_fifo(buf) == 5
    assert driver.read_fifo(buf) == 2
    assert buf[1] == 10  # X of word 10 (little-endian int16)


def test_read_fifo_counts_past_255_words():
    chip, driver = _driver(480)
    chip.push(word(1) * 256)
    buf = bytearray(7 * 300)
    assert driver.read_fifo(buf) == 256
    assert chip.unread == 0


def test_overrun_is_reported_once_per_call_and_counted():
    chip, driver = _driver(480)
    buf = bytearray(7 * 256)
    chip.push(word(2) * 260)  # four words overwritten
    assert driver.read_fifo(buf) == 256
    assert driver.overrun and driver.overruns == 1
    chip.push(word(2) * 3)
    assert driver.read_fifo(buf) == 3
    assert not driver.overrun and driver.overruns == 1
    chip.push(word(2) * 257)
    driver.read_fifo(buf)
    assert driver.overrun and driver.overruns == 2


def test_read_timestamp_is_little_endian_into_the_first_four_bytes():
    chip, driver = _driver(120)
    chip.timestamp = 0x89ABCDEF
    buf = bytearray(b"\xaa" * 6)
    driver.read_timestamp(buf)
    assert bytes(buf) == b"\xef\xcd\xab\x89\xaa\xaa"
    chip.timestamp = 5
    driver.read_timestamp(buf)
    assert buf[0] == 5 and buf[3] == 0


def test_stop_powers_down_and_bypasses_the_fifo():
    chip, driver = _driver(240)
    chip.push(word(2) * 4)
    driver.stop()
    assert chip.regs[CTRL1] == 0 and chip.regs[CTRL2] == 0
    assert chip.regs[FIFO_CTRL4] & 0x07 == 0
    assert chip.unread == 0
    assert driver.read_fifo(bytearray(70)) == 0


def test_int1_rises_at_the_watermark_and_runs_the_pin_handler():
    chip, driver = _driver(120, watermark_words=8)
    pin = machine.Pin(4, machine.Pin.IN)
    seen = []
    pin.irq(lambda p: seen.append(p.value()), machine.Pin.IRQ_RISING)
    chip.int1 = pin
    chip.push(word(2) * 7)
    assert seen == [] and pin.value() == 0
    chip.push(word(1))
    assert seen == [1]
    driver.read_fifo(bytearray(7 * 16))
    assert pin.value() == 0  # below the watermark again
    chip.push(word(2) * 8)
    assert seen == [1, 1]


def test_read_fifo_allocates_nothing():
    """Twenty reads of varying size, one overrun among them; only measurable under MicroPython."""
    if not IS_MICROPYTHON:
        return
    import gc

    import micropython

    chip = FakeLsm6dsv16x(capacity=24)
    driver = imu.Lsm6dsv16x(_bus(chip))
    driver.configure(480)
    chip.script(b"".join(word(1 + i % 2, i, -i, 1000) for i in range(600)))
    counts = [(j * 5) % 17 for j in range(20)]
    counts[7] = 30  # more than the FIFO holds: the oldest 6 are overwritten
    buf = bytearray(7 * 32)
    stamp = bytearray(4)
    chip.timestamp = 123456
    driver.read_fifo(buf)  # the first call with a buffer makes its views
    driver.read_timestamp(stamp)
    got = bytearray(20)
    overran = bytearray(20)
    tags = bytearray(20)
    gc.collect()
    micropython.heap_lock()
    try:
        for j in range(20):
            chip.release(counts[j])
            got[j] = driver.read_fifo(buf)
            overran[j] = driver.overrun
            tags[j] = imu.tag_of(buf, 0)
            driver.read_timestamp(stamp)
    finally:
        micropython.heap_unlock()
    assert list(got) == [min(c, 24) for c in counts]
    assert [j for j in range(20) if overran[j]] == [7]
    assert driver.overruns == 1
    assert stamp == bytearray(b"\x40\xe2\x01\x00")
    assert all(tags[j] in (imu.TAG_GYRO, imu.TAG_ACC) for j in range(20) if got[j])
