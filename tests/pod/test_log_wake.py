"""Logging on a virtual pod (the unchanged firmware on the LSM6DSV16X emulator) through a long
sit: the IMU's inactivity function puts it to sleep, and the steps taken right after the sit are
detected, within what the chip's wake latency (one 15 Hz sample) allows."""

from typing import Any

import numpy as np
import pytest
from gaitchain.sim.body import Body
from gaitchain.sim.params import ImuErrors, Walker
from gaitchain.sim.plan import make_plan
from gaitchain.sim.schedule import build_schedule
from gaitchain.sim.virtual_pod import VirtualPod, VirtualPodConfig

SIT_S = 120.0
WALK_S = 20.0


@pytest.fixture(scope="module")
def body() -> Body:
    walker = Walker().validate()
    plan = make_plan(2 * SIT_S + WALK_S, walker.gait.speed_mps, walker.gait.stride_s, stand_s=SIT_S)
    return Body(build_schedule(walker, plan))


def test_steps_right_after_a_long_sit_are_detected(body: Body) -> None:
    config = VirtualPodConfig(0x0A0C, "foot", "left", boot_s=0.5, step_s=0.1, log_sectors=16)
    pod = VirtualPod(body, config, np.random.default_rng(5))
    pod.config.errors = ImuErrors()
    steps: list[tuple[float, int]] = []
    log: Any = pod.pod.steplog
    add = log.add

    def record(t_ms: int, stance: int, impact: int, loading: int, flags: int) -> None:
        steps.append((t_ms / 1000 + pod.boot_s, flags))
        add(t_ms, stance, impact, loading, flags)

    log.add = record
    pod.advance_to(1.0)
    pod.pod.start_logging()
    pod.advance_to(13.0)
    assert pod.pod.log_asleep  # about 10.7 s still: 5 x 512 samples at 240 Hz
    asleep_at_s = pod.now_s
    contacts = body.schedule.feet["left"].ic_s
    contacts = contacts[contacts > 0]  # the schedule pads with far-past sentinels
    first_ic_s = float(contacts[0])
    assert first_ic_s > SIT_S - 1
    pod.advance_to(first_ic_s - 2.0)
    assert pod.pod.log_asleep and steps == []
    pod.config.step_s = 0.002  # the chip's INT1 wakes the MCU from light sleep within ms
    end_s = SIT_S + WALK_S + 12.0  # walking, then 12 s standing: asleep again
    pod.advance_to(first_ic_s + 3.0)
    pod.config.step_s = 0.02  # the main loop reads the FIFO every 0.5 s anyway
    pod.advance_to(SIT_S + WALK_S - 1.0)
    assert not pod.pod.log_asleep
    assert pod.pod.log_asleep_ms >= 1000 * (first_ic_s - 2.0 - asleep_at_s)

    pod.advance_to(end_s)
    assert pod.pod.log_asleep
    truth = contacts[contacts < SIT_S + WALK_S]
    found = np.array([t for t, _ in steps])
    nearest = np.abs(found[:, None] - truth[None, :]).min(axis=0)
    detected = nearest < 0.012
    missed_first = int(np.argmax(detected))  # contacts before the first one detected
    print(f"wake: {missed_first} of {truth.size} contacts missed at the wake transition")
    assert missed_first <= 1
    assert detected[missed_first:].all()
