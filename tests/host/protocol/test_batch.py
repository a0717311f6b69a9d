"""Vectorised batch decoding gives exactly what decoding one message at a time gives."""

import numpy as np
from gaitchain.protocol import (
    Ping,
    SampleBatch,
    SampleFlags,
    decode,
    decode_sample_batches,
    encode,
)


def _batch(seq: int, count: int, flags: SampleFlags, rng: np.random.Generator) -> SampleBatch:
    def block(width: int) -> np.ndarray[tuple[int, int], np.dtype[np.int16]]:
        return rng.integers(-32768, 32768, size=(count, width)).astype(np.int16)

    return SampleBatch(
        seq % 3,
        seq,
        1_000_000 * seq,
        8_333_333,
        flags,
        block(3),
        block(3),
        block(3) if flags & SampleFlags.MAG else None,
        block(4) if flags & SampleFlags.QUAT else None,
    )


def test_mixed_input_matches_one_at_a_time() -> None:
    rng = np.random.default_rng(1)
    layouts = [
        SampleFlags.NONE,
        SampleFlags.MAG,
        SampleFlags.MAG | SampleFlags.QUAT,
        SampleFlags.RESENT,
    ]
    messages: list[bytes] = []
    for seq in range(200):
        messages.append(encode(_batch(seq, int(rng.integers(1, 19)), layouts[seq % 4], rng)))
    messages.insert(50, encode(Ping(1, 9)))
    messages.insert(80, b"\x10\x03garbage")
    newer = bytearray(messages[120])
    newer[0] = 0x14  # a newer minor version than this host speaks (1.3)
    messages[120] = bytes(newer) + b"\x00\x00"

    block = decode_sample_batches(messages)

    assert [i for i, _ in block.others] == [50]
    assert [i for i, _ in block.errors] == [80]
    expected = [(i, decode(m)) for i, m in enumerate(messages) if i not in (50, 80)]
    assert block.message_index.tolist() == [i for i, _ in expected]
    singles = [m for _, m in expected if isinstance(m, SampleBatch)]
    assert block.sample_count == sum(m.count for m in singles)
    np.testing.assert_array_equal(block.acc_counts, np.vstack([m.acc_counts for m in singles]))
    np.testing.assert_array_equal(block.gyr_counts, np.vstack([m.gyr_counts for m in singles]))
    mags = [m.mag_counts if m.mag_counts is not None else np.zeros((m.count, 3)) for m in singles]
    np.testing.assert_array_equal(block.mag_counts, np.vstack(mags))
    quats = [m.quat_q14 if m.quat_q14 is not None else np.zeros((m.count, 4)) for m in singles]
    np.testing.assert_array_equal(block.quat_q14, np.vstack(quats))
    times = np.concatenate(
        [m.t_first_us * 1000 + np.arange(m.count) * m.period_ns for m in singles]
    )
    np.testing.assert_array_equal(block.t_device_ns, times)
    assert block.seq.tolist() == [m.seq for m in singles]
    assert block.flags.tolist() == [int(m.flags) for m in singles]


def test_a_bad_message_in_a_uniform_run_is_reported_and_the_rest_kept() -> None:
    rng = np.random.default_rng(2)
    messages = [encode(_batch(seq, 18, SampleFlags.NONE, rng)) for seq in range(100)]
    broken = bytearray(messages[10])
    broken[0] = 0x20
    messages[10] = bytes(broken)
    block = decode_sample_batches(messages)
    assert [(i, e.kind) for i, e in block.errors] == [(10, "version")]
    assert block.sample_count == 99 * 18
    assert 10 not in block.message_index.tolist()


def test_empty_input() -> None:
    block = decode_sample_batches([])
    assert block.sample_count == 0
    assert block.acc_counts.shape == (0, 3)
