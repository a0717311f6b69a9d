"""Journal: format round trip, torn tails, flushing, kill -9, and conversion to a recording."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from gaitchain.io.recording import read_recording
from gaitchain.protocol import (
    Echo,
    Ping,
    PodInfo,
    ResendUnavailable,
    SampleBatch,
    SampleFlags,
    Segment,
    Side,
    StreamConfig,
    encode,
)
from gaitchain.protocol.spec import Capability, ImuChip
from gaitchain.stream import (
    JournalError,
    JournalWriter,
    RecordKind,
    journal_to_recording,
    read_journal,
    write_journal_recording,
)
from gaitchain.stream.journal import HEADER, RECORD_HEAD


class Now:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _records() -> list[tuple[RecordKind, int, float, bytes]]:
    rng = np.random.default_rng(0)
    out: list[tuple[RecordKind, int, float, bytes]] = []
    for i in range(200):
        kind = RecordKind(int(rng.integers(1, 5)))
        data = b"" if kind >= RecordKind.LINK_UP else rng.bytes(int(rng.integers(8, 245)))
        out.append((kind, int(rng.integers(0, 0x10000)), 1000.0 + i * 0.0137, data))
    return out


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "j.gcj"
    records = _records()
    with JournalWriter(path) as writer:
        for kind, pod, t, data in records:
            writer.add(kind, pod, t, data)
    contents = read_journal(path)
    assert [(r.kind, r.pod_id, r.host_s, r.data) for r in contents.records] == records
    assert contents.valid_bytes == path.stat().st_size and contents.ignored_tail_bytes == 0
    assert path.read_bytes()[:8] == b"GCJOURNL"


def test_torn_or_damaged_last_record_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "j.gcj"
    records = _records()[:20]
    with JournalWriter(path) as writer:
        for kind, pod, t, data in records:
            writer.add(kind, pod, t, data)
    whole = path.read_bytes()
    last_start = len(whole) - (RECORD_HEAD.size + 12 + len(records[-1][3]))
    for cut in range(last_start + 1, len(whole)):
        path.write_bytes(whole[:cut])
        contents = read_journal(path)
        assert len(contents.records) == 19
        assert contents.valid_bytes == last_start
        assert contents.ignored_tail_bytes == cut - last_start
    damaged = bytearray(whole)
    damaged[-1] ^= 0x40
    path.write_bytes(bytes(damaged))
    assert len(read_journal(path).records) == 19


def test_append_cuts_a_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "j.gcj"
    with JournalWriter(path) as writer:
        writer.received(1, 1.0, b"first")
        writer.received(1, 2.0, b"second")
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(JournalError, match="append=True"):
        JournalWriter(path)
    with JournalWriter(path, append=True) as writer:
        writer.sent(2, 3.0, b"third")
    contents = read_journal(path)
    assert [r.data for r in contents.records] == [b"first", b"third"]
    assert contents.ignored_tail_bytes == 0


def test_blocks_are_written_by_count_and_by_age(tmp_path: Path) -> None:
    now = Now()
    path = tmp_path / "j.gcj"
    writer = JournalWriter(path, flush_records=4, flush_interval_s=0.5, now_s=now)
    for i in range(3):
        writer.received(1, now.t, bytes([i]) * 10)
    assert path.stat().st_size == HEADER.size
    writer.received(1, now.t, b"fourth")
    assert len(read_journal(path).records) == 4
    writer.received(1, now.t, b"fifth")
    now.t += 0.49
    writer.poll()
    assert len(read_journal(path).records) == 4
    now.t += 0.01
    writer.poll()
    assert len(read_journal(path).records) == 5
    writer.close()


def test_refuses_what_is_not_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "x.gcj"
    path.write_bytes(b"GCJOURNX" + bytes(8))
    with pytest.raises(JournalError, match="not a gaitchain journal"):
        read_journal(path)
    path.write_bytes(HEADER.pack(b"GCJOURNL", 2, 16, 0))
    with pytest.raises(JournalError, match="version 2"):
        read_journal(path)


_WRITER = textwrap.dedent(
    """
    import sys
    from gaitchain.stream import JournalWriter

    writer = JournalWriter(sys.argv[1], flush_records=50, flush_interval_s=0.5)
    reported = 0
    i = 0
    while True:
        writer.received(7, float(i), i.to_bytes(4, "little") * 50)
        i += 1
        if writer.records_written != reported:
            reported = writer.records_written
            print(reported, flush=True)
    """
)


def test_kill_9_loses_at_most_the_unflushed_block(tmp_path: Path) -> None:
    path = tmp_path / "killed.gcj"
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    flushed = 0
    try:
        while flushed < 20_000:
            line = child.stdout.readline()
            assert line, "the writer died on its own"
            flushed = int(line)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    contents = read_journal(path)
    numbers = [int.from_bytes(r.data[:4], "little") for r in contents.records]
    assert len(numbers) >= flushed
    assert numbers == list(range(len(numbers)))
    assert all(r.data == r.data[:4] * 50 for r in contents.records)


ACC_SCALE = 0.000488 * 9.80665
GYR_SCALE = 0.070 * np.pi / 180.0
PODS = {  # pod id: (segment, side, device clock offset in µs, drift in ppm)
    0x0101: (Segment.FOOT, Side.LEFT, 3e8, 22.0),
    0x0202: (Segment.FOOT, Side.RIGHT, 9e9, -37.0),
    0x0303: (Segment.PELVIS, Side.CENTER, 5e5, 5.0),
}


def _device_us(pod_id: int, host_s: float) -> float:
    _, _, offset_us, ppm = PODS[pod_id]
    return offset_us + host_s * 1e6 * (1 + ppm * 1e-6)


def _write_walk(path: Path, *, info: bool = True, unavailable: int | None = None) -> None:
    """A journal as `StreamAssembler` writes it, of hand-built packets: three pods, each with
    its POD_INFO (unless `info` is False) and STREAM_CONFIG, 400 batches of 18 samples at 120 Hz
    (a minute; the counts number the samples) and a ping/echo every second (5 ms each way).
    Pod 0x0202 never sends batch `unavailable` and says so (`RESEND_UNAVAILABLE`)."""
    with JournalWriter(path) as writer:
        for pod_id, (segment, side, _, _) in PODS.items():
            if info:
                pod_info = PodInfo(
                    pod_id, 0, Capability.NONE, 3, 0, 1, 0, segment, side, ImuChip.LSM6DSV16X
                )
                writer.received(pod_id, 0.1, encode(pod_info))
            config = StreamConfig(pod_id, 0, 120, ACC_SCALE, GYR_SCALE, 0.0, SampleFlags.NONE, 18)
            writer.received(pod_id, 0.1, encode(config))
            for k in range(61):
                writer.sent(pod_id, 0.5 + k, encode(Ping(pod_id, k)))
                echo = Echo(pod_id, k, round(_device_us(pod_id, 0.505 + k)))
                writer.received(pod_id, 0.51 + k, encode(echo))
            for seq in range(400):
                if pod_id == 0x0202 and seq == unavailable:
                    continue
                index = seq * 18 + np.arange(18)
                counts = np.stack([index, -index, np.full(18, pod_id & 0xFF)], axis=1)  # acc = gyr
                t_first = round(_device_us(pod_id, 0.7) + seq * 18 * 1e6 / 120)
                batch = SampleBatch(
                    pod_id,
                    seq,
                    t_first,
                    8_333_333,
                    SampleFlags.NONE,
                    counts.astype(np.int16),
                    counts.astype(np.int16),
                )
                writer.received(pod_id, 0.9 + seq * 0.15, encode(batch))
                if pod_id == 0x0202 and unavailable is not None and seq == unavailable + 1:
                    lost = ResendUnavailable(pod_id, 0, unavailable, unavailable)  # when asked
                    writer.received(pod_id, 0.96 + seq * 0.15, encode(lost))


def test_journal_converts_to_a_recording(tmp_path: Path) -> None:
    """Every sample, in order, scaled to SI units, on the host time base of the clock
    exchanges; what the pod reported lost is counted as such. (A journal recorded from virtual
    pods over BLE, with drops, a reboot and disconnects, is converted and compared with the live
    samples in tests/host/link/test_ble_virtual.py.)"""
    path = tmp_path / "walk.gcj"
    _write_walk(path, unavailable=12)
    recording = read_recording(write_journal_recording(path, tmp_path / "rec"))
    assert sorted(p.file for p in recording.pods) == [
        "left_foot.csv",
        "pelvis.csv",
        "right_foot.csv",
    ]
    origin = recording.extra["host_time_origin_s"]
    for pod_id in PODS:
        rec = next(r for r in recording.pods if r.extra["pod_id"] == pod_id)
        index = np.rint(rec.acc_mps2[:, 0] / np.float32(ACC_SCALE)).astype(np.int64)
        expected = [i for i in range(7200) if pod_id != 0x0202 or not 12 * 18 <= i < 13 * 18]
        np.testing.assert_array_equal(index, expected)
        np.testing.assert_allclose(rec.gyr_radps[:, 0], index * GYR_SCALE, atol=1e-6)
        # the device clock runs ppm fast; the samples are 1/120 s apart on it
        truth = 0.7 + (index / 120.0) / (1 + PODS[pod_id][3] * 1e-6)
        assert np.max(np.abs(rec.t_s + origin - truth)) < 5e-6
    right = next(r for r in recording.pods if r.extra["pod_id"] == 0x0202)
    assert right.extra["samples_lost_reported_by_pod"] == 18


def test_conversion_names_what_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "bare.gcj"
    counts = np.zeros((18, 3), dtype=np.int16)
    with JournalWriter(path) as writer:
        for seq in range(3):
            batch = SampleBatch(
                9, seq, 1000 + seq * 150_000, 8_333_333, SampleFlags.NONE, counts, counts
            )
            writer.received(9, 10.0 + seq * 0.15, encode(batch))
    with pytest.raises(JournalError, match="PING/ECHO"):
        journal_to_recording(path)


def test_conversion_needs_an_assignment(tmp_path: Path) -> None:
    stripped = tmp_path / "stripped.gcj"
    _write_walk(stripped, info=False)
    with pytest.raises(JournalError, match="assignments"):
        journal_to_recording(stripped)
    names = {0x0101: ("shank", "left"), 0x0202: ("shank", "right"), 0x0303: ("pelvis", "center")}
    recording = journal_to_recording(stripped, assignments=names)
    assert sorted(p.name for p in recording.pods) == ["left_shank", "pelvis", "right_shank"]
