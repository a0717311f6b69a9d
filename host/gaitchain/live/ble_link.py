"""The live dashboard's `PodLink` over the BLE transport: the same `PodSession` code (bleak's
`BleakScanner` / `BleakClient`, `gaitchain.link.ble`) that `gaitchain record` uses, on real pods or
on virtual pods on a Bumble backend (`virtual_pods`, what `gaitchain demo` runs).

**One owner of the stream.** The sessions only carry packets: they connect (one at a time),
subscribe, ask `GET_INFO` and `GET_STREAM_CONFIG`, pair when allowed, cap the pod's batches to
`LIVE_MAX_BATCH_MS` (real and virtual pods alike, at the MTU they negotiate), start the pod and
reconnect with back-off, and report what arrived (with its host receive time), what they wrote
(their set-up commands, and each ping again as it goes out, which narrows its send time for the
clock model) and their link changes to a queue. The pipeline's `StreamAssembler` is the only one: it
assembles every pod's stream once, makes the only resend requests and pings (which `send` writes
to the control characteristic) and holds the only clock model per pod. No session gets a
`PodStream`, so at `close` a session stops its pod without recovering last batches (the journal
of a live recording ends when the user stops it, before the link closes).

**Threads and time.** By default `start` runs an asyncio event loop on a thread of its own
("gaitchain-ble"; `loop_factory` makes its loop: a `SimulatedTimeLoop` runs the pods as fast as the
CPU allows) and returns once the pods were resolved (scan, paired file, or virtual pods up),
raising what went wrong there; `poll` drains the queue from the pipeline's thread and `send` hands
the bytes to the loop. With `attach=True` the link runs on the caller's running loop instead: a
test runs the pipeline on the same simulated-time loop, deterministic and as fast as the CPU
allows. Every time stamp is read from `now_s` (the pipeline's clock; default the loop's).

`open_pods` makes an async context manager yielding the `LinkPods` (targets and bleak backend);
it runs on the link's loop (Bumble objects belong to the loop they were made on), and is left
when the link closes.
"""

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Final

from ..link.ble import PodSession, PodTarget, scan_pods
from ..link.bumble_backend import BleakBackend
from .link import LinkChange, LinkEvent, Packet, Sent

log = logging.getLogger(__name__)

DEMO_DRIVER: Final = "left-hip-ir-deficit"
"""The demo walker's kinetic-chain driver (`gaitchain demo --driver`, the tests' demo walk)."""
DEMO_SEED: Final = 7
"""The demo walk's seed (`gaitchain demo --seed`)."""
DEMO_MINUTES: Final = 60.0
"""The demo walk's length (`gaitchain demo --minutes`)."""
LIVE_MAX_BATCH_MS: Final = 25
"""The batch length the live link asks its pods for (`SET_MAX_BATCH`): 3 samples at 120 Hz
instead of the 18 (150 ms of buffering) that fill the 247-byte MTU real centrals settle on."""
DEMO_STAND_S: Final = 12.0
"""The demo's walker stands this long first: the live segment alignment needs standing, and on a
busy host connecting five pods one at a time (with pairing) can take several seconds."""
DEMO_SERVICE_S: Final = 0.01
"""How often a virtual pod's main loop runs in the demo (the real pod wakes on its FIFO
interrupt, every batch)."""
DEMO_SIGNAL_BLOCK_S: Final = 2.0
"""How far ahead a demo pod's emulated chip computes the walker's signal (one block at a time)."""


@dataclass
class LinkPods:
    """The pods a link connects to (nothing else is ever connected) and the bleak backend
    (None: the platform's BLE)."""

    targets: list[PodTarget]
    backend: BleakBackend | None = None
    extra: dict[str, Any] = field(default_factory=dict[str, Any])
    """What the opener wants to keep at hand (the demo's `VirtualPods`, for tests)."""


PodsOpener = Callable[[], AbstractAsyncContextManager[LinkPods]]


class _QueueSink:
    """What sessions report, as link events on a queue (deque appends are thread-safe)."""

    def __init__(self, events: deque[LinkEvent]) -> None:
        self.events = events

    def receive(self, data: bytes, host_receive_s: float, *, link_pod_id: int | None) -> None:
        if link_pod_id is not None:
            self.events.append(Packet(link_pod_id, host_receive_s, data))

    def sent(self, pod_id: int, data: bytes, host_send_s: float | None) -> None:
        self.events.append(Sent(pod_id, math.nan if host_send_s is None else host_send_s, data))

    def link_up(self, pod_id: int, now_s: float | None) -> None:
        self.events.append(LinkChange(pod_id, math.nan if now_s is None else now_s, True))

    def link_down(self, pod_id: int, now_s: float | None) -> None:
        self.events.append(LinkChange(pod_id, math.nan if now_s is None else now_s, False))


