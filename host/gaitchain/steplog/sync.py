"""Resumable step-log sync, written against messages only (no transport inside).

`LogSync` is a sans-IO state machine: `start()` gives the first messages to send and
`on_message(data)` takes each pod-to-host message and gives what to send next. `run_sync` drives
it over any `MessageTransport` (USB serial, emulated BLE); an asyncio BLE transport drives the
same object from its notification queue.

The exchange (docs/protocol.md, "Step log sync"):
1. `GET_INFO` (pod id, segment, side), `SET_TIME` (host unix time, so the pod dates new blocks),
   `LOG_INFO` (what the pod holds).
2. `LOG_READ` from the first block the store lacks: max(the store's next seq, the pod's oldest).
3. `LOG_BLOCK` parts, reassembled and each whole block stored (with its steps, in one
   transaction) as it completes; the `LOG_INFO` carrying the LOG_READ's seq ends the answer.
4. `LOG_CONFIRM` up to the store's next seq: only now may the pod reuse that flash.

Interrupted anywhere, the next sync starts again at step 1 and reads from the first block the
store lacks: nothing is stored twice (blocks are keyed by pod and seq) and nothing is skipped.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
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
from ..protocol.spec import LogFlags
from .records import BlockAssembler, StepBlock
from .store import StepStore

ANY_POD: Final = 0xFFFF
"""Pod id in requests when the host does not know it yet (a pod answers whatever the id)."""
SEGMENT_NAMES: Final = ("unassigned", "pelvis", "thigh", "shank", "foot")
SIDE_NAMES: Final = ("center", "left", "right")
U32: Final = 1 << 32


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
        if self.store.add_block(block, start, self._session):
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
            first = max(self.store.next_seq(info.pod_id), info.oldest_seq)
            self.result.first_seq = first
            message = self._command(CommandCode.LOG_READ, first, self.max_blocks)
            self._read_seq = self._seq
            return [message]
        if info.seq == self._read_seq and self._confirm_seq < 0:
            self.result.log_info = info
            self.store.durable()  # on disk for good before the pod may free its flash
            confirm = min(self.store.next_seq(info.pod_id), info.next_seq)
            self.result.confirmed_seq = confirm
            message = self._command(CommandCode.LOG_CONFIRM, confirm)
            self._confirm_seq = self._seq
            return [message]
        return []

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
        if arrived:
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
