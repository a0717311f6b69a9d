"""Logging mode on the pod controller with the real driver on a fake chip, the step log on
emulated flash, and log sync commands over the emulated BLE link (CPython and MicroPython)."""

import struct

import bluetooth
import nor_flash  # pyright: ignore[reportMissingImports]
from fakes.fake_lsm6dsv16x import FakeLsm6dsv16x, word
from fwtest import G_COUNTS, IC_AT, STRIDE_SAMPLES, stride_z
from pod.controller import LOG_FIFO_PERIOD_MS, Pod
from pod.imu.lsm6dsv16x import TAG_ACC, Lsm6dsv16x
from pod.link import CONTROL_UUID, BleLink
from pod.steplog import StepLog
from test_controller import Battery, Clock, Led

POD_ID = 0x0304


class LogRig:
    def __init__(self, sectors: int = 4, sleep: object = None) -> None:
        self.chip = FakeLsm6dsv16x()
        self.ble = getattr(bluetooth, "BLE")()  # noqa: B009
        self.clock = Clock()
        self.flash = nor_flash.Partition("steplog", sectors)
        self.log = StepLog(self.flash, 77)
        config = {
            "pod_id": POD_ID,
            "segment": "foot",
            "side": "right",
            "rate_hz": 120,
            "acc_range_g": 16,
            "gyr_range_dps": 2000,
            "log_full_policy": "stop",
        }
        self.pod = Pod(
            config,
            Lsm6dsv16x(self.chip),
            BleLink(self.ble, POD_ID),
            Battery(),
            Led(),
            lambda: None,
            self.clock,
            boot_id=77,
            steplog=self.log,
            sleep=sleep,
        )
        self.k = 0

    def connect(self, mtu: int = 247) -> None:
        self.pod.service()
        self.ble.connect()
        self.ble.exchange_mtu(mtu)
        self.ble.encrypt(True)

    def command(self, seq: int, code: int, args: bytes = b"") -> list:
        data = struct.pack("<BBHIB", 0x11, 9, POD_ID, seq, code) + args
        self.ble.write(self.ble.handle_of(CONTROL_UUID), data)
        self.pod.service()
        return self.received()

    def received(self) -> list:
        return [bytes(m) for m in self.ble.drain()]

    def walk(self, strides: int, rest_samples: int = 240) -> None:
        """Strides then standing, fed to the FIFO at 240 Hz in 0.5-s reads."""
        samples = [stride_z(k % STRIDE_SAMPLES) for k in range(strides * STRIDE_SAMPLES)]
        samples += [G_COUNTS] * rest_samples
        per_read = 240 * LOG_FIFO_PERIOD_MS // 1000
        for at in range(0, len(samples), per_read):
            self.chip.push(b"".join(word(TAG_ACC, 0, 0, z) for z in samples[at : at + per_read]))
            self.clock.ms += LOG_FIFO_PERIOD_MS
            self.pod.service()


def _messages(raw: list, kind: int) -> list:
    return [m for m in raw if m[1] == kind]


