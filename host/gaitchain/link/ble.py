"""The BLE transport: pods found by scanning, connected one at a time, streamed into the journal.

Everything goes through bleak's public API (`BleakScanner`, `BleakClient`); `backend` chooses the
stack: `BleakBackend()` (both None) is the platform's real BLE, `VirtualPods.backend` the Bumble
stack with virtual pods (`gaitchain.link.virtual`).

`PodSession` keeps one pod streaming: connect (never two connection attempts at once: BlueZ
refuses them, so sessions share one lock), subscribe to the data characteristic, ask
`GET_INFO` (so a reboot is seen before anything else of the new boot), pair if the pod answers
`NOT_BONDED` and pairing is allowed, cap the batch length when `max_batch_ms` is given
(`SET_MAX_BATCH`; 0 lifts a cap; None, the default, sends nothing and the batches fill the MTU
unless an earlier host capped them this boot; `Recorder` sends 0, `RECORD_MAX_BATCH_MS`; a pod
older than protocol 1.3 answers `UNSUPPORTED` and keeps MTU-sized batches, which the session
logs and shows), `START` if the pod is not streaming, ask `GET_STREAM_CONFIG` (the scales). A
reply or an answer lost on the air is asked for again (`START` is not repeated: the pod's status
says whether it started). Then report
the link up, and when it drops report it down and reconnect with back-off (`backoff_s` doubling to
`backoff_max_s`).

A session does not assemble the stream: it reports what it receives, what it writes and its link
changes to a `SessionSink`, whose owner runs the one `StreamAssembler` (one `PodStream` and clock
model per pod). `Recorder` gives its sessions its assembler, which journals every packet before
anything reads it; the live dashboard's `BlePodLink` (`gaitchain.live.ble_link`) gives them a
queue that its pipeline's assembler drains. `Recorder` polls its assembler every
`poll_interval_s` (pings, resend requests) and writes what it returns to the pods; `stop` sends
`STOP`, waits for the last batches and closes the journal, which `journal_to_recording` turns
into a recording.

Notification callbacks only hand the bytes (with the session's time) to the sink, which is
synchronous and cheap; writes to a pod go through one queue per pod, in order. Times are the event
loop's clock unless a session is given `now_s` (the live pipeline's clock), so the same code runs in
real time and on simulated time.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bleak import BleakClient, BleakScanner
from bleak.exc import BleakError

from gaitchain.protocol import (
    Command,
    CommandCode,
    CommandResult,
    ProtocolError,
    Reply,
    Status,
    StatusFlags,
    decode,
    encode,
)
from gaitchain.protocol.spec import (
    CONTROL_CHAR_UUID,
    DATA_CHAR_UUID,
    SERVICE_UUID,
    STATUS_CHAR_UUID,
    MessageType,
)
from gaitchain.stream import JournalWriter, PodStream, SampleChunk, StreamAssembler

from .advertising import PodAdvert, pod_advert
from .bumble_backend import BleakBackend

log = logging.getLogger(__name__)
_REPLY_TYPE = 10
_PING_TYPE = 5
_ANSWER_TRIES = 3
RECORD_MAX_BATCH_MS = 0
"""`Recorder`'s `SET_MAX_BATCH` on every connect: 0, the pod's own default (no cap: batches fill
the MTU), so a cap an earlier live session left on the pod does not carry into a recording."""


class PodLinkError(Exception):
    """A pod cannot be streamed from (it refuses commands, or answers nothing)."""


async def scan_pods(
    backend: BleakBackend | None = None, *, timeout_s: float = 5.0
) -> list[PodAdvert]:
    """Pods advertising the gaitchain service, strongest first (scans for `timeout_s`)."""
    options: dict[str, Any] = {}
    if backend is not None and backend.scanner is not None:
        options["backend"] = backend.scanner
    found = await BleakScanner.discover(
        timeout=timeout_s, return_adv=True, service_uuids=[SERVICE_UUID], **options
    )
    pods: list[PodAdvert] = []
    for device, advert in found.values():
        pod = pod_advert(device.address, advert.local_name, advert.service_data, advert.rssi)
        if pod is not None:
            pods.append(pod)
    return sorted(pods, key=lambda p: (-p.rssi_dbm, p.pod_id))


class SessionSink(Protocol):
    """Where a session reports its pod's traffic (a `StreamAssembler` has these methods)."""

    def receive(self, data: bytes, host_receive_s: float, *, link_pod_id: int | None) -> None: ...

    def sent(self, pod_id: int, data: bytes, host_send_s: float | None) -> None: ...

    def link_up(self, pod_id: int, now_s: float | None) -> None: ...

    def link_down(self, pod_id: int, now_s: float | None) -> None: ...


