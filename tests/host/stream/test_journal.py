"""Journal: format round trip, torn tails, flushing, kill -9, and conversion to a recording."""

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from gaitchain.io.recording import read_recording
from gaitchain.protocol import SampleBatch, SampleFlags, Segment, Side, encode
from gaitchain.stream import (
    JournalError,
    JournalWriter,
    RecordKind,
    StreamAssembler,
    journal_to_recording,
    read_journal,
    write_journal_recording,
)
from gaitchain.stream.emulation import (
    ACC_SCALE_MPS2_PER_LSB,
    GYR_SCALE_RADPS_PER_LSB,
    DeviceClock,
    EmulatedPod,
    LinkFaults,
    LinkSimulation,
    sample_indices,
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


def _simulate(path: Path, *, reboot: bool) -> tuple[LinkSimulation, list[EmulatedPod]]:
    pods = [
        EmulatedPod(0x0101, DeviceClock(3e8, 22.0), boot_id=3),
        EmulatedPod(0x0202, DeviceClock(9e9, -37.0), boot_id=4, side=Side.RIGHT),
        EmulatedPod(
            0x0303, DeviceClock(5e5, 5.0), boot_id=5, segment=Segment.PELVIS, side=Side.CENTER
        ),
    ]
    pods[1].forget = {40}
    journals: list[JournalWriter] = []

    def assembler(clock: Callable[[], float]) -> StreamAssembler:
        journals.append(JournalWriter(path, now_s=clock))
        return StreamAssembler(now_s=clock, journal=journals[0])

    faults = LinkFaults(drop=0.03, duplicate=0.02, reorder=0.02)
    sim = LinkSimulation(pods, faults, seed=9, assembler=assembler)
    sim.disconnect(0x0101, 50.0, 3.0, reboot_at_s=51.0 if reboot else None)
    sim.stop(175.0)
    sim.run(180.0)
    sim.finish()
    journals[0].close()
    return sim, pods


def test_journal_converts_to_a_recording_losslessly(tmp_path: Path) -> None:
    path = tmp_path / "walk.gcj"
    sim, pods = _simulate(path, reboot=True)
    out = write_journal_recording(path, tmp_path / "rec")
    recording = read_recording(out)
    assert sorted(p.file for p in recording.pods) == [
        "left_foot.csv",
        "pelvis.csv",
        "right_foot.csv",
    ]
    origin = recording.extra["host_time_origin_s"]
    for pod in pods:
        rec = next(r for r in recording.pods if r.extra["pod_id"] == pod.pod_id)
        live = [c for c in sim.chunks if c.pod_id == pod.pod_id]
        # the same samples as live, in the same order
        assert rec.t_s.shape[0] == sum(c.count for c in live)
        acc_counts = np.rint(rec.acc_mps2 / np.float32(ACC_SCALE_MPS2_PER_LSB)).astype(np.int64)
        gyr_counts = np.rint(rec.gyr_radps / np.float32(GYR_SCALE_RADPS_PER_LSB)).astype(np.int64)
        np.testing.assert_array_equal(acc_counts, np.concatenate([c.acc_counts for c in live]))
        np.testing.assert_array_equal(gyr_counts, np.concatenate([c.gyr_counts for c in live]))
        # on one host time base, from the offline clock fit of each boot
        boots = acc_counts[:, 2]
        device = np.concatenate([c.t_device_us for c in live])
        truth = np.empty_like(device)
        for boot, clock in enumerate(pod.clocks):
            truth[boots == boot] = clock.host_s(device[boots == boot])
        assert np.max(np.abs(rec.t_s + origin - truth)) < 0.5e-3
        index = np.concatenate([sample_indices(c) for c in live])
        assert np.all(np.diff(index[boots == 0]) > 0)
    rebooted = next(r for r in recording.pods if r.extra["pod_id"] == 0x0101)
    assert rebooted.extra["boots"] == 2
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
    path = tmp_path / "unassigned.gcj"
    sim, pods = _simulate(path, reboot=False)
    del sim
    contents = read_journal(path)
    kept = [r for r in contents.records if r.data[1:2] != b"\x01"]  # drop every POD_INFO
    stripped = tmp_path / "stripped.gcj"
    with JournalWriter(stripped) as writer:
        for r in kept:
            writer.add(r.kind, r.pod_id, r.host_s, r.data)
    with pytest.raises(JournalError, match="assignments"):
        journal_to_recording(stripped)
    names = {p.pod_id: ("shank", "left" if i == 0 else "right") for i, p in enumerate(pods[:2])}
    names[pods[2].pod_id] = ("pelvis", "center")
    recording = journal_to_recording(stripped, assignments=names)
    assert sorted(p.name for p in recording.pods) == ["left_shank", "pelvis", "right_shank"]
