"""The pod controller and BLE link over the emulated `bluetooth` API, with the real driver on a
fake chip: streaming, busy links, pings, resends, bonding (CPython and MicroPython)."""

import struct

import bluetooth
from fakes.fake_lsm6dsv16x import FakeLsm6dsv16x, timestamp_word, word
from pod import board
from pod.controller import Pod
from pod.imu.lsm6dsv16x import TAG_ACC, TAG_GYRO, Lsm6dsv16x
from pod.link import CONTROL_UUID, BleLink

POD_ID = 0x0102


class Battery(board.Battery):
    def __init__(self) -> None:
        super().__init__(None)

    def read(self) -> tuple:
        return 80, 3950


class Led:
    def __init__(self) -> None:
        self.level = 0

    def value(self, level: int = -1) -> int:
        if level >= 0:
            self.level = level
        return self.level


class Clock:
    def __init__(self) -> None:
        self.ms = 0

    def __call__(self) -> int:
        return self.ms


class Rig:
    def __init__(self) -> None:
        self.chip = FakeLsm6dsv16x()
        # The emulated BLE (gaitchain/sim/mpshim) with the central's side for tests: the ESP32
        # stubs do not know those methods, so the object is looked up untyped.
        self.ble = getattr(bluetooth, "BLE")()  # noqa: B009
        self.clock = Clock()
        config = {
            "pod_id": POD_ID,
            "segment": "foot",
            "side": "left",
            "rate_hz": 120,
            "acc_range_g": 16,
            "gyr_range_dps": 2000,
        }
        self.pod = Pod(
            config,
            Lsm6dsv16x(self.chip),
            BleLink(self.ble, POD_ID),
            Battery(),
            Led(),
            self.reset,
            self.clock,
            boot_id=99,
        )
        self.resets = 0
        self.slot = 0

    def reset(self) -> None:
        self.resets += 1

    def connect(self, bonded: bool = True) -> None:
        self.pod.service()
        self.ble.connect()
        self.ble.exchange_mtu(247)
        if bonded:
            self.ble.encrypt(True)

    def write(self, message_type: int, seq: int, body: bytes = b"") -> None:
        data = struct.pack("<BBHI", 0x10, message_type, POD_ID, seq) + body
        self.ble.write(self.ble.handle_of(CONTROL_UUID), data)
        self.pod.service()

    def samples(self, count: int) -> None:
        """The chip samples `count` more slots (a timestamp every 8) and raises its interrupt."""
        words = b""
        for _ in range(count):
            if self.slot % 8 == 0:
                words += timestamp_word(self.slot * 384)
            words += word(TAG_GYRO, self.slot, 0, 0) + word(TAG_ACC, 0, 0, 2048)
            self.slot += 1
        self.chip.push(words)
        sampler = self.pod.sampler
        assert sampler is not None, "streaming started"
        sampler.on_interrupt()
        self.clock.ms += count * 8
        self.pod.service()

    def received(self) -> list:
        return [(m[1], struct.unpack_from("<I", m, 4)[0], m) for m in self.ble.drain()]


def _samples_seqs(messages: list) -> list:
    return [seq for kind, seq, _ in messages if kind == 3]


def test_start_streams_full_batches_in_order():
    rig = Rig()
    rig.connect()
    rig.write(9, 1, bytes([1]))  # COMMAND START
    first = rig.received()
    assert (10, 1) in [(kind, seq) for kind, seq, _ in first], "REPLY to the START command"
    assert any(kind == 2 for kind, _, _ in first), "STREAM_CONFIG"
    rig.samples(18 * 4)
    got = rig.received()
    assert _samples_seqs(got) == [0, 1, 2, 3]
    batch = [m for kind, _, m in got if kind == 3][1]
    count = batch[20]
    assert count == 18 and len(batch) == 22 + 18 * 12
    assert struct.unpack_from("<h", batch, 22 + 6)[0] == 18, "gyro x of the first sample of batch 1"


