"""Wire-protocol figures: batch decode throughput and bytes on air per sample.

    .venv/bin/python benchmarks/protocol_bench.py

Decode throughput is measured on one core for the vectorised batch decoder and, in the same run,
for decoding one message at a time (the straightforward peer) and against real time for five pods
at the highest rate (480 Hz). Bytes on air are computed from the spec for the default batch and
compared with the bare 12-byte six-axis payload.
"""

import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
from gaitchain.protocol import (
    SampleBatch,
    SampleFlags,
    decode,
    decode_sample_batches,
    encode,
    spec,
)

RAW_SIX_AXIS_BYTES = 12
ATT_L2CAP_BYTES = spec.NOTIFY_OVERHEAD_BYTES + 4
"""ATT opcode + handle (3) and the L2CAP header (4) around each notified value."""
LINK_LAYER_BYTES = 1 + 4 + 2 + 4 + 3
"""Preamble, access address, LL header, MIC (encrypted link), CRC on the 1M PHY."""


def _messages(count: int, per_batch: int) -> list[bytes]:
    rng = np.random.default_rng(0)
    acc = rng.integers(-32768, 32768, size=(per_batch, 3)).astype(np.int16)
    gyr = rng.integers(-32768, 32768, size=(per_batch, 3)).astype(np.int16)
    return [
        encode(SampleBatch(seq % 5, seq, seq * 150_000, 8_333_333, SampleFlags.NONE, acc, gyr))
        for seq in range(count)
    ]


def _best_of(runs: int, function: object) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        function()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def decode_throughput() -> None:
    per_batch = spec.DEFAULT_SAMPLES_PER_BATCH
    messages = _messages(300_000, per_batch)
    samples = len(messages) * per_batch
    vector_s = _best_of(3, lambda: decode_sample_batches(messages))
    sample_of = messages[:30_000]
    single_s = _best_of(3, lambda: [decode(m) for m in sample_of]) * len(messages) / len(sample_of)
    realtime_sps = 5 * 480
    print(f"batch decode, {len(messages):,} messages x {per_batch} samples ({samples:,} samples):")
    print(f"  vectorised decode_sample_batches  {samples / vector_s / 1e6:8.2f} M samples/s")
    print(f"  one message at a time (decode)    {samples / single_s / 1e6:8.2f} M samples/s")
    print(
        f"  real time, 5 pods x 480 Hz        {realtime_sps / 1e6:8.4f} M samples/s "
        f"({samples / vector_s / realtime_sps:,.0f}x real time)"
    )
    target = 5e6
    print(f"  target >= 5 M samples/s: {'met' if samples / vector_s >= target else 'NOT met'}")


def bytes_on_air() -> None:
    print("bytes on air per sample vs the bare 12-byte six-axis payload:")
    print(
        f"  {'layout':<18}{'MTU':>5}{'batch':>7}{'value B':>9}{'ATT+L2CAP':>11}"
        f"{'overhead':>10}{'+link layer':>13}{'overhead':>10}"
    )
    for name, flags in (("acc+gyr", 0), ("acc+gyr+mag", 1), ("acc+gyr+mag+quat", 3)):
        for mtu in (247, 185, 65):
            per_batch = spec.samples_per_notification(mtu, flags)
            value = spec.SAMPLES_PREFIX_BYTES + per_batch * spec.record_bytes(flags)
            payload = per_batch * spec.record_bytes(flags)
            gatt = (value + ATT_L2CAP_BYTES) / per_batch
            air = (value + ATT_L2CAP_BYTES + LINK_LAYER_BYTES) / per_batch
            per_sample_payload = payload / per_batch
            print(
                f"  {name:<18}{mtu:>5}{per_batch:>7}{value:>9}{gatt:>11.2f}"
                f"{gatt / per_sample_payload - 1:>10.1%}{air:>13.2f}"
                f"{air / per_sample_payload - 1:>10.1%}"
            )
    per_batch = spec.DEFAULT_SAMPLES_PER_BATCH
    value = spec.SAMPLES_PREFIX_BYTES + per_batch * RAW_SIX_AXIS_BYTES
    overhead = (value + ATT_L2CAP_BYTES) / per_batch / RAW_SIX_AXIS_BYTES - 1
    print(
        f"  default batch ({per_batch} samples): {overhead:.1%} over 12 B/sample at ATT+L2CAP; "
        f"target <= 15%: {'met' if overhead <= 0.15 else 'NOT met'}"
    )


if __name__ == "__main__":
    decode_throughput()
    print()
    bytes_on_air()
