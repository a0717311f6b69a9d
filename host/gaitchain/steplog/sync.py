"""Resumable step-log sync, written against messages only (no transport inside).

`LogSync` is a sans-IO state machine: `start()` gives the first messages to send and
`on_message(data)` takes each pod-to-host message and gives what to send next. `run_sync` drives
it over any `MessageTransport` (USB serial, emulated BLE); an asyncio BLE transport drives the
same object from its notification queue.

The exchange (docs/protocol.md, "Step log sync"):
1. `GET_INFO` (pod id, segment, side), `SET_TIME` (host unix time, so the pod dates new blocks),
   `LOG_INFO` (what the pod holds).
2. Which log: a `log_id` other than the one the store holds the pod's blocks under, or (a pod
   that sends none) a `next_seq` below what the store holds of this log, means the pod's log
   began again at block 0 (flash erased): the store begins a new log for the pod after its
   blocks (`StepStore.begin_log`), and everything below is in that log's numbering.
3. `LOG_READ` from the first block the store lacks at or after the pod's oldest.
4. `LOG_BLOCK` parts, reassembled and each whole block stored (with its steps, in one
   transaction) as it completes; the `LOG_INFO` carrying the LOG_READ's seq ends the answer.
5. `LOG_CONFIRM` up to the first block of the read that is neither stored nor skipped by the pod
   (a damaged block it no longer holds): only now may the pod reuse that flash. A block that was
   sent but did not arrive whole is not confirmed; it is read again (up to `REREADS` times per
   sync while that brings new blocks) and otherwise by the next sync.

Interrupted anywhere, the next sync starts again at step 1 and reads from the first block the
store lacks: nothing is stored twice (blocks are keyed by pod and seq) and nothing is skipped.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Final

from ..link.transport import LinkLostError, MessageTransport
from ..protocol import (
    Command,
    CommandCode,
    CommandResult,
    LogBlock,
    LogInfo,
    PodInfo,
    ProtocolError,
    Reply,
    decode,
    encode,
)
from ..protocol.spec import LogFlags, MessageType
from .records import BlockAssembler, StepBlock
from .store import StepStore

ANY_POD: Final = 0xFFFF
"""Pod id in requests when the host does not know it yet (a pod answers whatever the id)."""
SEGMENT_NAMES: Final = ("unassigned", "pelvis", "thigh", "shank", "foot")
SIDE_NAMES: Final = ("center", "left", "right")
U32: Final = 1 << 32
REREADS: Final = 3


def is_status(data: bytes) -> bool:
    """Whether a pod-to-host message is a STATUS (sent every second, whatever else happens)."""
    return len(data) > 1 and data[1] == MessageType.STATUS


class SyncError(RuntimeError):
    """The pod refused a step of the sync or answered something that makes no sense."""


@dataclass
class SyncResult:
    pod_id: int = -1
    first_seq: int = 0
    blocks_stored: int = 0
    blocks_duplicate: int = 0
    steps_stored: int = 0
    bytes_received: int = 0
    confirmed_seq: int = 0
    log_info: LogInfo | None = None
    undated_blocks: int = 0
    dropped_parts: int = 0
    new_log: bool = False
    """The pod's log began again (erased flash): its blocks went into a new log in the store."""
    seq_base: int = 0
    """Where the pod's current log starts in the store's numbering."""
    notes: list[str] = field(default_factory=list[str])