def test_max_batch_caps_batches_in_time_and_applies_to_a_running_stream():
    rig = Rig()
    rig.connect()
    rig.write(9, 1, bytes([16]) + struct.pack("<H", 25))  # SET_MAX_BATCH 25 ms
    assert [m[9] for kind, _, m in rig.received() if kind == 10] == [0], "OK"
    rig.write(9, 2, bytes([1]))  # START: 25 ms at 120 Hz is 3 samples
    config = [m for kind, _, m in rig.received() if kind == 2]
    assert config[-1][-1] == 3, "STREAM_CONFIG samples_per_batch"
    rig.samples(3 * 4)
    batches = [m for kind, _, m in rig.received() if kind == 3]
    assert [m[20] for m in batches] == [3, 3, 3, 3]
    assert rig.pod.backlog.capacity_packets >= 30 * 120 // 3, "30 s of 3-sample batches held"
    rig.write(9, 3, bytes([3]) + struct.pack("<H", 480))  # SET_RATE 480 Hz: 12 samples
    assert [m for kind, _, m in rig.received() if kind == 2][-1][-1] == 12
    rig.write(9, 4, bytes([16]) + struct.pack("<H", 0))  # no cap: what the MTU allows
    got = rig.received()
    assert [m for kind, _, m in got if kind == 2][-1][-1] == 18, "restarted with MTU batches"
    assert [m[9] for kind, _, m in got if kind == 10] == [0]
    rig.write(9, 5, bytes([16]) + struct.pack("<H", 1))  # 1 ms: still 1 sample per batch
    assert [m for kind, _, m in rig.received() if kind == 2][-1][-1] == 1


def _stream_configs(messages: list) -> list:
    return [struct.unpack_from("<HfffBB", m, 8) for kind, _, m in messages if kind == 2]


def test_stream_config_before_start_describes_the_stream_start_begins():
    """GET_STREAM_CONFIG before START answers the scales, layout and batch length START will
    use (it once answered scale 0, which the host rightly rejects)."""
    rig = Rig()
    rig.connect()
    rig.write(9, 1, bytes([16]) + struct.pack("<H", 25))  # SET_MAX_BATCH 25 ms: 3 samples
    rig.write(9, 2, bytes([10]))  # GET_STREAM_CONFIG
    before = _stream_configs(rig.received())
    rig.write(9, 3, bytes([1]))  # START
    started = _stream_configs(rig.received())
    assert len(before) == 1 and len(started) == 1
    rate, acc, gyr, mag, content, batch = before[0]
    assert (rate, mag, content, batch) == (120, 0.0, 0, 3)
    assert abs(acc - 0.488 * 9.80665e-3) < 1e-9 and abs(gyr - 70e-3 * 3.14159265 / 180) < 1e-8
    assert before == started
    rig.write(9, 4, bytes([2]))  # STOP: still the stream a START would begin
    rig.received()
    rig.write(9, 5, bytes([10]))
    assert _stream_configs(rig.received()) == started


def test_busy_link_keeps_batches_and_catches_up():
    rig = Rig()
    rig.connect()
    rig.write(9, 1, bytes([1]))
    rig.received()
    rig.ble.notify_capacity = 0  # every notify raises ENOMEM
    rig.samples(18 * 3)
    assert rig.pod.link.congested > 0
    assert rig.received() == []
    rig.ble.notify_capacity = 1000
    rig.samples(18)
    assert _samples_seqs(rig.received()) == [0, 1, 2, 3]


def test_ping_echo_and_resend_on_any_connection():
    rig = Rig()
    rig.connect()
    rig.write(9, 1, bytes([1]))
    rig.samples(18 * 3)
    rig.received()
    rig.chip.timestamp = 46080
    rig.write(5, 77)  # PING
    echoes = [m for kind, seq, m in rig.received() if kind == 6 and seq == 77]
    assert len(echoes) == 1
    rig.write(7, 78, struct.pack("<II", 1, 5))  # RESEND_REQUEST 1..5
    got = rig.received()
    resent = [m for kind, _, m in got if kind == 3]
    assert [struct.unpack_from("<I", m, 4)[0] for m in resent] == [1, 2]
    assert all(m[21] & 4 for m in resent), "flagged RESENT"
    gone = [struct.unpack_from("<II", m, 8) for kind, _, m in got if kind == 8]
    assert gone == [(3, 5)]


def test_commands_need_a_bond_and_rates_are_checked():
    rig = Rig()
    rig.connect(bonded=False)
    rig.write(9, 3, bytes([1]))
    replies = [m for kind, _, m in rig.received() if kind == 10]
    assert replies[0][9] == 4, "NOT_BONDED"
    assert not rig.pod.streaming
    rig.ble.encrypt(True)
    rig.write(9, 4, bytes([3]) + struct.pack("<H", 100))  # SET_RATE 100 Hz: not a rate
    assert [m[9] for kind, _, m in rig.received() if kind == 10] == [1], "BAD_ARGUMENT"
    rig.write(9, 5, bytes([6]))  # REBOOT
    assert rig.resets == 1


def test_malformed_write_is_answered_with_an_error():
    rig = Rig()
    rig.connect()
    rig.ble.write(rig.ble.handle_of(CONTROL_UUID), b"\x20\x05\x02\x01\x00\x00\x00\x00")
    rig.pod.service()
    errors = [m for kind, _, m in rig.received() if kind == 12]
    assert errors and errors[0][8] == 3, "ERROR code VERSION"
