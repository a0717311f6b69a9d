"""Step-log sync over BLE: the sans-IO `LogSync` driven through bleak, one pod at a time.

`sync_pods` scans for the gaitchain service, keeps the pods the user chose (nothing else is ever
connected) and syncs each one in reach in turn (BlueZ refuses parallel connection attempts, and
one pod's download already fills the link). For each pod, `sync_pod`:

1. connects, subscribes to the data characteristic and asks `GET_INFO`; a pod that answers
   `NOT_BONDED` is paired (LE Secure Connections) when `pair` allows, as `gaitchain record` does;
2. runs a fresh `LogSync`: its messages go to the control characteristic (write without
   response, in order, through one queue), every notification goes to `LogSync.on_message`;
3. when the link drops or the pod falls silent for `idle_timeout_s`, waits `backoff_s` (doubling)
   and starts again from 1 with a new `LogSync`, which reads from the first block the store lacks:
   blocks already stored are not asked for again, a block cut in the middle is asked for whole,
   and the pod frees nothing until the host's `LOG_CONFIRM` (after the store is durable).

Notification callbacks only enqueue (with the disconnect as a `None`); one consumer does the
work. All waits use the event loop's clock, so the same code runs on simulated time in tests.
"""

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bleak import BleakClient
from bleak.exc import BleakError

from ..protocol import Command, CommandCode, CommandResult, ProtocolError, Reply, decode, encode
from ..protocol.spec import CONTROL_CHAR_UUID, DATA_CHAR_UUID
from ..steplog.store import StepStore
from ..steplog.sync import ANY_POD, LogSync, SyncError, SyncResult, is_status
from .ble import PodTarget, scan_pods
from .bumble_backend import BleakBackend
from .transport import LinkLostError


@dataclass
class PodSyncOutcome:
    """What syncing one pod did, over all its attempts."""

    target: PodTarget
    attempts: list[SyncResult] = field(default_factory=list[SyncResult])
    disconnects: int = 0
    paired: bool = False
    complete: bool = False
    error: str | None = None
    elapsed_s: float = 0.0

    @property
    def blocks_stored(self) -> int:
        return sum(a.blocks_stored for a in self.attempts)

    @property
    def steps_stored(self) -> int:
        return sum(a.steps_stored for a in self.attempts)

    @property
    def blocks_duplicate(self) -> int:
        return sum(a.blocks_duplicate for a in self.attempts)

    @property
    def last(self) -> SyncResult | None:
        return self.attempts[-1] if self.attempts else None


@dataclass
class SyncOptions:
    """How `sync_pod` connects and retries (times in seconds on the event loop's clock)."""

    client: str | None = None
    pair: bool = True
    connect_timeout_s: float = 10.0
    reply_timeout_s: float = 3.0
    idle_timeout_s: float = 5.0
    attempts: int = 5
    backoff_s: float = 0.5
    backoff_max_s: float = 8.0
    max_blocks: int = 0
    """Blocks per LOG_READ (0: all the pod holds)."""


