"""The emulator's activity/inactivity (sleep-change) and wake-up functions follow ST DS13510's
register descriptions (FUNCTIONS_ENABLE, INACTIVITY_DUR/THS, WAKE_UP_THS/DUR, MD1_CFG,
WAKE_UP_SRC, ALL_INT_SRC; AN5763 activity/inactivity recognition), on synthetic still and
walking motion. Addresses and bits are written out from the datasheet, not imported."""

import numpy as np
from gaitchain.sim.lsm6dsv16x import FloatArray, Lsm6dsv16xEmulator

ADDRESS = 0x6A
FIFO_CTRL3 = 0x09
FIFO_CTRL4 = 0x0A
CTRL1 = 0x10
CTRL2 = 0x11
FIFO_STATUS1 = 0x1B
FIFO_STATUS2 = 0x1C
ALL_INT_SRC = 0x1D
WAKE_UP_SRC = 0x45
FUNCTIONS_ENABLE = 0x50
INACTIVITY_DUR = 0x54
INACTIVITY_THS = 0x55
TAP_CFG0 = 0x56
WAKE_UP_THS = 0x5B
WAKE_UP_DUR = 0x5C
MD1_CFG = 0x5E
FIFO_DATA_OUT_TAG = 0x78
ODR_240 = 0x7
G_MPS2 = 9.80665
SLEEP_STATE = 0x10
SLEEP_CHANGE_IA = 0x40
WU_IA = 0x08


def motion(walk_from_s: float = 1e9, walk_to_s: float = 1e9, amplitude_g: float = 0.8):
    """Still (gravity on z) except between walk_from_s and walk_to_s: a 1.8 Hz stride with a
    sharp heel strike each cycle, `amplitude_g` peak on z and half of it on x."""

    def signal(t_s: FloatArray) -> tuple[FloatArray, FloatArray]:
        accel = np.zeros((t_s.size, 3))
        accel[:, 2] = G_MPS2
        walking = (t_s >= walk_from_s) & (t_s < walk_to_s)
        phase = np.mod((t_s - walk_from_s) * 1.8, 1.0)
        strike = np.exp(-(((phase - 0.05) / 0.03) ** 2))
        swing = np.sin(2 * np.pi * phase)
        accel[:, 2] += np.where(walking, amplitude_g * G_MPS2 * (strike + 0.3 * swing), 0.0)
        accel[:, 0] += np.where(walking, 0.5 * amplitude_g * G_MPS2 * swing, 0.0)
        gyro = np.zeros((t_s.size, 3))
        gyro[:, 1] = np.where(walking, 3.0 * swing, 0.0)
        return accel, gyro

    return signal


def write(chip: Lsm6dsv16xEmulator, register: int, value: int) -> None:
    chip.writeto_mem(ADDRESS, register, bytes((value,)))


def read(chip: Lsm6dsv16xEmulator, register: int) -> int:
    return chip.readfrom_mem(ADDRESS, register, 1)[0]


def configure(
    chip: Lsm6dsv16xEmulator,
    inact_en: int = 0b11,
    inactivity_dur: int | None = 0b0010_0100,  # weight 31.25 mg, 15 Hz inactive, first sample
    sleep_dur: int = 1,  # 512 periods of 240 Hz: 2.13 s
) -> None:
    """Accelerometer and gyroscope at 240 Hz batched in a continuous FIFO, activity/inactivity
    with WK_THS = INACT_THS = 2 (62.5 mg), latched, sleep change routed to INT1."""
    write(chip, CTRL1, ODR_240)
    write(chip, CTRL2, ODR_240)
    write(chip, FIFO_CTRL3, ODR_240 << 4 | ODR_240)
    write(chip, FIFO_CTRL4, 0x06)
    if inactivity_dur is not None:
        write(chip, INACTIVITY_DUR, inactivity_dur)
    write(chip, INACTIVITY_THS, 2)
    write(chip, WAKE_UP_THS, 2)
    write(chip, WAKE_UP_DUR, sleep_dur)
    write(chip, TAP_CFG0, 0x01)  # LIR
    write(chip, MD1_CFG, 0x80)  # INT1_SLEEP_CHANGE
    write(chip, FUNCTIONS_ENABLE, 0x80 | inact_en)


def drain(chip: Lsm6dsv16xEmulator) -> dict[int, int]:
    """Reads the FIFO out; words per tag."""
    status = chip.readfrom_mem(ADDRESS, FIFO_STATUS1, 2)
    n = status[0] | (status[1] & 1) << 8
    data = chip.readfrom_mem(ADDRESS, FIFO_DATA_OUT_TAG, 7 * n)
    counts: dict[int, int] = {}
    for i in range(n):
        tag = data[7 * i] >> 3
        counts[tag] = counts.get(tag, 0) + 1
    return counts


