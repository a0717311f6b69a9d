"""The sampler on a scripted FIFO: batches, timing, overruns, and no allocation (both runtimes)."""

import struct

from fwtest import IS_MICROPYTHON
from pod.clock import ChipClock
from pod.protocol import FLAG_OVERRUN, SAMPLES_PREFIX_BYTES, SampleEncoder
from pod.sampler import TAG_ACC, TAG_GYRO, TAG_TIMESTAMP, Sampler

TPS = 384  # ticks per sample at 120 Hz


class ScriptedImu:
    """A FIFO that produces slot k at tick START + k * TPS: a timestamp word every 8 slots, then
    gyroscope and accelerometer words whose values encode k."""

    def __init__(self, start_ticks: int, timestamp_every: int = 8) -> None:
        self.start = start_ticks
        self.every = timestamp_every
        self.slot = 0
        self.words = []
        self.overrun = False
        self.gyr_scale_radps_per_lsb = 0.0

    def produce(self, slots: int) -> None:
        for _ in range(slots):
            k = self.slot
            if k % self.every == 0:
                ticks = (self.start + k * TPS) & 0xFFFFFFFF
                self.words.append(bytes([TAG_TIMESTAMP << 3]) + struct.pack("<IH", ticks, 0))
            self.words.append(bytes([TAG_GYRO << 3]) + struct.pack("<hhh", k % 1000, -1, 2))
            self.words.append(bytes([TAG_ACC << 3]) + struct.pack("<hhh", -(k % 1000), 3, 2048))
            self.slot += 1

    def lose(self, slots: int) -> None:
        """The FIFO overran: `slots` slots were overwritten before the host read them."""
        self.words = []
        self.slot += slots
        self.overrun = True

    def read_fifo(self, buf: bytearray) -> int:
        n = min(len(self.words), len(buf) // 7)
        for i in range(n):
            buf[7 * i : 7 * i + 7] = self.words[i]
        self.words = self.words[n:]
        return n


class Collector:
    def __init__(self) -> None:
        self.batches = []

    def __call__(self, message: memoryview, seq: int) -> None:
        self.batches.append(bytes(message))


def _decode(message: bytes) -> tuple:
    _, _, _, seq, t_us, period, count, flags = struct.unpack_from("<BBHIQIBB", message, 0)
    firsts = struct.unpack_from("<hhhhhh", message, SAMPLES_PREFIX_BYTES)
    return seq, t_us, period, count, flags, firsts


def _us(ticks: int) -> int:
    return ticks * 15625 // 720


def _run(imu: ScriptedImu, chunks: list) -> tuple:
    encoder = SampleEncoder(7, 18)
    sampler = Sampler(imu, encoder, ChipClock(), TPS, fifo_words=64)
    out = Collector()
    for slots in chunks:
        if slots < 0:
            imu.lose(-slots)
        else:
            imu.produce(slots)
        while imu.words or imu.overrun:
            sampler.poll(out)
    return sampler, out.batches


def test_batches_are_full_in_order_and_timed_by_the_chip():
    sampler, batches = _run(ScriptedImu(5000), [18 * 10])
    assert len(batches) == 10
    for n, message in enumerate(batches):
        seq, t_us, period, count, flags, first = _decode(message)
        assert (seq, count, flags, period) == (n, 18, 0, 8333333)
        assert first == (-(18 * n), 3, 2048, 18 * n, -1, 2), "accelerometer then gyroscope"
        assert t_us == _us(18 * n * TPS)
    assert sampler.samples_lost == 0


def test_samples_before_the_first_timestamp_are_dated_backwards():
    imu = ScriptedImu(100000)
    imu.slot = 3  # the FIFO starts mid-way: the first timestamp comes with slot 8
    _, batches = _run(imu, [36])
    seq, t_us, _, count, _, first = _decode(batches[0])
    assert (seq, count) == (0, 18)
    assert first[3] == 3
    _, t1_us, _, _, _, first1 = _decode(batches[1])
    assert first1[3] == 21
    assert t1_us - t_us == _us((100000 + 21 * TPS)) - _us(100000 + 3 * TPS)


def test_overrun_closes_the_batch_flags_the_next_and_counts_the_loss():
    sampler, batches = _run(ScriptedImu(0), [18 * 2 + 5, -40, 18 * 3])
    decoded = [_decode(m) for m in batches]
    assert [d[3] for d in decoded[:3]] == [18, 18, 5], "the batch before the gap is sent short"
    assert decoded[3][4] & FLAG_OVERRUN
    assert all(not d[4] & FLAG_OVERRUN for d in decoded[4:])
    assert sampler.overruns == 1
    assert sampler.samples_lost == 40
    after = decoded[3]
    first_slot = after[5][3]
    assert after[1] == _us(first_slot * TPS), "timing resumes exactly after the gap"
    delivered = sum(d[3] for d in decoded) + sampler.count
    assert delivered == 18 * 2 + 5 + 18 * 3, "every sample the FIFO kept is sent or in progress"


def test_counter_wrap_inside_a_batch_keeps_time_monotonic():
    _, batches = _run(ScriptedImu(0xFFFFFFFF - 384 * 20), [18 * 4])
    times = [_decode(m)[1] for m in batches]
    assert times == [_us(18 * n * TPS) for n in range(4)]


def test_sampling_allocates_nothing():
    if not IS_MICROPYTHON:
        return
    import gc

    import micropython

    imu = ScriptedImu(0)
    imu.produce(18 * 40)
    buf_words = imu.words
    encoder = SampleEncoder(7, 18)
    sampler = Sampler(imu, encoder, ChipClock(), TPS, fifo_words=64)
    seqs = bytearray(64)

    def send(message: memoryview, seq: int) -> None:
        seqs[seq] = 1

    chunks = [buf_words[i : i + 60] for i in range(0, len(buf_words), 60)]
    staged = []
    for chunk in chunks:
        raw = bytearray(7 * 64)
        for i, word in enumerate(chunk):
            raw[7 * i : 7 * i + 7] = word
        staged.append((raw, len(chunk)))

    class Replay:
        def __init__(self) -> None:
            self.overrun = False
            self.index = 0  # instance attributes exist before the heap is locked

        def read_fifo(self, buf: bytearray) -> int:
            raw, n = staged[self.index]
            self.index += 1
            for k in range(7 * n):
                buf[k] = raw[k]
            return n

    sampler._imu = Replay()
    gc.collect()
    micropython.heap_lock()
    try:
        for _ in range(len(staged)):
            sampler.poll(send)
    finally:
        micropython.heap_unlock()
    assert sum(seqs) == 40


def test_half_floats_become_q14_with_integers_only():
    from pod.sampler import half_to_q14, isqrt

    cases = {
        0x0000: 0,
        0x3C00: 16384,
        0xBC00: -16384,
        0x3800: 8192,
        0x39A8: 11584,
        0x2E66: 1638,
        0x0001: 0,
        0x7C00: 16384,
    }
    for bits, expected in cases.items():
        assert abs(half_to_q14(bits) - expected) <= 1, hex(bits)
    for n in (0, 1, 2, 3, 4, 15, 16, 17, 16384 * 16384, 16384 * 16384 - 1, 123456789):
        root = isqrt(n)
        assert root * root <= n < (root + 1) * (root + 1), n


def test_mahony_fills_the_quaternion_when_the_chip_has_none():
    from pod.mahony import Mahony
    from pod.protocol import FLAG_QUAT
    from pod.sampler import ORIENTATION_MAHONY

    imu = ScriptedImu(0)
    encoder = SampleEncoder(7, 11, FLAG_QUAT)
    sampler = Sampler(
        imu,
        encoder,
        ChipClock(),
        TPS,
        fifo_words=64,
        orientation=ORIENTATION_MAHONY,
        mahony=Mahony(kp=1.0),
    )
    out = Collector()
    imu.produce(11 * 3)
    while imu.words:
        sampler.poll(out)
    assert len(out.batches) == 3
    last = out.batches[-1]
    w, x, y, _ = struct.unpack_from("<hhhh", last, SAMPLES_PREFIX_BYTES + 10 * 20 + 12)
    assert w > 16000, "gravity along +z keeps the orientation level"
    assert abs(x) < 1500 and abs(y) < 1500