class LogSync:
    def __init__(
        self,
        store: StepStore,
        now_unix_s: Callable[[], float] = time.time,
        client: str | None = None,
        transport_name: str = "serial",
        max_blocks: int = 0,
    ) -> None:
        self.store = store
        self.now_unix_s = now_unix_s
        self.client = client
        self.transport_name = transport_name
        self.max_blocks = max_blocks
        self.result = SyncResult()
        self.done = False
        self._seq = 0
        self._pod_id = ANY_POD
        self._info_seq = -1
        self._read_seq = -1
        self._confirm_seq = -1
        self._session = -1
        self._assembler = BlockAssembler()
        self._clock_info: LogInfo | None = None
        self._clock_at_unix_ms = 0
        self._base = 0
        self._read_from = 0
        self._last_seen = -1
        self._read_new = 0
        self._holes: set[int] = set()
        self._rereads_left = REREADS

    # -- messages out ------------------------------------------------------------------------
    def _command(self, code: CommandCode, *args: int) -> bytes:
        self._seq += 1
        return encode(Command(self._pod_id, self._seq, code, args))

    def start(self) -> list[bytes]:
        now_ms = round(self.now_unix_s() * 1000)
        first = [
            self._command(CommandCode.GET_INFO),
            self._command(CommandCode.SET_TIME, now_ms // 1000, now_ms % 1000),
        ]
        first.append(self._command(CommandCode.LOG_INFO))
        self._info_seq = self._seq
        return first

    # -- messages in -------------------------------------------------------------------------
    def on_message(self, data: bytes) -> list[bytes]:
        try:
            message = decode(data)
        except ProtocolError as error:
            if error.kind == "version":
                raise SyncError(str(error)) from error
            self.result.notes.append(f"skipped a message: {error}")
            return []
        self.result.bytes_received += len(data)
        match message:
            case PodInfo():
                self._on_pod_info(message)
            case Reply():
                self._on_reply(message)
            case LogBlock():
                self._on_block(message)
            case LogInfo():
                return self._on_log_info(message)
            case _:
                pass  # STATUS every second and anything else: not part of the sync
        return []

    def _on_pod_info(self, info: PodInfo) -> None:
        if self.result.pod_id >= 0:
            return
        self._pod_id = info.pod_id
        self.result.pod_id = info.pod_id
        segment = SEGMENT_NAMES[info.segment] if info.segment < len(SEGMENT_NAMES) else "unassigned"
        side = SIDE_NAMES[info.side] if info.side < len(SIDE_NAMES) else "center"
        self.store.set_pod(info.pod_id, segment, side, self.client)
        self._session = self.store.begin_session(
            info.pod_id, self.transport_name, self.now_unix_s()
        )

    def _on_reply(self, reply: Reply) -> None:
        if reply.result is CommandResult.OK:
            if reply.seq == self._confirm_seq:
                self._finish()
            return
        if reply.code in (CommandCode.GET_INFO, CommandCode.SET_TIME):
            self.result.notes.append(f"{reply.code.name} answered {reply.result.name}")
            return
        raise SyncError(
            f"the pod answered {reply.code.name} with {reply.result.name}"
            + (
                "; pair the pod (bond) or use the USB cable"
                if reply.result is CommandResult.NOT_BONDED
                else ""
            )
        )

    def _on_block(self, part: LogBlock) -> None:
        if self._read_seq < 0 or self._session < 0:
            return
        index = part.block_index
        if index > self._last_seen + 1:  # the pod went past blocks it does not hold
            self._holes.update(range(self._last_seen + 1, index))
        self._last_seen = max(self._last_seen, index)
        block = self._assembler.add(part)
        self.result.dropped_parts = self._assembler.dropped_parts
        if block is not None:
            self._store(block)

    def _start_unix_ms(self, block: StepBlock) -> int | None:
        if block.wall_time:
            return block.start_ms
        info = self._clock_info
        if info is None or block.boot_id != info.boot_id:
            return None
        # The pod's log clock (ms since its boot) read `clock_ms` when the host read its own.
        age_ms = (info.clock_ms - block.start_ms) % U32
        return self._clock_at_unix_ms - age_ms

    def _store(self, block: StepBlock) -> None:
        start = self._start_unix_ms(block)
        if start is None:
            self.result.undated_blocks += 1
        if self.store.add_block(replace(block, seq=block.seq + self._base), start, self._session):
            self._read_new += 1
            self.result.blocks_stored += 1
            self.result.steps_stored += len(block.records) // 6
        else:
            self.result.blocks_duplicate += 1

    def _on_log_info(self, info: LogInfo) -> list[bytes]:
        if info.seq == self._info_seq and self._read_seq < 0:
            if self.result.pod_id < 0:
                raise SyncError("the pod sent LOG_INFO before POD_INFO; its firmware is too old")
            self.result.log_info = info
            self._clock_info = info
            self._clock_at_unix_ms = round(self.now_unix_s() * 1000)
            if not info.flags & LogFlags.WALL_TIME:
                self.result.notes.append("the pod had no wall time before this sync")
            self._base = self._log_base(info)
            first = self.store.first_missing(info.pod_id, self._base + info.oldest_seq)
            self.result.first_seq = first - self._base
            return [self._read(first - self._base)]
        if info.seq == self._read_seq and self._confirm_seq < 0:
            self.result.log_info = info
            self.store.durable()  # on disk for good before the pod may free its flash
            confirm = self._whole_up_to(info.pod_id, info.next_seq)
            if confirm < info.next_seq and self._read_new and self._rereads_left:
                self._rereads_left -= 1
                self.result.notes.append(f"block {confirm} did not arrive whole; read again")
                return [self._read(confirm)]
            self.result.confirmed_seq = confirm
            message = self._command(CommandCode.LOG_CONFIRM, confirm)
            self._confirm_seq = self._seq
            return [message]
        return []

    def _read(self, first: int) -> bytes:
        message = self._command(CommandCode.LOG_READ, first, self.max_blocks)
        self._read_seq = self._seq
        self._read_from, self._last_seen, self._read_new = first, first - 1, 0
        self._assembler.reset()
        return message

    def _whole_up_to(self, pod_id: int, end: int) -> int:
        """The first block from the read's start that is neither stored nor skipped by the pod
        (capped at `end`): everything below may be freed."""
        seq = self._read_from
        while seq < end:
            seq = self.store.first_missing(pod_id, self._base + seq) - self._base
            if seq not in self._holes:
                break
            seq += 1
        return min(seq, end)

    def _log_base(self, info: LogInfo) -> int:
        """Where the pod's current log starts in the store; begins a new log when the pod's log
        restarted (a new log id, or a pod without one whose numbering went backwards)."""
        pod_id, log_id = info.pod_id, info.log_id or None
        current = self.store.current_log(pod_id)
        stored_next = self.store.next_seq(pod_id)
        known_id, base = current if current is not None else (log_id, 0)
        if log_id is not None and known_id is not None:  # both named: the ids decide
            restarted = log_id != known_id
        else:  # a pod or a store without ids: numbering that went backwards
            restarted = info.next_seq < stored_next - base
        if restarted:
            base = stored_next
            self.result.new_log = True
            self.result.notes.append(
                f"the pod's step log began again (flash erased or reflashed); its blocks are "
                f"stored as a new log after the {stored_next} blocks held"
            )
        if restarted or current is None or (known_id is None and log_id is not None):
            self.store.begin_log(pod_id, log_id, base, self.now_unix_s())
        self.result.seq_base = base
        return base

    def _finish(self) -> None:
        self.done = True
        self.store.finish_session(self._session, self.now_unix_s(), complete=True)


def run_sync(
    transport: MessageTransport,
    sync: LogSync,
    idle_timeout_s: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
    poll_s: float = 0.05,
) -> SyncResult:
    """Drive `sync` over `transport` until it is done. Raises LinkLostError when the link drops
    or nothing arrives for `idle_timeout_s` (the next sync resumes where this one stopped)."""
    for message in sync.start():
        transport.send(message)
    last = clock()
    while not sync.done:
        arrived = transport.receive(poll_s)
        if any(not is_status(data) for data in arrived):  # (STATUS comes every second anyway)
            last = clock()
        for data in arrived:
            for message in sync.on_message(data):
                transport.send(message)
        if not sync.done and clock() - last > idle_timeout_s:
            raise LinkLostError(
                f"the pod sent nothing for {idle_timeout_s:g} s during the log sync; "
                "run the sync again to resume where it stopped"
            )
    return sync.result