class BlePodLink:
    """`PodLink` over `PodSession`s (see the module docstring). `session_options` go to every
    session (timeouts, back-off; `max_batch_ms`, default `LIVE_MAX_BATCH_MS`); `pair` lets a
    session pair a pod that asks for it."""

    def __init__(
        self,
        open_pods: PodsOpener,
        *,
        now_s: Callable[[], float] | None = None,
        attach: bool = False,
        pair: bool = True,
        session_options: dict[str, Any] | None = None,
        open_timeout_s: float = 60.0,
        close_timeout_s: float = 15.0,
        loop_factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop,
    ) -> None:
        self.open_pods = open_pods
        self.now_s = now_s
        self.attach = attach
        self.pair = pair
        self.session_options: dict[str, Any] = {"max_batch_ms": LIVE_MAX_BATCH_MS}
        self.session_options.update(session_options or {})
        self.open_timeout_s = open_timeout_s
        self.close_timeout_s = close_timeout_s
        self.loop_factory = loop_factory
        self.pods: LinkPods | None = None
        self.sessions: dict[int, PodSession] = {}
        self.error: BaseException | None = None
        self._events: deque[LinkEvent] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._opened = threading.Event()
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task[None] | None = None

    # -- PodLink -------------------------------------------------------------------------------
    def start(self, now_s: float) -> None:
        if self.attach:
            self._task = asyncio.get_running_loop().create_task(self._main())
            return
        self._thread = threading.Thread(target=self._run_thread, name="gaitchain-ble", daemon=True)
        self._thread.start()
        if not self._opened.wait(self.open_timeout_s):
            self.close()
            raise TimeoutError(f"the pods were not ready within {self.open_timeout_s:g} s")
        if self.error is not None:
            raise self.error

    def poll(self, now_s: float) -> list[LinkEvent]:
        if self.error is not None:
            raise RuntimeError(f"the BLE link failed: {self.error}") from self.error
        events = self._events
        return [events.popleft() for _ in range(len(events))]

    def send(self, pod_id: int, data: bytes) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._send, pod_id, data)

    def close(self) -> None:
        """Stop every pod and disconnect; in a thread of its own, wait for that (bounded)."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(self.close_timeout_s)

    async def wait_closed(self) -> None:
        """With `attach`: until the sessions have stopped and the pods are closed."""
        if self._task is not None:
            await self._task

    # -- the link's loop -----------------------------------------------------------------------
    def thread_cpu_s(self) -> float:
        """CPU seconds the link's thread has used (pods, BLE stack, sessions); 0 if it has none."""
        thread = self._thread
        if thread is None or thread.ident is None or not thread.is_alive():
            return 0.0
        return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))

    def _run_thread(self) -> None:
        loop = self.loop_factory()
        try:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self._main())
        except BaseException as error:  # reported by start or poll
            self.error = self.error or error
        finally:
            self._opened.set()
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _now(self) -> float:
        return self.now_s() if self.now_s is not None else asyncio.get_running_loop().time()

    def _send(self, pod_id: int, data: bytes) -> None:
        session = self.sessions.get(pod_id)
        if session is not None:
            session.send(data)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            async with self.open_pods() as pods:
                self.pods = pods
                if not pods.targets:
                    raise ValueError("no pods to connect: choose pods (--pods) or pair them first")
                sink, lock = _QueueSink(self._events), asyncio.Lock()
                for target in pods.targets:
                    sink.link_down(target.pod_id, self._now())  # shown as down until connected
                    self.sessions[target.pod_id] = PodSession(
                        target,
                        sink,
                        lock,
                        now_s=self._now,
                        backend=pods.backend,
                        pair=self.pair,
                        **self.session_options,
                    )
                self._opened.set()
                await asyncio.gather(*(s.run(self._stop) for s in self.sessions.values()))
        except BaseException as error:
            self.error = error
            log.error("the BLE link failed: %s", error)
            raise
        finally:
            self._opened.set()


def chosen_pods(targets: list[PodTarget], backend: BleakBackend | None = None) -> PodsOpener:
    """An opener for pods the user chose (from `--pods` and a scan, or the paired-pods file)."""

    @contextlib.asynccontextmanager
    async def opener() -> AsyncGenerator[LinkPods]:
        yield LinkPods(list(targets), backend)

    return opener


def virtual_pods(
    count: int = 5,
    *,
    minutes: float = DEMO_MINUTES,
    driver: str = DEMO_DRIVER,
    seed: int = DEMO_SEED,
    **options: Any,
) -> PodsOpener:
    """An opener that starts `count` virtual pods (the firmware on emulated chips, on a walker
    with `driver`) on a Bumble air and yields the scan's pods and the Bumble backend, as
    `gaitchain record --virtual` does; `options` go to `VirtualPods.walking`. The defaults are
    `gaitchain demo`'s (the `DEMO_*` constants), so `virtual_pods()` is the demo's walk. The
    `VirtualPods` is kept in `LinkPods.extra["virtual"]`."""

    @contextlib.asynccontextmanager
    async def opener() -> AsyncGenerator[LinkPods]:
        from ..link.virtual import VirtualPods  # noqa: PLC0415 - Bumble only for virtual pods

        settings: dict[str, Any] = {
            "stand_s": DEMO_STAND_S,
            "service_interval_s": DEMO_SERVICE_S,
            "chip_step_s": 0.0,
            "signal_block_s": DEMO_SIGNAL_BLOCK_S,
        } | options
        pods = VirtualPods.walking(count, minutes=minutes, seed=seed, driver=driver, **settings)
        async with pods:
            await asyncio.sleep(1.1)  # every virtual pod has booted (within 1 s) and advertises
            found = await scan_pods(pods.backend, timeout_s=1.0)
            if len(found) != count:
                raise OSError(f"a scan found {len(found)} of {count} virtual pods; start again")
            targets = [PodTarget(p.address, p.pod_id, p.name) for p in found]
            yield LinkPods(sorted(targets, key=lambda t: t.pod_id), pods.backend, {"virtual": pods})

    return opener
