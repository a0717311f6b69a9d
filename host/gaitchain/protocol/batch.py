"""Vectorised decoding of many SAMPLES messages at once (journals, recordings, live ingest).

Messages of the same length and flags are viewed as one numpy structured array, validated column
by column, and unpacked without a Python loop per sample. Anything the fast path does not accept
goes through `decode`, so the result is exactly what decoding one message at a time would give.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .codec import Buffer, decode
from .errors import ProtocolError
from .messages import Message, SampleBatch
from .spec import (
    MAX_MESSAGE_BYTES,
    MAX_SAMPLES_PER_BATCH,
    SAMPLE_FLAGS_KNOWN,
    SAMPLES_PREFIX_BYTES,
    VERSION_MAJOR,
    MessageType,
    SampleFlags,
    record_bytes,
)

_FLAGS_OFFSET: Final = SAMPLES_PREFIX_BYTES - 1
_PREFIX_FIELDS: Final = [
    ("version", "u1"),
    ("type", "u1"),
    ("pod_id", "<u2"),
    ("seq", "<u4"),
    ("t_first_us", "<u8"),
    ("period_ns", "<u4"),
    ("count", "u1"),
    ("flags", "u1"),
]


@dataclass(frozen=True)
class SampleBlock:
    """The samples of many SAMPLES messages, in the order the messages were given.

    Per message (one row per decoded SAMPLES message): `message_index` into the input sequence,
    `pod_id`, `seq`, `flags`, `t_first_us`, `period_ns`, `count`.
    Per sample: `sample_message` (row of the per-message arrays), `t_device_ns` (pod clock),
    `acc_counts`, `gyr_counts` (n, 3); `mag_counts` (n, 3) and `quat_q14` (n, 4) are zero where the
    message's flags say they are absent.
    `others`: messages of other types found in the input, with their index; `errors`: input that
    could not be decoded, with its index and the error. Nothing in the input is silently dropped.
    """

    message_index: NDArray[np.intp]
    pod_id: NDArray[np.uint16]
    seq: NDArray[np.uint32]
    flags: NDArray[np.uint8]
    t_first_us: NDArray[np.uint64]
    period_ns: NDArray[np.uint32]
    count: NDArray[np.intp]
    sample_message: NDArray[np.intp]
    t_device_ns: NDArray[np.int64]
    acc_counts: NDArray[np.int16]
    gyr_counts: NDArray[np.int16]
    mag_counts: NDArray[np.int16]
    quat_q14: NDArray[np.int16]
    others: tuple[tuple[int, Message], ...]
    errors: tuple[tuple[int, ProtocolError], ...]

    @property
    def sample_count(self) -> int:
        return int(self.t_device_ns.shape[0])


class _Parts:
    """Per-message and per-sample pieces collected group by group before ordering."""

    def __init__(self) -> None:
        self.index: list[NDArray[np.intp]] = []
        self.prefix: list[NDArray[np.void]] = []
        self.records: list[NDArray[np.int16]] = []
        self.others: list[tuple[int, Message]] = []
        self.errors: list[tuple[int, ProtocolError]] = []

    def add(
        self, index: NDArray[np.intp], prefix: NDArray[np.void], records: NDArray[np.int16]
    ) -> None:
        self.index.append(index)
        self.prefix.append(prefix)
        self.records.append(records)

    def add_single(self, index: int, data: Buffer) -> None:
        try:
            message = decode(data)
        except ProtocolError as error:
            self.errors.append((index, error))
            return
        if isinstance(message, SampleBatch):
            self.add(np.array([index], dtype=np.intp), _prefix_of(message), _records_of(message))
        else:
            self.others.append((index, message))


def _prefix_dtype() -> np.dtype[np.void]:
    return np.dtype(_PREFIX_FIELDS)


def _prefix_of(batch: SampleBatch) -> NDArray[np.void]:
    prefix = np.zeros(1, dtype=_prefix_dtype())
    prefix["pod_id"] = batch.pod_id
    prefix["seq"] = batch.seq
    prefix["t_first_us"] = batch.t_first_us
    prefix["period_ns"] = batch.period_ns
    prefix["count"] = batch.count
    prefix["flags"] = int(batch.flags)
    return prefix


def _records_of(batch: SampleBatch) -> NDArray[np.int16]:
    records = np.zeros((batch.count, 13), dtype=np.int16)
    records[:, 0:3] = batch.acc_counts
    records[:, 3:6] = batch.gyr_counts
    if batch.mag_counts is not None:
        records[:, 6:9] = batch.mag_counts
    if batch.quat_q14 is not None:
        records[:, 9:13] = batch.quat_q14
    return records


def _spread(words: NDArray[np.int16], flags: int) -> NDArray[np.int16]:
    """Records of one layout into the common 13 columns: acc, gyr, mag, quat."""
    out = np.zeros((words.shape[0], 13), dtype=np.int16)
    out[:, 0:6] = words[:, 0:6]
    column = 6
    if flags & SampleFlags.MAG:
        out[:, 6:9] = words[:, 6:9]
        column = 9
    if flags & SampleFlags.QUAT:
        out[:, 9:13] = words[:, column : column + 4]
    return out


def _fast_layout(length: int, flags: int) -> int:
    """Samples per message if messages of this length and flags can take the fast path, else 0."""
    if flags < 0 or flags & ~SAMPLE_FLAGS_KNOWN or length > MAX_MESSAGE_BYTES:
        return 0
    count, rest = divmod(length - SAMPLES_PREFIX_BYTES, record_bytes(flags))
    return count if rest == 0 and 1 <= count <= MAX_SAMPLES_PER_BATCH else 0


def decode_sample_batches(messages: Sequence[Buffer]) -> SampleBlock:
    """Decode a sequence of messages, vectorised for SAMPLES; see `SampleBlock`."""
    groups: defaultdict[tuple[int, int], list[int]] = defaultdict(list)
    for i, data in enumerate(messages):
        length = len(data)
        groups[(length, data[_FLAGS_OFFSET] if length > _FLAGS_OFFSET else -1)].append(i)

    parts = _Parts()
    for (length, flags), indices in groups.items():
        count = _fast_layout(length, flags)
        if not count:
            for i in indices:
                parts.add_single(i, messages[i])
            continue
        words = record_bytes(flags) // 2
        dtype = np.dtype([*_PREFIX_FIELDS, ("records", "<i2", (count, words))])
        rows = np.frombuffer(b"".join(messages[i] for i in indices), dtype=dtype)
        good = (
            (rows["version"] >> 4 == VERSION_MAJOR)
            & (rows["type"] == MessageType.SAMPLES)
            & (rows["count"] == count)
            & (rows["period_ns"] > 0)
        )
        index = np.asarray(indices, dtype=np.intp)
        if good.any():
            kept = rows[good]
            records = kept["records"].reshape(-1, words).astype(np.int16)
            prefix = kept[[name for name, _ in _PREFIX_FIELDS]]
            parts.add(index[good], prefix, _spread(records, flags))
        for i in index[~good]:
            parts.add_single(int(i), messages[int(i)])
    return _assemble(parts)


def _assemble(parts: _Parts) -> SampleBlock:
    prefix_dtype = _prefix_dtype()
    if parts.index:
        index = np.concatenate(parts.index)
        prefix = np.concatenate([p.astype(prefix_dtype) for p in parts.prefix])
        records = np.concatenate(parts.records)
    else:
        index = np.zeros(0, dtype=np.intp)
        prefix = np.zeros(0, dtype=prefix_dtype)
        records = np.zeros((0, 13), dtype=np.int16)

    counts = prefix["count"].astype(np.intp)
    starts = np.cumsum(counts) - counts
    order = np.argsort(index, kind="stable")
    counts_sorted = counts[order]
    total = int(counts_sorted.sum())
    first_of_sorted = np.cumsum(counts_sorted) - counts_sorted
    position_in_message = np.arange(total, dtype=np.intp) - np.repeat(
        first_of_sorted, counts_sorted
    )
    gather = np.repeat(starts[order], counts_sorted) + position_in_message
    sample_message = np.repeat(np.arange(order.shape[0], dtype=np.intp), counts_sorted)

    prefix = prefix[order]
    t_first_ns = prefix["t_first_us"].astype(np.int64) * 1000
    period_ns = prefix["period_ns"].astype(np.int64)
    t_device_ns = t_first_ns[sample_message] + position_in_message * period_ns[sample_message]
    records = records[gather]
    return SampleBlock(
        message_index=index[order],
        pod_id=prefix["pod_id"].astype(np.uint16),
        seq=prefix["seq"].astype(np.uint32),
        flags=prefix["flags"].astype(np.uint8),
        t_first_us=prefix["t_first_us"].astype(np.uint64),
        period_ns=prefix["period_ns"].astype(np.uint32),
        count=counts_sorted,
        sample_message=sample_message,
        t_device_ns=t_device_ns,
        acc_counts=records[:, 0:3],
        gyr_counts=records[:, 3:6],
        mag_counts=records[:, 6:9],
        quat_q14=records[:, 9:13],
        others=tuple(sorted(parts.others, key=lambda item: item[0])),
        errors=tuple(sorted(parts.errors, key=lambda item: item[0])),
    )
