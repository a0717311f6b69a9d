"""The host's per-pod streams: lossless assembly, the clock model and the crash-safe journal.

Transports feed raw messages and their host arrival times in and write what the streams ask for:

* `PodStream` (one pod) and `StreamAssembler` (several, journaling every packet first): sequence
  numbers, gaps and resend requests, duplicates, reordering, reboots, u32 wrap; in-order
  `SampleChunk`s with device and host times; `StreamCounters` and `LostRun`s per pod.
* `ClockModel` (streaming) and `fit_clock_track` (offline): device µs to host seconds from
  ping/echo exchanges.
* `JournalWriter`, `read_journal` and `journal_to_recording`: the append-only packet journal and
  its lossless conversion to the open recording format.

Tests and benchmarks drive them with virtual pods (the firmware on emulated chips) over BLE:
`gaitchain.link.virtual`.
"""

from .assembly import (
    LostRun,
    PacketSink,
    PodStream,
    SampleChunk,
    StreamAssembler,
    StreamCounters,
    unwrap_seq,
)
from .clock import ClockModel, ClockTrack, LineFit, fit_bounded_line, fit_clock_track
from .journal import (
    JournalContents,
    JournalError,
    JournalRecord,
    JournalWriter,
    PodTimeline,
    RecordKind,
    journal_timelines,
    journal_to_recording,
    read_journal,
    replay_journal,
    write_journal_recording,
)

__all__ = [
    "ClockModel",
    "ClockTrack",
    "JournalContents",
    "JournalError",
    "JournalRecord",
    "JournalWriter",
    "LineFit",
    "LostRun",
    "PacketSink",
    "PodStream",
    "PodTimeline",
    "RecordKind",
    "SampleChunk",
    "StreamAssembler",
    "StreamCounters",
    "fit_bounded_line",
    "fit_clock_track",
    "journal_timelines",
    "journal_to_recording",
    "read_journal",
    "replay_journal",
    "unwrap_seq",
    "write_journal_recording",
]
