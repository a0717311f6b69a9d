"""Logging mode with the IMU's activity/inactivity function: the pod configures it, stops
reading the FIFO and sleeps while the chip reports inactivity, and resumes step detection when
it wakes (CPython and MicroPython; the fake chip's WAKE_UP_SRC is set by the test)."""

import struct

from fakes.fake_lsm6dsv16x import word
from fwtest import G_COUNTS, STRIDE_SAMPLES, stride_z
from pod.controller import LOG_ASLEEP_CHECK_MS, LOG_FIFO_PERIOD_MS, ST_LOG_ASLEEP
from pod.imu.lsm6dsv16x import TAG_ACC
from pod.steps import FLAG_GAP
from test_logging import LogRig

WAKE_UP_SRC = 0x45
SLEEP_STATE = 0x10
FIFO_CTRL4 = 0x0A


class Sleeper:
    """The injected light sleep: records each nap and moves the rig's clock past it."""

    def __init__(self) -> None:
        self.naps = []
        self.rig = None  # type: LogRig | None

    def __call__(self, ms: int) -> None:
        self.naps.append(ms)
        self.rig.clock.ms += ms  # type: ignore[union-attr]


def _rig() -> tuple:
    sleeper = Sleeper()
    rig = LogRig(sleep=sleeper)
    sleeper.rig = rig
    steps = []
    rig.log.add = lambda t_ms, stance_4ms, impact_g16, loading, flags: steps.append((t_ms, flags))
    rig.pod.start_logging()
    return rig, sleeper, steps


def test_logging_configures_activity_inactivity_on_the_imu() -> None:
    rig, _sleeper, _steps = _rig()
    regs = rig.chip.regs
    assert regs[0x50] & 0x83 == 0x83  # INTERRUPTS_ENABLE, INACT_EN 11b: gyroscope off
    assert regs[0x54] == 0x04  # weight 7.8125 mg, 15 Hz while inactive, wake at first sample
    assert regs[0x55] == 8 and regs[0x5B] == 8  # 62.5 mg
    assert regs[0x5C] == 5  # SLEEP_DUR: 5 x 512 / 240 Hz = 10.7 s >= 10 s
    assert regs[0x5E] == 0x80  # sleep change on INT1
    assert regs[0x56] & 1  # LIR
    rig.pod.stop()
    assert regs[0x50] & 0x83 == 0 and regs[0x5E] == 0  # off again outside logging


def test_the_pod_sleeps_while_inactive_and_keeps_the_steps_after_waking() -> None:
    rig, sleeper, steps = _rig()
    rig.walk(4)
    assert len(steps) == 4
    rig.chip.regs[WAKE_UP_SRC] = SLEEP_STATE  # the chip went inactive
    rig.clock.ms += LOG_FIFO_PERIOD_MS
    rig.pod.service()
    assert rig.pod.log_asleep
    assert rig.chip.regs[FIFO_CTRL4] & 7 == 0  # bypass: nothing batched, nothing to read
    status = rig.pod._status(0)
    assert struct.unpack_from("<H", status, 8 + 3)[0] & ST_LOG_ASLEEP  # STATUS.flags bit 7
    slept_at = rig.clock.ms
    rig.pod.rest()
    assert sleeper.naps == [LOG_ASLEEP_CHECK_MS]
    reads = rig.chip.reads
    rig.pod.service()  # the timer check: still inactive, only WAKE_UP_SRC is read
    assert rig.pod.log_asleep and rig.chip.reads == reads + 1
    rig.clock.ms += 3_600_000 - LOG_ASLEEP_CHECK_MS  # an hour's sit in all
    rig.chip.regs[WAKE_UP_SRC] = 0  # motion: INT1 rises, its handler sets imu_event
    rig.pod.imu_event = True
    rig.pod.service()
    woke_at = rig.clock.ms
    assert not rig.pod.log_asleep
    assert rig.chip.regs[FIFO_CTRL4] & 7 == 6  # continuous again
    assert rig.pod.log_asleep_ms == woke_at - slept_at
    rig.walk(4)
    assert len(steps) == 8
    first_after = steps[4]
    assert first_after[1] & FLAG_GAP == 0  # a sit is not a gap
    # Timed on the millisecond clock across the sit: the first stride after waking.
    expected_ms = woke_at + 102 * 1000 // 240
    assert abs(first_after[0] - expected_ms) <= 1000 * STRIDE_SAMPLES // 240, (first_after, woke_at)
    rig.pod._stop_logging()
    assert rig.pod.log_awake_ms + rig.pod.log_asleep_ms == rig.clock.ms


def test_samples_pushed_while_asleep_are_not_read() -> None:
    rig, _sleeper, steps = _rig()
    rig.chip.regs[WAKE_UP_SRC] = SLEEP_STATE
    rig.clock.ms += LOG_FIFO_PERIOD_MS
    rig.pod.service()
    rig.chip.push(b"".join(word(TAG_ACC, 0, 0, stride_z(k)) for k in range(STRIDE_SAMPLES)))
    assert rig.chip.unread == 0  # bypass
    rig.chip.regs[WAKE_UP_SRC] = 0
    rig.pod.imu_event = True
    rig.pod.service()
    rig.chip.push(b"".join(word(TAG_ACC, 0, 0, G_COUNTS) for _ in range(120)))
    rig.clock.ms += LOG_FIFO_PERIOD_MS
    rig.pod.service()
    assert steps == [] and rig.chip.unread == 0
