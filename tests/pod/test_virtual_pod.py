"""A virtual pod end to end: firmware on the emulated chip, streamed over the emulated BLE link,
decoded by the host, compared with the simulated truth."""

import numpy as np
import pytest
from gaitchain.protocol import (
    Command,
    CommandCode,
    CommandResult,
    Echo,
    Ping,
    PodInfo,
    Reply,
    ResendRequest,
    ResendUnavailable,
    SampleBatch,
    SampleFlags,
    Segment,
    Side,
    Status,
    StreamConfig,
    decode,
    decode_sample_batches,
    encode,
)
from gaitchain.sim.body import Body
from gaitchain.sim.imu import kinematics
from gaitchain.sim.params import ImuErrors, Walker
from gaitchain.sim.plan import make_plan
from gaitchain.sim.schedule import build_schedule
from gaitchain.sim.virtual_pod import VirtualPod, VirtualPodConfig
from scipy.spatial.transform import Rotation

CONTROL = "009b5b64-fd97-49d9-84b1-4cf07f3efb76"
INFO = "009b5b61-fd97-49d9-84b1-4cf07f3efb76"
PERFECT = ImuErrors.exact()


@pytest.fixture(scope="module")
def body() -> Body:
    walker = Walker().validate()
    return Body(
        build_schedule(walker, make_plan(40.0, walker.gait.speed_mps, walker.gait.stride_s))
    )


def _pod(body: Body, ppm: float = 35.0, boot_s: float = 1.25) -> VirtualPod:
    config = VirtualPodConfig(
        0x0A0B, "foot", "left", rate_hz=120, boot_s=boot_s, clock_ppm=ppm, errors=PERFECT
    )
    return VirtualPod(body, config, np.random.default_rng(5))


def _control(pod: VirtualPod, message: object) -> None:
    pod.ble.write(pod.ble.handle_of(CONTROL), encode(message))  # type: ignore[arg-type]


def _connect(pod: VirtualPod, *, bonded: bool = True) -> None:
    pod.advance_to(pod.boot_s + 0.05)
    assert pod.ble.advertising is not None, "an unconnected pod advertises"
    pod.ble.connect()
    pod.ble.exchange_mtu(247)
    if bonded:
        pod.ble.encrypt(bonded=True)


def test_advertises_service_and_assignment(body: Body) -> None:
    pod = _pod(body)
    pod.advance_to(pod.boot_s + 0.05)
    adv, response = pod.ble.advertising
    service_le = bytes.fromhex("009b5b60fd9749d984b14cf07f3efb76")[::-1]
    assert service_le in adv and b"gc-0a0b" in adv
    assert response[-5:-3] == bytes([Segment.FOOT, Side.LEFT])
    assert int.from_bytes(response[-2:], "little") == 0x0A0B
    assert len(adv) <= 31 and len(response) <= 31
    info = decode(pod.ble.gatts_read(pod.ble.handle_of(INFO)))
    assert isinstance(info, PodInfo) and info.segment is Segment.FOOT and info.side is Side.LEFT


def test_streams_what_the_chip_measured_timed_by_the_chip(body: Body) -> None:
    pod = _pod(body)
    _connect(pod)
    start_s = 10.0
    pod.advance_to(start_s)
    _control(pod, Command(0x0A0B, 1, CommandCode.START))
    pod.advance_to(start_s + 12.0)
    messages = pod.ble.drain()
    replies = [m for m in map(decode, messages) if isinstance(m, Reply)]
    assert replies and replies[0].result is CommandResult.OK
    configs = [m for m in map(decode, messages) if isinstance(m, StreamConfig)]
    assert configs and configs[0].rate_hz == 120 and configs[0].samples_per_batch == 18

    block = decode_sample_batches(messages)
    assert not block.errors
    assert block.seq.tolist() == list(range(len(block.seq))), "no gaps, no duplicates"
    assert set(block.count.tolist()) == {18}
    rate_hz = 120.0 * (1 + 35e-6)
    assert abs(block.sample_count - 12.0 * rate_hz) < 40
    spacing_ns = np.diff(block.t_device_ns)
    # Within a batch samples are exactly one period apart; each batch's first sample is stamped
    # in whole microseconds, so across batch boundaries the spacing is exact to 1 us.
    assert np.abs(spacing_ns - 8333333).max() <= 1000

    scale = configs[0].gyr_scale_radps_per_lsb
    gyr = block.gyr_counts * scale
    mount, offset = pod.sensor.mount, pod.sensor.offset
    grid_s = 1.0 / (7680.0 * (1 + 35e-6))
    first_chip_slot = np.ceil((start_s - pod.boot_s) / grid_s)
    candidates = first_chip_slot + np.arange(0, 300)
    errors: list[float] = []
    device_s = (block.t_device_ns - block.t_device_ns[0]) / 1e9 / (1 + 35e-6)
    for slot in candidates:
        t_true = pod.boot_s + slot * grid_s + device_s[:400]
        _, _, truth, _ = kinematics(body, "left_foot", t_true, mount, offset)
        errors.append(float(np.sqrt(np.mean((gyr[:400] - truth) ** 2))))
    best = int(np.argmin(errors))
    assert errors[best] < 2e-3, "values and timing match the truth within quantisation"
    assert sorted(errors)[1] > 5 * errors[best], "and only at the right time"


