"""Stream assembly on hand-built packets: resends step by step, gaps, reboots, wrap, and a long
run through a lossy, duplicating, reordering link. (Five virtual pods running the firmware over
BLE, with drops, disconnects and a reboot, are in tests/host/link/test_ble_virtual.py.)"""

import numpy as np
from gaitchain.protocol import (
    Echo,
    PodInfo,
    ResendRequest,
    ResendUnavailable,
    SampleBatch,
    SampleFlags,
    Segment,
    Side,
    Status,
    StatusFlags,
    decode,
    encode,
)
from gaitchain.protocol.spec import Capability, ImuChip
from gaitchain.stream import PodStream, StreamAssembler
from gaitchain.stream.assembly import SEQ_MODULUS, SampleChunk

POD = 0x0A0B
BATCH_US = 150_000


class Now:
    """An injectable clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def batch(seq: int, *, t_first_us: int | None = None, resent: bool = False) -> bytes:
    t = 1_000_000 + seq * BATCH_US if t_first_us is None else t_first_us
    counts = np.full((18, 3), seq % 30_000, dtype=np.int16)
    flags = SampleFlags.RESENT if resent else SampleFlags.NONE
    return encode(SampleBatch(POD, seq % SEQ_MODULUS, t, 8_333_333, flags, counts, counts))


def info(boot_id: int) -> bytes:
    return encode(
        PodInfo(
            POD, 0, Capability.NONE, boot_id, 0, 1, 0, Segment.FOOT, Side.LEFT, ImuChip.LSM6DSV16X
        )
    )


def stream(
    now: Now,
    *,
    start_backfill_batches: int = 0,
    settle_s: float = 0.0,
    requests_per_s: float = 8.0,
    retry_s: float = 0.5,
) -> PodStream:
    """A stream that releases at once (no clock wait, no settling), never pings and (unless told)
    does not ask for the batches before the first one it sees."""
    return PodStream(
        POD,
        now_s=now,
        start_backfill_batches=start_backfill_batches,
        settle_s=settle_s,
        requests_per_s=requests_per_s,
        retry_s=retry_s,
        clock_wait_s=0.0,
        ping_interval_s=1e9,
        startup_ping_interval_s=1e9,
    )


def seqs(chunks: list[SampleChunk]) -> list[int]:
    return [c.seq for c in chunks]


def requests(messages: list[bytes]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for data in messages:
        message = decode(data)
        if isinstance(message, ResendRequest):
            out.append((message.first_seq, message.last_seq))
    return out


def test_gap_is_requested_retried_and_given_up() -> None:
    now = Now()
    s = stream(now)
    s.poll()  # the first poll pings; ignore it
    for seq in (10, 11, 13):
        s.receive(batch(seq), now.t)
    assert seqs(s.take_samples()) == [10, 11]
    now.t += 0.01
    assert requests(s.poll()) == []  # waits request_delay_s for a late original
    assert s.counters.gaps == 0  # not a gap yet: 12 may still be on its way
    now.t += 0.05
    assert requests(s.poll()) == [(12, 12)]
    assert s.counters.gaps == 1 and s.counters.gap_batches == 1
    now.t += 0.3
    assert requests(s.poll()) == []
    now.t += 0.25
    assert requests(s.poll()) == [(12, 12)]  # retried after retry_s
    s.link_down(now.t)
    now.t += 20.0  # the link is down: no requests, and the give-up clock stops
    assert requests(s.poll()) == []
    s.link_up(now.t)
    assert requests(s.poll()) == [(12, 12)]
    assert s.take_samples() == []
    now.t += 9.0
    s.poll()
    assert s.take_samples() == []
    now.t += 1.0  # 10 s of connected time since the gap opened
    s.poll()
    chunks = s.take_samples()
    assert seqs(chunks) == [13]
    assert chunks[0].lost_before == 18
    assert s.counters.lost_batches == 1 and s.counters.lost_samples == 18
    assert s.counters.lost_batches_reported == 0
    assert [(r.first_seq, r.reason) for r in s.lost_runs] == [(12, "timeout")]
    assert s.counters.resend_requests == 4  # the last retry went out at 9 s
    assert s.counters.gaps == 1 and s.counters.gap_batches == 1  # retries are the same gap


def status(newest_seq: int, packets: int = 3) -> bytes:
    """A `STATUS` whose backlog ends at `newest_seq`."""
    oldest = newest_seq - packets + 1
    return encode(Status(POD, 0, 90, 3900, StatusFlags.STREAMING, 0, 0, packets, oldest, 60))


def test_gaps_count_distinct_missing_runs() -> None:
    """A gap is a run of consecutive numbers that went missing: known to exist (a later number
    arrived, or a STATUS named them) and not there when asked for. A run that grows stays one
    gap; numbers a STATUS named that then arrive in time, and late originals, are no gaps."""
    now = Now()
    s = stream(now)
    s.poll()
    for seq in (0, 1, 2):
        s.receive(batch(seq), now.t)
    s.receive(status(4), now.t)  # 3 and 4 are still on their way
    now.t += 0.02
    s.receive(batch(3), now.t)
    s.receive(batch(4), now.t)
    s.receive(batch(7), now.t)  # 5 and 6 missing
    s.receive(batch(9), now.t)  # 8 missing
    now.t += 0.03
    s.receive(batch(6), now.t)  # a late original, before anyone asked
    s.receive(status(10), now.t)  # 10 never came (the last batch, lost on the air)
    now.t += 0.06
    assert requests(s.poll()) == [(5, 5), (8, 8), (10, 10)]
    assert (s.counters.gaps, s.counters.gap_batches) == (3, 3)
    s.receive(batch(13), now.t)  # 11 and 12 lost too: the run from 10 grows
    now.t += 0.06
    assert requests(s.poll()) == [(11, 12)]
    assert (s.counters.gaps, s.counters.gap_batches) == (3, 5)
    now.t += 0.5
    assert requests(s.poll()) == [(5, 5), (8, 8), (10, 12)]  # retries: no new gaps
    assert (s.counters.gaps, s.counters.gap_batches) == (3, 5)
    for seq in (5, 8, 10, 11, 12):
        s.receive(batch(seq, resent=True), now.t)
    assert seqs(s.take_samples()) == list(range(14))
    assert s.counters.recovered_batches == 5
    s.receive(batch(16), now.t)
    s.receive(encode(ResendUnavailable(POD, 0, 14, 15)), now.t)  # gone before they were asked for
    assert (s.counters.gaps, s.counters.gap_batches) == (4, 7)
    assert seqs(s.take_samples()) == [16]


def test_requests_are_merged_and_rate_limited() -> None:
    now = Now()
    s = stream(now, requests_per_s=2.0, retry_s=5.0)
    s.poll()
    received = [0, 1, 3, 4, 6, 9, 11, 13, 30]
    for seq in received:
        s.receive(batch(seq), now.t)
    now.t += 0.1
    first = requests(s.poll())
    assert first == [(2, 2), (5, 5)]  # two tokens
    now.t += 0.5
    assert requests(s.poll()) == [(7, 8)]  # one token back
    now.t += 1.0
    assert requests(s.poll()) == [(10, 10), (12, 12)]


def test_resend_fills_gap_and_duplicates_are_dropped() -> None:
    now = Now()
    s = stream(now)
    for seq in (0, 1, 3, 4):
        s.receive(batch(seq), now.t)
    now.t += 0.06
    assert requests(s.poll()) == [(2, 2)]
    s.receive(batch(2, resent=True), now.t)
    s.receive(batch(2), now.t)  # the original, late: a duplicate
    s.receive(batch(4, resent=True), now.t)  # a resend of what is already held: duplicate
    s.receive(batch(1), now.t)  # a copy of a delivered batch
    assert seqs(s.take_samples()) == [0, 1, 2, 3, 4]
    c = s.counters
    assert (c.duplicates, c.resent_received, c.recovered_batches) == (3, 2, 1)
    assert (c.batches, c.samples, c.lost_batches) == (5, 90, 0)


def test_reordered_batches_wait_for_the_gap() -> None:
    now = Now()
    s = stream(now)
    order = [0, 2, 5, 1, 4, 3, 6]
    released: list[int] = []
    for seq in order:
        s.receive(batch(seq), now.t)
        released += seqs(s.take_samples())
    assert released == [0, 1, 2, 3, 4, 5, 6]
    assert s.counters.duplicates == 0 and s.counters.lost_batches == 0


def test_unavailable_is_lost_reported_by_pod() -> None:
    now = Now()
    s = stream(now)
    for seq in (0, 1, 5):
        s.receive(batch(seq), now.t)
    s.receive(encode(ResendUnavailable(POD, 0, 2, 3)), now.t)
    assert seqs(s.take_samples()) == [0, 1]  # 4 still missing
    s.receive(batch(4, resent=True), now.t)
    chunks = s.take_samples()
    assert seqs(chunks) == [4, 5]
    assert chunks[0].lost_before == 36
    c = s.counters
    assert (c.lost_batches, c.lost_batches_reported, c.lost_samples_reported) == (2, 2, 36)
    assert [(r.first_seq, r.last_seq, r.reason) for r in s.lost_runs] == [(2, 3, "unavailable")]


def test_stream_start_is_backfilled() -> None:
    """A pod counts from 0 at boot, so a stream starting at 3 asks for 0-2; and until the stream
    settles, an earlier batch arriving late extends the start instead of being dropped."""
    now = Now()
    s = stream(now, settle_s=0.5, start_backfill_batches=256)
    s.receive(batch(3), now.t)
    now.t += 0.1
    assert requests(s.poll()) == [(0, 2)]
    for seq in (1, 0, 2):
        s.receive(batch(seq, resent=True), now.t)
    assert s.take_samples() == []  # not settled yet
    now.t += 0.4
    s.poll()
    late = PodStream(POD + 1, now_s=now, settle_s=0.5, clock_wait_s=0.0)
    late.receive(batch(1000), now.t)
    late.receive(batch(999), now.t + 0.2)
    late.receive(batch(1001), now.t + 0.6)
    assert seqs(late.take_samples()) == [999, 1000, 1001]
    assert seqs(s.take_samples()) == [0, 1, 2, 3]


def test_sequence_wrap() -> None:
    now = Now()
    s = stream(now)
    top = SEQ_MODULUS - 2
    s.receive(batch(top), now.t)
    s.receive(batch(top + 3), now.t)  # seq 1 after the wrap: 2^32-1 and 0 missing
    now.t += 0.1
    assert requests(s.poll()) == [(SEQ_MODULUS - 1, SEQ_MODULUS - 1), (0, 0)]
    s.receive(batch(top + 1, resent=True), now.t)
    s.receive(batch(top + 2, resent=True), now.t)
    assert seqs(s.take_samples()) == [top, SEQ_MODULUS - 1, 0, 1]
    assert s.counters.reboots == 0


def test_reboot_by_boot_id_closes_the_old_epoch() -> None:
    now = Now()
    s = stream(now)
    s.receive(info(7), now.t)
    for seq in (500, 501, 503):
        s.receive(batch(seq), now.t)
    s.receive(info(8), now.t)  # rebooted: 502 can never come
    s.receive(batch(0, t_first_us=20_000), now.t)
    chunks = s.take_samples()
    assert [(c.epoch, c.seq) for c in chunks] == [(0, 500), (0, 501), (0, 503), (1, 0)]
    assert s.counters.reboots == 1
    assert [(r.epoch, r.first_seq, r.reason) for r in s.lost_runs] == [(0, 502, "reboot")]
    assert s.epoch.boot_id == 8


def test_reboot_by_sequence_reset_and_by_device_time() -> None:
    now = Now()
    far = stream(now)
    for seq in range(5000, 5003):
        far.receive(batch(seq), now.t)
    far.receive(batch(2, t_first_us=900_000), now.t)  # far below: a reset
    assert far.counters.reboots == 1 and far.epoch.index == 1
    near = stream(now)
    for seq in range(0, 6):
        near.receive(batch(seq), now.t)
    near.receive(batch(1, t_first_us=77), now.t)  # a known number with another device time
    assert near.counters.reboots == 1 and near.counters.duplicates == 0
    ahead = stream(now)
    for seq in range(0, 6):
        ahead.receive(batch(seq), now.t)
    ahead.receive(batch(8, t_first_us=5_000), now.t)  # a newer number, an older time
    assert ahead.counters.reboots == 1
    assert seqs(ahead.take_samples())[-1] == 8


def test_reboot_by_echo_clock_reset() -> None:
    now = Now()
    s = stream(now)
    s.receive(batch(0), now.t)
    ping = decode(s.ping(now.t))
    s.receive(encode(Echo(POD, ping.seq, 50_000_000)), now.t + 0.01)
    ping = decode(s.ping(now.t + 1))
    s.receive(encode(Echo(POD, ping.seq, 3_000)), now.t + 1.01)
    assert s.counters.reboots == 1
    assert s.epoch.exchanges[0][1] == 3_000


def test_unknown_types_and_bad_messages_are_counted_and_skipped() -> None:
    now = Now()
    s = stream(now)
    unknown = bytearray(batch(0))
    unknown[1] = 200  # no protocol 1.x message type
    newer_major = bytearray(batch(0))
    newer_major[0] = 0x20
    s.receive(bytes(unknown), now.t)
    s.receive(bytes(unknown), now.t)
    s.receive(b"\x10\x03\x0b\x0a", now.t)
    s.receive(bytes(newer_major), now.t)
    s.receive(batch(0), now.t)
    assert seqs(s.take_samples()) == [0]
    c = s.counters
    assert (c.unknown_types, c.decode_errors, c.version_errors) == (2, 1, 1)
    assert s.incompatible is not None and "update" in s.incompatible


class RecordingSink:
    def __init__(self, assembler: StreamAssembler | None = None) -> None:
        self.assembler = assembler
        self.calls: list[tuple[str, int, bytes, int]] = []

    def received(self, pod_id: int, host_receive_s: float, data: bytes) -> None:
        stream = self.assembler.pods.get(pod_id) if self.assembler else None
        seen = stream.counters.decode_errors + stream.counters.batches if stream else 0
        self.calls.append(("received", pod_id, data, seen))

    def sent(self, pod_id: int, host_send_s: float, data: bytes) -> None:
        self.calls.append(("sent", pod_id, data, 0))

    def link(self, pod_id: int, host_s: float, up: bool) -> None:
        self.calls.append(("up" if up else "down", pod_id, b"", 0))

    def poll(self) -> None:
        pass


def test_assembler_journals_before_processing() -> None:
    now = Now()
    sink = RecordingSink()
    assembler = StreamAssembler(
        now_s=now,
        journal=sink,
        stream_factory=lambda pod_id, clock: PodStream(
            pod_id, now_s=clock, settle_s=0.0, clock_wait_s=0.0
        ),
    )
    sink.assembler = assembler
    assembler.receive(batch(0), now.t)
    assembler.receive(b"\x10\x03\x0b\x0a\x00", now.t)  # undecodable: journaled all the same
    assembler.receive(batch(1), now.t, link_pod_id=POD)
    sent = assembler.poll()
    assert [(kind, pod, seen) for kind, pod, _, seen in sink.calls[:3]] == [
        ("received", POD, 0),
        ("received", POD, 1),
        ("received", POD, 2),
    ]
    assert [c[2] for c in sink.calls if c[0] == "sent"] == [data for _, data in sent]
    assert assembler.pods[POD].counters.decode_errors == 1


def test_lossy_duplicating_reordering_link_across_the_wrap() -> None:
    """What BLE does not do but other links (serial, a future transport) may: 400 hand-built
    batches across the u32 wrap, sent one per 150 ms through a link that drops 5% (requests and
    resends too), duplicates 3% and holds 4% back by 0.2-0.9 s. The test answers resend requests
    from what was sent, except three numbers it has lost (reported unavailable). Every other
    batch comes out once, in order; the three are lost as reported by the pod; every run of
    numbers dropped or held back is one gap."""
    rng = np.random.default_rng(5)
    now = Now()
    s = PodStream(POD, now_s=now, settle_s=0.0, clock_wait_s=0.0, start_backfill_batches=0)
    first = SEQ_MODULUS - 200
    numbers = list(range(first, first + 400))
    forgotten = {first + 50, first + 199, first + 200}
    air: list[tuple[float, bytes]] = []
    late: set[int] = set()

    def send(data: bytes, seq: int | None = None) -> None:
        """Onto the air; an original batch none of whose copies arrives at once is `late`."""
        copies = 0 if rng.random() < 0.05 else 2 if rng.random() < 0.03 else 1
        delays = [rng.uniform(0.2, 0.9) if rng.random() < 0.04 else 0.0 for _ in range(copies)]
        air.extend((now.t + delay, data) for delay in delays)
        if seq is not None and min(delays, default=1.0) > 0:
            late.add(seq)

    released: list[SampleChunk] = []
    for k in range(420):
        now.t += 0.15
        if k < 400 and numbers[k] not in forgotten:  # lost on the pod: never sent
            send(batch(numbers[k]), numbers[k])
        for data in s.poll():
            message = decode(data)
            if isinstance(message, ResendRequest) and rng.random() >= 0.05:
                for wire in range(message.first_seq, message.last_seq + 1):
                    seq = next(n for n in numbers if n % SEQ_MODULUS == wire)
                    gone = seq in forgotten
                    reply = ResendUnavailable(POD, message.seq, wire, wire) if gone else None
                    send(encode(reply) if reply else batch(seq, resent=True))
        for t, data in sorted(air, key=lambda a: a[0]):
            if t <= now.t:
                s.receive(data, now.t)
        air = [(t, d) for t, d in air if t > now.t]
        released += s.take_samples()
    released += s.finish()
    got = [unwrap(c.seq) for c in released]
    assert got == [n for n in numbers if n not in forgotten]
    assert [(r.reason, r.batches) for r in s.lost_runs] == [("unavailable", 1), ("unavailable", 2)]
    c = s.counters
    assert c.lost_batches_reported == 3 and c.lost_samples_reported == 54
    assert c.duplicates > 5 and c.reboots == 0 and c.decode_errors == 0
    missing = late | forgotten  # all held back longer than the request delay
    assert c.gaps == sum(1 for n in missing if n - 1 not in missing) > 20
    assert c.gap_batches == len(missing)
    assert c.recovered_batches == len(late)


def unwrap(seq32: int) -> int:
    return seq32 if seq32 >= SEQ_MODULUS // 2 else seq32 + SEQ_MODULUS


def test_fifo_overrun_is_counted_apart_from_lost_batches() -> None:
    now = Now()
    s = stream(now)
    s.receive(batch(0), now.t)
    overrun = bytearray(batch(1, t_first_us=1_000_000 + 2 * BATCH_US))
    overrun[21] |= SampleFlags.OVERRUN
    s.receive(bytes(overrun), now.t)
    chunks = s.take_samples()
    assert [c.lost_before for c in chunks] == [0, 18]
    assert s.counters.overrun_samples == 18 and s.counters.lost_samples == 0


def test_ping_schedule_fast_at_the_start_of_each_boot() -> None:
    now = Now()
    s = PodStream(POD, now_s=now)

    def pings_between(start_s: float, end_s: float) -> int:
        count = 0
        now.t = start_s
        while now.t < end_s:
            count += sum(1 for m in s.poll() if m[1] == 5)
            now.t += 0.02
        return count

    assert pings_between(100.0, 101.0) == 20  # every 50 ms for the first 5 minutes
    assert pings_between(401.0, 411.0) == 20  # then two a second
    s.receive(info(1), now.t)
    s.receive(info(2), now.t)  # a reboot: the new clock model needs fast pings again
    assert pings_between(411.0, 412.0) == 20
