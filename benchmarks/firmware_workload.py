"""The pod's steady-state path, sample to notification, as a workload for both interpreters.

FIFO words -> Sampler (timing, copy into the encoder) -> batch -> Backlog.store -> notify (a
no-op standing in for the BLE stack). Prints `RESULT name value` lines; run by
benchmarks/firmware_bench.py under CPython and under MicroPython (WebAssembly).
"""

import gc
import struct
import sys
import time

from pod.backlog import Backlog
from pod.clock import ChipClock
from pod.protocol import SampleEncoder
from pod.sampler import TAG_ACC, TAG_GYRO, TAG_TIMESTAMP, Sampler

MICROPYTHON = sys.implementation.name == "micropython"
TPS = 384
BATCH = 18
CHUNK_WORDS = 41  # one watermark's worth: 18 samples x 2 words + timestamps
BATCHES = 300


class ReplayImu:
    """Replays one prepared FIFO chunk again and again, with advancing timestamps."""

    def __init__(self) -> None:
        self.overrun = False
        self.slot = 0
        self.chunk = bytearray(7 * CHUNK_WORDS)
        self.words = 0

    def refill(self) -> None:
        """Prepare the next chunk of words (outside the measured path)."""
        n = 0
        buf = self.chunk
        for _ in range(BATCH):
            if self.slot % 8 == 0:
                buf[7 * n] = TAG_TIMESTAMP << 3
                struct.pack_into(
                    "<HHH",
                    buf,
                    7 * n + 1,
                    (self.slot * TPS) & 0xFFFF,
                    (self.slot * TPS >> 16) & 0xFFFF,
                    0,
                )
                n += 1
            buf[7 * n] = TAG_GYRO << 3
            struct.pack_into("<hhh", buf, 7 * n + 1, 10, -20, 30)
            buf[7 * n + 7] = TAG_ACC << 3
            struct.pack_into("<hhh", buf, 7 * n + 8, 0, 0, 2048)
            n += 2
            self.slot += 1
        self.words = n

    def read_fifo(self, buf: bytearray) -> int:
        n = self.words
        chunk = self.chunk
        for k in range(7 * n):
            buf[k] = chunk[k]
        self.words = 0
        return n


def main() -> None:
    imu = ReplayImu()
    encoder = SampleEncoder(1, BATCH)
    backlog = Backlog()
    backlog.set_message_bytes(22 + 12 * BATCH)
    sampler = Sampler(imu, encoder, ChipClock(), TPS, fifo_words=64)
    sent = [0]

    def notify(message: memoryview) -> None:
        sent[0] += 1

    def on_batch(message: memoryview, seq: int) -> None:
        backlog.store(seq, message)
        notify(message)

    for _ in range(20):  # warm up: every object and view exists
        imu.refill()
        sampler.poll(on_batch)
    allocated = 0
    elapsed_us = 0
    for _ in range(BATCHES):
        imu.refill()
        gc.collect()
        before = gc.mem_alloc() if MICROPYTHON else 0
        if MICROPYTHON:
            start = time.ticks_us()
            sampler.poll(on_batch)
            elapsed_us += time.ticks_diff(time.ticks_us(), start)
        else:  # CPython: perf_counter is not in the MicroPython stubs this file is checked against
            start = time.perf_counter()  # type: ignore[attr-defined]
            sampler.poll(on_batch)
            elapsed_us += int((time.perf_counter() - start) * 1e6)  # type: ignore[attr-defined]
        if MICROPYTHON:
            allocated += gc.mem_alloc() - before
    print("RESULT batches %d" % sent[0])
    print("RESULT us_per_sample %.3f" % (elapsed_us / (BATCHES * BATCH)))
    if MICROPYTHON:
        print("RESULT bytes_allocated_per_batch %.3f" % (allocated / BATCHES))


main()