@dataclass
class SessionState:
    """What a session knows of its link, for the status line."""

    connected: bool = False
    connects: int = 0
    failed_connects: int = 0
    disconnects: int = 0
    paired: bool = False
    last_error: str | None = None
    mtu: int = 0
    batch_note: str = ""
    """Set when the pod could not cap its batches as asked (firmware before protocol 1.3)."""


@dataclass
class PodTarget:
    """A pod to record: its BLE address and its pod id (from a scan or the paired-pods file)."""

    address: str
    pod_id: int
    name: str = ""


class PodSession:
    """One pod's link; see the module docstring. `run` returns when `stop` is set; then the pod
    is stopped, and if `stream` (the owner's `PodStream` of this pod) is given, its last batches
    are recovered. `now_s` stamps everything reported to `sink` (default: the loop's clock)."""

    def __init__(
        self,
        target: PodTarget,
        sink: SessionSink,
        connect_lock: asyncio.Lock,
        *,
        stream: PodStream | None = None,
        now_s: Callable[[], float] | None = None,
        backend: BleakBackend | None = None,
        pair: bool = True,
        connect_timeout_s: float = 10.0,
        reply_timeout_s: float = 1.0,
        backoff_s: float = 0.5,
        backoff_max_s: float = 8.0,
        max_batch_ms: int | None = None,
    ) -> None:
        if max_batch_ms is not None and not 0 <= max_batch_ms <= 0xFFFF:
            raise ValueError(f"max_batch_ms = {max_batch_ms} is outside 0 (no cap) to 65535")
        self.max_batch_ms = max_batch_ms
        self.target = target
        self.sink = sink
        self.stream = stream
        self._now_s = now_s
        self.lock = connect_lock
        self.backend = backend if backend is not None else BleakBackend()
        self.pair = pair
        self.connect_timeout_s = connect_timeout_s
        self.reply_timeout_s = reply_timeout_s
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.state = SessionState()
        self.client: BleakClient | None = None
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._replies: dict[int, asyncio.Future[Reply]] = {}
        self._command_seq = 0
        self._lost = asyncio.Event()
        self._seen_types: set[int] = set()
        self.fatal: PodLinkError | None = None

    @property
    def pod_id(self) -> int:
        return self.target.pod_id

    def now_s(self) -> float:
        return self._now_s() if self._now_s is not None else asyncio.get_running_loop().time()

    def send(self, data: bytes) -> None:
        """Queue a message for the pod (dropped while disconnected: the stream asks again)."""
        if self.state.connected:
            self._outbox.put_nowait(data)

    # -- the session -----------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        delay = self.backoff_s
        while not stop.is_set():
            try:
                async with self.lock:
                    if stop.is_set():
                        break
                    await self._connect()
            except (BleakError, TimeoutError, OSError, PodLinkError) as error:
                self.state.failed_connects += 1
                self.state.last_error = str(error) or type(error).__name__
                await self._close_client()
                if isinstance(error, PodLinkError) and error is self.fatal:
                    log.error("pod %04x: %s", self.pod_id, error)
                    return
                await _wait(stop, delay)
                delay = min(self.backoff_max_s, delay * 2)
                continue
            delay = self.backoff_s
            writer = asyncio.get_running_loop().create_task(self._write_loop())
            stop_wait = asyncio.get_running_loop().create_task(stop.wait())
            lost_wait = asyncio.get_running_loop().create_task(self._lost.wait())
            await asyncio.wait({stop_wait, lost_wait}, return_when=asyncio.FIRST_COMPLETED)
            stop_wait.cancel()
            lost_wait.cancel()
            if stop.is_set() and not self._lost.is_set():
                await self._finish()
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            self._link_down()
            await self._close_client()

    async def _connect(self) -> None:
        self._lost.clear()
        self._outbox = asyncio.Queue()
        client = BleakClient(
            self.target.address,
            disconnected_callback=lambda _client: self._on_disconnect(),
            timeout=self.connect_timeout_s,
            backend=self.backend.client,
        )
        self.client = client
        await client.connect()
        self.state.mtu = client.mtu_size
        await client.start_notify(DATA_CHAR_UUID, self._on_notify)
        self.state.connected = True
        result = await self._ask(CommandCode.GET_INFO, MessageType.POD_INFO)
        if result is CommandResult.NOT_BONDED:
            if not self.pair:
                raise self._fatal(
                    f"pod {self.pod_id:04x} accepts commands only from a bonded host; pair it "
                    "first (gaitchain pair)"
                )
            await client.pair()
            self.state.paired = True
            result = await self._ask(CommandCode.GET_INFO, MessageType.POD_INFO)
            if result is CommandResult.NOT_BONDED:
                raise PodLinkError(f"pod {self.pod_id:04x} still refuses commands after pairing")
        if self.max_batch_ms is not None:
            await self._cap_batches(self.max_batch_ms)
        try:  # a pod that has just booted has no status yet: it is not streaming
            status = decode(bytes(await client.read_gatt_char(STATUS_CHAR_UUID)))
        except ProtocolError:
            status = None
        streaming = isinstance(status, Status) and bool(status.flags & StatusFlags.STREAMING)
        if not streaming:
            await self._start(client)
        # asked after START too: the STREAM_CONFIG that START sends can be lost on the air (a pod
        # answers at any time; firmware before this fix answered zero scales until START)
        await self._ask(CommandCode.GET_STREAM_CONFIG, MessageType.STREAM_CONFIG)
        self.state.connects += 1
        self.sink.link_up(self.pod_id, self.now_s())

    async def _start(self, client: BleakClient) -> None:
        """`START`, once: a second one would restart the pod's sampler. If its reply is lost,
        the pod's status says whether it started."""
        try:
            started = await self._command(CommandCode.START, tries=1)
        except PodLinkError:
            try:
                status = decode(bytes(await client.read_gatt_char(STATUS_CHAR_UUID)))
            except ProtocolError:
                status = None
            if isinstance(status, Status) and status.flags & StatusFlags.STREAMING:
                return
            raise
        if started is not CommandResult.OK:
            raise PodLinkError(f"pod {self.pod_id:04x} did not start: {started.name}")

    async def _cap_batches(self, max_batch_ms: int) -> None:
        """`SET_MAX_BATCH` (asked again if its reply is lost: it is idempotent). A pod older than
        protocol 1.3 does not know it: streaming goes on with MTU-sized batches, said once."""
        result = await self._command(CommandCode.SET_MAX_BATCH, max_batch_ms)
        if result is CommandResult.OK or max_batch_ms == 0:
            self.state.batch_note = ""
            return
        note = (
            f"batches not capped to {max_batch_ms} ms (pod answered SET_MAX_BATCH "
            f"{result.name}: firmware before protocol 1.3?); they stay MTU-sized"
        )
        if note != self.state.batch_note:
            log.warning("pod %04x: %s", self.pod_id, note)
        self.state.batch_note = note

    def _fatal(self, text: str) -> PodLinkError:
        self.fatal = PodLinkError(text)
        return self.fatal

    async def _ask(self, code: CommandCode, answer: MessageType) -> CommandResult:
        """A command whose answer (`POD_INFO`, `STREAM_CONFIG`) comes before its reply: asked
        again if the reply came but the answer was lost on the air (the journal needs it)."""
        result = CommandResult.OK
        for _ in range(_ANSWER_TRIES):
            self._seen_types.discard(answer)
            result = await self._command(code)
            if result is not CommandResult.OK or answer in self._seen_types:
                return result
        raise PodLinkError(
            f"pod {self.pod_id:04x} answered {code.name} but its {answer.name} "
            f"was lost {_ANSWER_TRIES} times"
        )

    async def _command(
        self, code: CommandCode, *args: int, tries: int = _ANSWER_TRIES
    ) -> CommandResult:
        """Write a command and wait for its reply; asked again (a new number) when the reply
        does not come within `reply_timeout_s` (a notification lost on the air: the write itself
        was acknowledged), up to `tries` times."""
        client = self.client
        if client is None:
            raise BleakError("not connected")
        for _ in range(tries):
            seq = self._command_seq
            self._command_seq = (self._command_seq + 1) % (1 << 32)
            reply: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
            self._replies[seq] = reply
            data = encode(Command(self.pod_id, seq, code, args))
            self.sink.sent(self.pod_id, data, self.now_s())
            try:
                await client.write_gatt_char(CONTROL_CHAR_UUID, data, response=True)
                return (await asyncio.wait_for(reply, self.reply_timeout_s)).result
            except TimeoutError:
                continue
            finally:
                self._replies.pop(seq, None)
        raise PodLinkError(
            f"pod {self.pod_id:04x} did not answer {code.name} ({tries} tries of "
            f"{self.reply_timeout_s} s)"
        )

    def _on_notify(self, _characteristic: Any, data: bytearray) -> None:
        message = bytes(data)
        self.sink.receive(message, self.now_s(), link_pod_id=self.pod_id)
        if len(message) > 1:
            self._seen_types.add(message[1])
        if len(message) > 1 and message[1] == _REPLY_TYPE:
            try:
                reply = decode(message)
            except ProtocolError:
                return
            if isinstance(reply, Reply):
                future = self._replies.get(reply.seq)
                if future is not None and not future.done():
                    future.set_result(reply)

    def _on_disconnect(self) -> None:
        if self.state.connected:
            self.state.disconnects += 1
        self._lost.set()

    def _link_down(self) -> None:
        if self.state.connected:
            self.state.connected = False
            self.sink.link_down(self.pod_id, self.now_s())

    async def _write_loop(self) -> None:
        while True:
            data = await self._outbox.get()
            client = self.client
            if client is None:
                continue
            if len(data) > 1 and data[1] == _PING_TYPE:  # its send time as it goes out, not queued
                self.sink.sent(self.pod_id, data, self.now_s())
            try:
                await client.write_gatt_char(CONTROL_CHAR_UUID, data, response=False)
            except BleakError as error:
                log.debug("pod %04x: write failed: %s", self.pod_id, error)

    async def _finish(self, wait_s: float = 3.0) -> None:
        """Stop the pod streaming; ask its status (which names its newest batch, so a last
        batch lost on the air is seen) and, with a `stream`, ask again for what is missing, for
        up to `wait_s`."""
        for code in (CommandCode.STOP, CommandCode.GET_STATUS):
            try:
                await self._command(code)
            except PodLinkError as error:  # its reply lost on the air: the rest may still come
                log.info("pod %04x: %s", self.pod_id, error)
            except (BleakError, TimeoutError, OSError) as error:
                log.info("pod %04x: stopping failed: %s", self.pod_id, error)
                return
        try:
            stream, client = self.stream, self.client
            if stream is None:
                return
            deadline = self.now_s() + wait_s
            while stream.epoch.missing and client is not None and self.now_s() < deadline:
                for data in stream.poll():
                    self.sink.sent(self.pod_id, data, self.now_s())
                    await client.write_gatt_char(CONTROL_CHAR_UUID, data, response=False)
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.1)
        except (BleakError, PodLinkError, TimeoutError, OSError) as error:
            log.info("pod %04x: stopping failed: %s", self.pod_id, error)

    async def _close_client(self) -> None:
        self._link_down()
        client, self.client = self.client, None
        if client is not None:
            with contextlib.suppress(BleakError, TimeoutError, OSError):
                await client.disconnect()