def test_logging_records_steps_and_a_host_reads_and_confirms_them() -> None:
    rig = LogRig()
    rig.connect()
    assert rig.command(1, 14, struct.pack("<IH", 1_795_000_000, 500))[0][-1] == 0  # SET_TIME
    replies = _messages(rig.command(2, 7), 10)  # ENTER_LOGGING
    assert replies and replies[0][-1] == 0 and rig.pod.logging
    rig.ble.disconnect()
    rig.walk(80)  # 80 strides: more than one 70-record block
    rig.clock.ms += 61_000
    rig.pod.service()  # the open block is closed after 60 s
    log = rig.log
    assert log.next_seq == 2 and log.blocks_written == 2

    rig.connect()
    info = _messages(rig.command(3, 11), 13)[0]  # LOG_INFO
    oldest, next_seq, confirmed = struct.unpack_from("<III", info, 8)
    assert (oldest, next_seq, confirmed) == (0, 2, 0)
    assert info[8 + 37] & 1 and info[8 + 37] & 4  # LOGGING, WALL_TIME

    raw = rig.command(4, 12, struct.pack("<II", 0, 0))  # LOG_READ from 0, all
    for _ in range(5):
        rig.pod.service()
        raw += rig.received()
    parts = _messages(raw, 11)
    assert all(len(p) <= 244 for p in parts)
    records = {}
    for part in parts:
        block, _crc, count, size = struct.unpack_from("<IIHB", part, 8)
        end = 20 + count * size
        boot, t_s, t_ms, first, _total = struct.unpack_from("<IIHHH", part, end)
        assert (boot, size, t_ms & 0x8000) == (77, 6, 0x8000) and t_s >= 1_795_000_000
        for i in range(count):
            records[(block, first + i)] = struct.unpack_from("<HBBBB", part, 20 + 6 * i)
    assert len(records) == 80
    ends = [m for m in _messages(raw, 13) if struct.unpack_from("<I", m, 4)[0] == 4]
    assert ends, "the answer ends with LOG_INFO carrying the request's seq"
    first_step = records[(0, 0)]
    period_ms = STRIDE_SAMPLES * 1000 // 240
    assert first_step[0] == 0 and abs(records[(0, 1)][0] - period_ms) <= 1
    assert first_step[1] == (149 * 1000 // 240 + 2) // 4  # stance in 4-ms units
    assert first_step[2] == 80  # 5 g
    t0 = struct.unpack_from("<IIHHH", parts[0], 20 + 6 * struct.unpack_from("<H", parts[0], 16)[0])
    start_ms = t0[1] * 1000 + (t0[2] & 0x3FF)
    expected_ms = 1_795_000_000_500 + (IC_AT + 1) * 1000 // 240
    assert abs(start_ms - expected_ms) <= 2

    assert _messages(rig.command(5, 13, struct.pack("<I", 2)), 10)[0][-1] == 0  # LOG_CONFIRM
    assert log.confirmed_seq == 2 and log.oldest_seq() == 2
    assert _messages(rig.command(6, 13, struct.pack("<I", 9)), 10)[0][-1] == 1  # past the end
    assert _messages(rig.command(7, 2), 10)[0][-1] == 0  # STOP ends logging
    assert not rig.pod.logging


def test_full_log_with_the_stop_policy_raises_log_full_then_overwrite_is_set() -> None:
    rig = LogRig(sectors=1)
    rig.connect()
    rig.command(1, 7)
    rig.ble.disconnect()
    for _ in range(11):  # 9 blocks of 70 fit one sector
        rig.walk(70, rest_samples=0)
        rig.log.close()
    assert rig.log.full and rig.log.records_dropped > 0
    rig.connect()
    rig.clock.ms += 1000
    rig.pod.service()
    status = _messages(rig.received(), 4)[-1]
    assert struct.unpack_from("<H", status, 11)[0] & (1 << 5)  # LOG_FULL
    assert _messages(rig.command(2, 15, b"\x01"), 10)[0][-1] == 0  # SET_LOG_POLICY overwrite
    assert rig.pod.config["log_full_policy"] == "overwrite"
    rig.walk(70, rest_samples=0)
    rig.log.close()
    assert not rig.log.full and rig.log.records_overwritten > 0


def test_log_commands_without_a_step_log_are_unsupported() -> None:
    rig = LogRig()
    rig.pod.steplog = None
    rig.connect()
    assert _messages(rig.command(1, 11), 10)[0][-1] == 2
    assert _messages(rig.command(2, 7), 10)[0][-1] == 2


def test_answers_wait_for_a_busy_link_and_keep_their_order() -> None:
    rig = LogRig()
    rig.connect()
    rig.ble.notify_capacity = 0  # the stack is out of buffers: every notify raises ENOMEM
    rig.command(1, 9)  # GET_INFO: POD_INFO and REPLY
    rig.command(2, 11)  # LOG_INFO: LOG_INFO and REPLY
    assert rig.received() == []
    rig.ble.notify_capacity = 1000
    rig.pod.service()
    kinds = [(m[1], struct.unpack_from("<I", m, 4)[0]) for m in rig.received() if m[1] != 4]
    assert kinds == [(1, 1), (10, 1), (13, 2), (10, 2)]