class _Link:
    """One connection's notifications as a queue; None marks the disconnect."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    def on_notify(self, _characteristic: Any, data: bytearray) -> None:
        self.queue.put_nowait(bytes(data))

    def on_disconnect(self, _client: BleakClient) -> None:
        self.queue.put_nowait(None)

    async def next(self, timeout_s: float) -> bytes:
        try:
            data = await asyncio.wait_for(self.queue.get(), timeout_s)
        except TimeoutError:
            raise LinkLostError(f"the pod sent nothing for {timeout_s:g} s") from None
        if data is None:
            raise LinkLostError("the pod disconnected")
        return data


async def sync_pod(
    target: PodTarget,
    store: StepStore,
    *,
    backend: BleakBackend | None = None,
    options: SyncOptions | None = None,
    now_unix_s: Callable[[], float] = time.time,
) -> PodSyncOutcome:
    """Download one pod's step log into `store`, resuming after each lost link (at most
    `options.attempts` connections). Never raises for link trouble: the outcome says."""
    options = options or SyncOptions()
    backend = backend if backend is not None else BleakBackend()
    loop = asyncio.get_running_loop()
    outcome = PodSyncOutcome(target)
    started_s = loop.time()
    delay_s = options.backoff_s
    for attempt in range(options.attempts):
        if attempt:
            await asyncio.sleep(delay_s)
            delay_s = min(options.backoff_max_s, delay_s * 2)
        sync = LogSync(
            store,
            now_unix_s,
            client=options.client,
            transport_name="ble",
            max_blocks=options.max_blocks,
        )
        outcome.attempts.append(sync.result)
        try:
            await _attempt(target, sync, backend, options, outcome)
        except (LinkLostError, BleakError, TimeoutError, OSError) as error:
            outcome.disconnects += 1
            outcome.error = str(error) or type(error).__name__
            continue
        except SyncError as error:
            outcome.error = str(error)
            break
        outcome.complete, outcome.error = True, None
        break
    outcome.elapsed_s = loop.time() - started_s
    return outcome


async def _attempt(
    target: PodTarget,
    sync: LogSync,
    backend: BleakBackend,
    options: SyncOptions,
    outcome: PodSyncOutcome,
) -> None:
    link = _Link()
    client = BleakClient(
        target.address,
        disconnected_callback=link.on_disconnect,
        timeout=options.connect_timeout_s,
        backend=backend.client,
    )
    try:  # (a backend may not bound the connection attempt itself)
        await asyncio.wait_for(client.connect(), options.connect_timeout_s)
    except TimeoutError:
        raise LinkLostError(
            f"pod {target.pod_id:04x} did not connect within {options.connect_timeout_s:g} s"
        ) from None
    try:
        await client.start_notify(DATA_CHAR_UUID, link.on_notify)
        if await _probe(client, link, target, options) is CommandResult.NOT_BONDED:
            if not options.pair:
                raise SyncError(
                    f"pod {target.pod_id:04x} accepts commands only from a bonded host; pair it "
                    "first (gaitchain pair) or sync it over USB"
                )
            await client.pair()
            outcome.paired = True
            if await _probe(client, link, target, options) is not CommandResult.OK:
                raise SyncError(f"pod {target.pod_id:04x} still refuses commands after pairing")
        for message in sync.start():
            await client.write_gatt_char(CONTROL_CHAR_UUID, message, response=False)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + options.idle_timeout_s
        while not sync.done:
            data = await link.next(max(0.0, deadline - loop.time()))
            if not is_status(data):  # a pod that only reports its status is stuck
                deadline = loop.time() + options.idle_timeout_s
            for message in sync.on_message(data):
                await client.write_gatt_char(CONTROL_CHAR_UUID, message, response=False)
    finally:
        with contextlib.suppress(BleakError, TimeoutError, OSError):
            await client.disconnect()


async def _probe(
    client: BleakClient, link: _Link, target: PodTarget, options: SyncOptions
) -> CommandResult:
    """Ask GET_INFO and wait for its reply (other messages before it are dropped)."""
    seq = 0x7FFF_FFF0
    command = encode(Command(ANY_POD, seq, CommandCode.GET_INFO))
    await client.write_gatt_char(CONTROL_CHAR_UUID, command, response=True)
    deadline = asyncio.get_running_loop().time() + options.reply_timeout_s
    while True:
        left_s = deadline - asyncio.get_running_loop().time()
        if left_s <= 0:
            raise LinkLostError(f"pod {target.pod_id:04x} did not answer GET_INFO")
        data = await link.next(left_s)
        with contextlib.suppress(ProtocolError):
            message = decode(data)
            if isinstance(message, Reply) and message.seq == seq:
                return message.result


async def sync_pods(
    chosen: list[PodTarget],
    store: StepStore,
    *,
    backend: BleakBackend | None = None,
    options: SyncOptions | None = None,
    scan_s: float = 5.0,
    now_unix_s: Callable[[], float] = time.time,
    on_outcome: Callable[[PodSyncOutcome], None] | None = None,
) -> tuple[list[PodSyncOutcome], list[PodTarget]]:
    """Sync every chosen pod a scan finds (matched by pod id, or address); returns the
    outcomes and the chosen pods that were not in reach."""
    if not chosen:
        raise ValueError("no pods chosen: give --pods, or pair pods first (gaitchain pair)")
    found = await scan_pods(backend, timeout_s=scan_s)
    by_id = {p.pod_id: p for p in found}
    by_address = {p.address.lower(): p for p in found}
    outcomes: list[PodSyncOutcome] = []
    missing: list[PodTarget] = []
    for target in chosen:
        advert = by_id.get(target.pod_id) or by_address.get(target.address.lower())
        if advert is None:
            missing.append(target)
            continue
        here = PodTarget(advert.address, advert.pod_id, target.name or advert.name)
        outcome = await sync_pod(
            here, store, backend=backend, options=options, now_unix_s=now_unix_s
        )
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return outcomes, missing
