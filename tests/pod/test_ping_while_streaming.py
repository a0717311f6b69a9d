"""A pod answers pings while it streams, and its batch times stay in order: a ping reads the IMU's
clock after the first sample of the batch being filled, and that batch must still be stamped with
its own (earlier) time."""

import numpy as np
from gaitchain.protocol import (
    Command,
    CommandCode,
    Echo,
    Ping,
    decode,
    decode_sample_batches,
    encode,
)
from gaitchain.protocol.spec import CONTROL_CHAR_UUID
from gaitchain.sim.body import Body
from gaitchain.sim.params import ImuErrors, Walker
from gaitchain.sim.plan import make_plan
from gaitchain.sim.schedule import build_schedule
from gaitchain.sim.virtual_pod import VirtualPod, VirtualPodConfig


def test_pings_during_streaming_keep_batch_times_exact() -> None:
    walker = Walker().validate()
    body = Body(
        build_schedule(walker, make_plan(20.0, walker.gait.speed_mps, walker.gait.stride_s))
    )
    config = VirtualPodConfig(0x0A0B, "foot", "left", boot_s=0.2, clock_ppm=20.0)
    config.errors = ImuErrors.exact()
    pod = VirtualPod(body, config, np.random.default_rng(1))
    control = pod.ble.handle_of(CONTROL_CHAR_UUID)
    pod.advance_to(0.3)
    pod.ble.connect()
    pod.ble.exchange_mtu(61)
    pod.ble.encrypt(bonded=True)
    pod.ble.write(control, encode(Command(0x0A0B, 1, CommandCode.START)))
    received: list[bytes] = []
    t = 0.3
    for seq in range(200):  # a ping every 10 ms for 2 s, at every phase of batch filling
        t += 0.01
        pod.advance_to(t)
        pod.ble.write(control, encode(Ping(0x0A0B, seq)))
        received += pod.ble.drain()
    pod.advance_to(t + 0.1)
    received += pod.ble.drain()
    echoes = [m for m in map(decode, received) if isinstance(m, Echo)]
    assert len(echoes) >= 195
    block = decode_sample_batches(received)
    assert not block.errors and block.seq.tolist() == list(range(len(block.seq)))
    spacing_ns = np.diff(block.t_device_ns)
    assert np.abs(spacing_ns - 8333333 / (1 + 20e-6)).max() <= 1000, "one period apart, always"