async def _wait(event: asyncio.Event, timeout_s: float) -> None:
    """Until `event` is set or `timeout_s` has passed (cancellation always goes through)."""
    waiter = asyncio.get_running_loop().create_task(event.wait())
    try:
        await asyncio.wait({waiter}, timeout=timeout_s)
    finally:
        waiter.cancel()


@dataclass
class PodLine:
    """One pod's live status line."""

    pod_id: int
    name: str
    connected: bool
    rate_hz: float
    samples: int
    gaps: int
    resends: int
    lost_samples: int
    reboots: int
    clock_offset_s: float | None
    drift_ppm: float | None
    battery_pct: int | None
    reconnects: int
    note: str = ""

    def text(self) -> str:
        link = "up  " if self.connected else "DOWN"
        offset = "-" if self.clock_offset_s is None else f"{self.clock_offset_s:+.4f} s"
        drift = "-" if self.drift_ppm is None else f"{self.drift_ppm:+.1f} ppm"
        battery = "-" if self.battery_pct is None else f"{self.battery_pct}%"
        return (
            f"{self.name or f'{self.pod_id:04x}':>14} {link} {self.rate_hz:6.1f} Hz "
            f"gaps {self.gaps} resends {self.resends} lost {self.lost_samples} "
            f"reboots {self.reboots} offset {offset} drift {drift} battery {battery} "
            f"reconnects {self.reconnects}" + (f" [{self.note}]" if self.note else "")
        )