def test_ping_is_answered_with_device_time(body: Body) -> None:
    pod = _pod(body)
    _connect(pod, bonded=False)
    _control(pod, Ping(0x0A0B, 41))
    pod.advance_to(pod.boot_s + 0.2)
    echoes = [m for m in map(decode, pod.ble.drain()) if isinstance(m, Echo)]
    assert [e.seq for e in echoes] == [41]


def test_commands_need_a_bonded_link(body: Body) -> None:
    pod = _pod(body)
    _connect(pod, bonded=False)
    _control(pod, Command(0x0A0B, 7, CommandCode.START))
    pod.advance_to(pod.boot_s + 1.0)
    replies = [m for m in map(decode, pod.ble.drain()) if isinstance(m, Reply)]
    assert replies[0].result is CommandResult.NOT_BONDED
    assert not pod.pod.streaming


def test_busy_link_and_reconnect_lose_nothing(body: Body) -> None:
    pod = _pod(body)
    _connect(pod)
    _control(pod, Command(0x0A0B, 1, CommandCode.START))
    pod.advance_to(5.0)
    received = pod.ble.drain()
    pod.ble.notify_capacity = 0  # the stack is out of buffers: every notify raises ENOMEM
    pod.advance_to(7.0)
    assert pod.pod.link.congested > 0
    pod.ble.notify_capacity = 1000
    pod.advance_to(8.0)
    received += pod.ble.drain()
    pod.ble.disconnect()
    pod.advance_to(10.0)
    _connect(pod)
    pod.advance_to(12.0)
    received += pod.ble.drain()
    block = decode_sample_batches(received)
    seqs = block.seq.tolist()
    assert seqs == list(range(len(seqs))), "every batch arrives once, in order"
    statuses = [m for m in map(decode, received) if isinstance(m, Status)]
    assert statuses and statuses[-1].samples_lost == 0
    assert len(seqs) > 10 * 120 / 18 - 3


def test_resend_request_answers_from_the_backlog(body: Body) -> None:
    pod = _pod(body)
    _connect(pod)
    _control(pod, Command(0x0A0B, 1, CommandCode.START))
    pod.advance_to(5.0)
    first = decode_sample_batches(pod.ble.drain())
    _control(pod, ResendRequest(0x0A0B, 9, 2, 4))
    pod.advance_to(5.1)
    again = [
        m
        for m in map(decode, pod.ble.drain())
        if isinstance(m, SampleBatch) and m.flags & SampleFlags.RESENT
    ]
    assert [m.seq for m in again] == [2, 3, 4]
    original = first.acc_counts[first.sample_message == 2]
    np.testing.assert_array_equal(again[0].acc_counts, original)
    _control(pod, ResendRequest(0x0A0B, 10, 100000, 100001))
    pod.advance_to(5.2)
    gone = [m for m in map(decode, pod.ble.drain()) if isinstance(m, ResendUnavailable)]
    assert [(g.first_seq, g.last_seq) for g in gone] == [(100000, 100001)]


def test_streams_the_chips_orientation_when_configured(body: Body) -> None:
    config = VirtualPodConfig(
        0x0A0B,
        "shank",
        "right",
        rate_hz=120,
        boot_s=0.5,
        clock_ppm=-20.0,
        errors=PERFECT,
        stream_orientation=True,
    )
    pod = VirtualPod(body, config, np.random.default_rng(6))
    _connect(pod)
    pod.advance_to(9.0)
    _control(pod, Command(0x0A0B, 1, CommandCode.START))
    pod.advance_to(16.0)
    messages = pod.ble.drain()
    configs = [m for m in map(decode, messages) if isinstance(m, StreamConfig)]
    assert configs[0].content & SampleFlags.QUAT and configs[0].samples_per_batch == 11
    batches = [m for m in map(decode, messages) if isinstance(m, SampleBatch)]
    assert batches and all(b.quat_q14 is not None for b in batches)
    quat = np.vstack([b.quat_q14 for b in batches if b.quat_q14 is not None]) / 16384.0
    norms = np.linalg.norm(quat, axis=1)
    assert np.abs(norms - 1).max() < 2e-3
    block = decode_sample_batches(messages)
    assert block.seq.tolist() == list(range(len(block.seq)))
    # The streamed orientation turns as the streamed gyro says: over 12 samples (0.1 s) the
    # rotation between two quaternions matches the gyro integrated over the same samples.
    gyr = block.gyr_counts * configs[0].gyr_scale_radps_per_lsb
    period_s = 1.0 / (120.0 * (1 - 20e-6))
    orientation = Rotation.from_quat(quat, scalar_first=True)
    errors: list[float] = []
    for i in range(0, quat.shape[0] - 12, 7):
        integrated = Rotation.identity()
        for k in range(i, i + 12):
            integrated = integrated * Rotation.from_rotvec((gyr[k] + gyr[k + 1]) / 2 * period_s)
        measured = orientation[i].inv() * orientation[i + 12]
        errors.append(float((integrated.inv() * measured).magnitude()))
    assert np.median(errors) < 0.01, "radians, over rotations of up to about 0.5 rad"