def test_reset_default_sleep_rate_is_15_hz():
    chip = Lsm6dsv16xEmulator(motion())
    assert read(chip, INACTIVITY_DUR) == 0x04  # XL_INACT_ODR = 01b: 15 Hz
    configure(chip, inactivity_dur=None)
    chip.advance_to(4.0)
    drain(chip)
    chip.advance_to(6.0)
    assert chip.asleep
    assert drain(chip).get(0x02, 0) in (29, 30, 31)


def test_stillness_drops_the_accelerometer_to_the_low_rate_and_powers_the_gyro_down():
    chip = Lsm6dsv16xEmulator(motion())
    configure(chip)
    chip.advance_to(2.0)  # SLEEP_DUR = 1: 512 / 240 Hz = 2.13 s of stillness needed
    assert not chip.asleep
    assert read(chip, WAKE_UP_SRC) & SLEEP_STATE == 0
    chip.advance_to(2.2)
    assert chip.asleep
    assert (
        read(chip, WAKE_UP_SRC) & (SLEEP_STATE | SLEEP_CHANGE_IA) == SLEEP_STATE | SLEEP_CHANGE_IA
    )
    assert read(chip, WAKE_UP_SRC) & SLEEP_CHANGE_IA == 0  # latched (LIR) until read
    drain(chip)
    chip.advance_to(4.2)
    counts = drain(chip)
    assert counts.get(0x02, 0) in (29, 30, 31)  # 15 Hz for 2 s
    assert counts.get(0x01, 0) == 0  # gyroscope powered down


def test_inact_en_01_keeps_the_gyroscope_running():
    chip = Lsm6dsv16xEmulator(motion())
    configure(chip, inact_en=0b01)
    chip.advance_to(3.0)
    drain(chip)
    chip.advance_to(4.0)
    counts = drain(chip)
    assert chip.asleep
    assert counts.get(0x02, 0) in (14, 15, 16)
    assert counts.get(0x01, 0) in (239, 240, 241)


def test_walking_wakes_it_within_the_low_rate_latency_and_raises_int1():
    rises: list[float] = []
    chip: Lsm6dsv16xEmulator | None = None

    def on_rise() -> None:
        assert chip is not None
        rises.append(chip.now_s)

    chip = Lsm6dsv16xEmulator(motion(walk_from_s=60.0, walk_to_s=70.0), on_int1_rising=on_rise)
    configure(chip)
    t = 0.0
    while t < 59.9:  # a long sit, advanced in 10 ms steps so INT1 times are exact to 10 ms
        t = round(t + 0.01, 2)
        chip.advance_to(t)
    assert chip.asleep
    read(chip, WAKE_UP_SRC)  # clears the sleep-change event of falling asleep
    rises.clear()
    while t < 61.0:
        t = round(t + 0.01, 2)
        chip.advance_to(t)
    assert not chip.asleep
    assert len(rises) == 1
    # Wake on the first 15 Hz sample above threshold (INACT_DUR = 0): within two 15 Hz periods.
    assert 60.0 <= rises[0] <= 60.0 + 2 / 15 + 0.01
    assert read(chip, ALL_INT_SRC) & 0x20  # SLEEP_CHANGE_IA
    assert read(chip, WAKE_UP_SRC) & (SLEEP_STATE | SLEEP_CHANGE_IA) == 0  # cleared by the read
    drain(chip)
    chip.advance_to(61.5)
    counts = drain(chip)
    assert counts.get(0x02, 0) in (119, 120, 121)  # back at 240 Hz
    assert counts.get(0x01, 0) in (119, 120, 121)
    chip.advance_to(69.0)
    assert not chip.asleep  # heel strikes keep it awake while walking
    chip.advance_to(73.0)
    assert chip.asleep  # and 2.13 s after the last step it sleeps again


def test_motion_below_the_wake_up_threshold_does_not_wake_it():
    chip = Lsm6dsv16xEmulator(motion(walk_from_s=5.0, walk_to_s=20.0, amplitude_g=0.05))
    configure(chip)
    chip.advance_to(4.0)
    assert chip.asleep
    chip.advance_to(20.0)
    assert chip.asleep


def test_wake_up_event_without_inactivity_sets_wu_ia():
    chip = Lsm6dsv16xEmulator(motion(walk_from_s=1.0, walk_to_s=3.0))
    configure(chip, inact_en=0b00)
    write(chip, MD1_CFG, 0x20)  # INT1_WU
    chip.advance_to(0.9)
    assert read(chip, WAKE_UP_SRC) & WU_IA == 0
    chip.advance_to(2.0)
    assert not chip.asleep
    assert chip.int1
    assert read(chip, WAKE_UP_SRC) & WU_IA
    assert read(chip, FIFO_STATUS2) >= 0  # the FIFO still runs at 240 Hz throughout
    counts = drain(chip)
    assert counts.get(0x02, 0) == 256 - counts.get(0x01, 0)