@dataclass
class _Rate:
    at_s: float = 0.0
    samples: int = 0
    rate_hz: float = 0.0


class Recorder:
    """Records pods into a journal; see the module docstring.

    `targets` are the pods the user chose (nothing else is ever connected). `journal_path` must
    not exist. `stream_options` go to every `PodStream` (timeouts). `on_samples` gets the sample
    chunks as they are released (in order per pod; the last ones when the recording ends).
    """

    def __init__(
        self,
        targets: list[PodTarget],
        journal_path: Path,
        *,
        backend: BleakBackend | None = None,
        pair: bool = True,
        poll_interval_s: float = 0.025,
        session_options: dict[str, Any] | None = None,
        stream_options: dict[str, Any] | None = None,
        on_samples: Callable[[list[SampleChunk]], None] | None = None,
    ) -> None:
        if not targets:
            raise ValueError("no pods to record: give --pods or pair pods first (gaitchain pair)")
        self.targets = targets
        self.journal_path = journal_path
        self.backend = backend
        self.pair = pair
        self.poll_interval_s = poll_interval_s
        self.session_options: dict[str, Any] = {
            "max_batch_ms": RECORD_MAX_BATCH_MS,
            **(session_options or {}),
        }
        self.stream_options = stream_options or {}
        self.on_samples = on_samples
        self.assembler: StreamAssembler | None = None
        self.journal: JournalWriter | None = None
        self.sessions: dict[int, PodSession] = {}
        self.samples: dict[int, int] = {}
        self._rates: dict[int, _Rate] = {}
        self.stop_event = asyncio.Event()

    async def run(self, *, on_tick: Callable[["Recorder"], None] | None = None) -> None:
        """Record until `stop()`; `on_tick` is called after every poll (the status display)."""
        loop = asyncio.get_running_loop()
        options = self.stream_options

        def make_stream(pod_id: int, now: Callable[[], float]) -> PodStream:
            return PodStream(pod_id, now_s=now, **options)

        self.journal = JournalWriter(self.journal_path, now_s=loop.time)
        self.assembler = StreamAssembler(
            now_s=loop.time, journal=self.journal, stream_factory=make_stream
        )
        lock = asyncio.Lock()
        for target in self.targets:
            stream = self.assembler.stream(target.pod_id)
            stream.link_down(loop.time())
            self.sessions[target.pod_id] = PodSession(
                target,
                self.assembler,
                lock,
                stream=stream,
                backend=self.backend,
                pair=self.pair,
                **self.session_options,
            )
        tasks = [loop.create_task(s.run(self.stop_event)) for s in self.sessions.values()]
        try:
            while not self.stop_event.is_set():
                for pod_id, data in self.assembler.poll():
                    self.sessions[pod_id].send(data)
                self._count(self.assembler)
                if on_tick is not None:
                    on_tick(self)
                await _wait(self.stop_event, self.poll_interval_s)
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            self._counted(self.assembler.finish(loop.time()))
            self.journal.close()

    def stop(self) -> None:
        self.stop_event.set()

    def _count(self, assembler: StreamAssembler) -> None:
        self._counted(assembler.take_samples())

    def _counted(self, chunks: list[SampleChunk]) -> None:
        for chunk in chunks:
            self.samples[chunk.pod_id] = self.samples.get(chunk.pod_id, 0) + chunk.count
        if chunks and self.on_samples is not None:
            self.on_samples(chunks)

    def lines(self) -> list[PodLine]:
        """The live status line of every pod."""
        if self.assembler is None:
            return []
        now = asyncio.get_running_loop().time()
        out: list[PodLine] = []
        for pod_id, session in self.sessions.items():
            stream = self.assembler.stream(pod_id)
            counters = stream.counters
            rate = self._rates.setdefault(pod_id, _Rate(now, counters.samples))
            if now - rate.at_s >= 2.0:
                rate.rate_hz = (counters.samples - rate.samples) / (now - rate.at_s)
                rate.at_s, rate.samples = now, counters.samples
            clock = stream.clock
            ready = clock.ready_
            status = stream.status
            out.append(
                PodLine(
                    pod_id,
                    session.target.name,
                    session.state.connected,
                    rate.rate_hz,
                    counters.samples,
                    counters.gaps,
                    counters.resent_received,
                    counters.lost_samples,
                    counters.reboots,
                    clock.offset_s_ if ready else None,
                    clock.drift_ppm_ if ready else None,
                    None if status is None or status.battery_pct > 100 else status.battery_pct,
                    max(0, session.state.connects - 1),
                    session.state.batch_note,
                )
            )
        return out
