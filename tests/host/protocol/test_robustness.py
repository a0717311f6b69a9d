"""Round trips and hostile input: the decoder raises ProtocolError and nothing else."""

import contextlib
import random
import struct

import numpy as np
from gaitchain.protocol import (
    Command,
    CommandCode,
    Echo,
    ProtocolError,
    ResendRequest,
    SampleBatch,
    SampleFlags,
    Status,
    StatusFlags,
    decode,
    encode,
)
from hypothesis import given, settings
from hypothesis import strategies as st

u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
i16 = st.integers(-32768, 32767)


@st.composite
def sample_batches(draw: st.DrawFn) -> SampleBatch:
    count = draw(st.integers(1, 18))
    with_mag = draw(st.booleans())
    with_quat = draw(st.booleans())
    extra = draw(st.sampled_from([SampleFlags.NONE, SampleFlags.RESENT, SampleFlags.OVERRUN]))

    def block(width: int) -> np.ndarray[tuple[int, int], np.dtype[np.int16]]:
        values = draw(st.lists(i16, min_size=count * width, max_size=count * width))
        return np.array(values, dtype=np.int16).reshape(count, width)

    acc, gyr = block(3), block(3)
    mag = block(3) if with_mag else None
    quat = block(4) if with_quat else None
    flags = extra | (SampleFlags.MAG if with_mag else 0) | (SampleFlags.QUAT if with_quat else 0)
    return SampleBatch(
        draw(u16),
        draw(u32),
        draw(st.integers(0, 2**64 - 1)),
        draw(st.integers(1, 2**32 - 1)),
        SampleFlags(flags),
        acc,
        gyr,
        mag,
        quat,
    )


@given(sample_batches())
def test_samples_round_trip(batch: SampleBatch) -> None:
    back = decode(encode(batch))
    assert isinstance(back, SampleBatch)
    assert (back.pod_id, back.seq, back.t_first_us, back.period_ns, back.flags) == (
        batch.pod_id,
        batch.seq,
        batch.t_first_us,
        batch.period_ns,
        batch.flags,
    )
    np.testing.assert_array_equal(back.acc_counts, batch.acc_counts)
    np.testing.assert_array_equal(back.gyr_counts, batch.gyr_counts)
    for got, sent in ((back.mag_counts, batch.mag_counts), (back.quat_q14, batch.quat_q14)):
        assert (got is None) == (sent is None)
        if got is not None and sent is not None:
            np.testing.assert_array_equal(got, sent)


@given(
    st.one_of(
        st.builds(Echo, u16, u32, st.integers(0, 2**64 - 1)),
        st.builds(ResendRequest, u16, u32, st.just(5), st.integers(5, 2**32 - 1)),
        st.builds(
            Status,
            u16,
            u32,
            st.integers(0, 100),
            u16,
            st.sampled_from(list(StatusFlags)),
            u32,
            u32,
            u16,
            u32,
            u32,
        ),
        st.builds(
            Command, u16, u32, st.just(CommandCode.SET_RATE), st.tuples(st.integers(1, 0xFFFF))
        ),
    )
)
def test_fixed_messages_round_trip(message: Echo | ResendRequest | Status | Command) -> None:
    assert decode(encode(message)) == message


@settings(max_examples=2000)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_raise_only_protocol_error(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode(data)


@settings(max_examples=500)
@given(sample_batches(), st.data())
def test_damaged_samples_raise_only_protocol_error(batch: SampleBatch, data: st.DataObject) -> None:
    raw = bytearray(encode(batch))
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    with contextlib.suppress(ProtocolError):
        decode(bytes(raw[:cut]))


def test_one_hundred_thousand_random_byte_strings() -> None:
    """Random strings, a third of them starting with a valid version and type so they get deep."""
    rng = random.Random(7)
    kinds: dict[str, int] = {}
    decoded = 0
    for i in range(100_000):
        length = rng.randrange(0, 300)
        data = bytearray(rng.randbytes(length))
        if i % 3 == 0 and length >= 2:
            data[0] = 0x10
            data[1] = rng.randrange(0, 14)
        try:
            decode(bytes(data))
            decoded += 1
        except ProtocolError as error:
            kinds[error.kind] = kinds.get(error.kind, 0) + 1
    assert set(kinds) == {"truncated", "oversized", "version", "unknown_type", "corrupted"}
    assert sum(kinds.values()) + decoded == 100_000


def test_samples_with_a_wrong_count_are_corrupted_or_truncated() -> None:
    batch = encode(
        SampleBatch(
            1,
            2,
            3,
            4,
            SampleFlags.NONE,
            np.zeros((4, 3), dtype=np.int16),
            np.zeros((4, 3), dtype=np.int16),
        )
    )
    raw = bytearray(batch)
    struct.pack_into("<B", raw, 20, 5)
    try:
        decode(bytes(raw))
    except ProtocolError as error:
        assert error.kind == "truncated"
        assert "SAMPLES needs" in str(error)
    else:
        raise AssertionError("a count larger than the data must not decode")


def test_encoder_refuses_a_batch_longer_than_one_message() -> None:
    big = np.zeros((19, 3), dtype=np.int16)
    quat = np.zeros((19, 4), dtype=np.int16)
    try:
        encode(SampleBatch(1, 1, 1, 1, SampleFlags.NONE, big, big, big, quat))
    except ValueError as error:
        assert "512-byte limit" in str(error)
    else:
        raise AssertionError("a 516-byte batch must be refused")
