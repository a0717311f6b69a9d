"""Virtual pods on a virtual BLE link: the pod firmware on Bumble, reached through bleak.

`VirtualPods` puts N virtual pods (the unchanged firmware on the emulated LSM6DSV16X, sampling a
simulated walker, `gaitchain.sim.virtual_pod`) on one Bumble `LocalLink`, each on its own Bumble
device through `BumbleBLE` (MicroPython's `bluetooth` API), plus the host's adapter
(`BumbleCentral`). `backend` is what bleak's `backend=` takes, so the host code under test is the
same code that talks to real pods.

    async with VirtualPods.walking(5, minutes=10) as pods:
        recorder = Recorder(pods.targets(), out_dir, backend=pods.backend)
        ...

Everything runs on the event loop's clock: on `gaitchain.sim.simtime.SimulatedTimeLoop` a test
is deterministic and takes no wall time waiting; on an ordinary loop the pods run in real time
(the demo). Each pod's main loop runs as the firmware's does: on a wake-up (a control write or a
connection event) or every `service_interval_s` (main.py's 50 ms; the real pod also wakes on its
IMU's FIFO interrupt, which the live demo approximates with 10 ms and `chip_step_s` 0, cheap
with `signal_block_s`). `host_mtu` is the largest ATT MTU the host's adapter takes (517 as BlueZ;
the live demo offers 61, so batches are 3 samples).

Faults, on the air (`AirFaults`) and per pod: a share of notifications lost, a one-way delay per
packet (order kept per direction, as a BLE link keeps it), `drop_link` (the pod goes out of range
for a while: the link times out, its advertising is not heard), `reboot` (the pod resets).
"""

import asyncio
import collections
import contextlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np
from bumble import core, hci
from bumble.controller import Controller
from bumble.device import Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from gaitchain.sim.body import Body
from gaitchain.sim.bumble_ble import BumbleBLE
from gaitchain.sim.params import ImuErrors, Walker
from gaitchain.sim.plan import make_plan
from gaitchain.sim.schedule import build_schedule
from gaitchain.sim.virtual_pod import VirtualPod, VirtualPodConfig
from gaitchain.sim.walk import apply_driver, parse_driver

from .bumble_backend import HOST_ADDRESS, REQUESTED_MTU, BleakBackend, BumbleCentral

_ATT_CID = b"\x04\x00"
_ATT_NOTIFICATION = 0x1B
_CONNECTION_TIMEOUT = 0x08
PLACEMENTS = (
    ("pelvis", "center"),
    ("shank", "left"),
    ("shank", "right"),
    ("foot", "left"),
    ("foot", "right"),
    ("thigh", "left"),
    ("thigh", "right"),
)


@dataclass(frozen=True)
class AirFaults:
    """What the air does: `notification_drop` of the pods' notifications are lost (whole ATT
    PDUs); every packet is delayed by `delay_max_s * u**delay_shape` (u uniform) and packets keep
    their order per direction."""

    notification_drop: float = 0.0
    delay_max_s: float = 0.0
    delay_shape: float = 1.0


class VirtualAir(LocalLink):
    """A Bumble `LocalLink` with `AirFaults` and controllers that can go out of range."""

    def __init__(self, faults: AirFaults, rng: np.random.Generator) -> None:
        super().__init__()
        self.faults = faults
        self.rng = rng
        self.out_of_range: set[Controller] = set()
        self.notifications = 0
        self.notifications_dropped = 0
        self._last_delivery: dict[tuple[int, int], float] = {}
        self._in_flight: dict[
            tuple[int, int], collections.deque[tuple[Controller, hci.Address, Any, bytes]]
        ] = {}
        self.scan_responses: dict[str, bytes] = {}

    def scan_response(self, address: hci.Address) -> bytes:
        """The scan response data `address` advertises with (empty if none)."""
        return self.scan_responses.get(address.to_string(with_type_qualifier=False), b"")

    def send_acl_data(
        self,
        sender_controller: Controller,
        destination_address: hci.Address,
        transport: core.PhysicalTransport,
        data: bytes,
    ) -> None:
        destination = self.find_le_controller(destination_address)
        if destination is None or {sender_controller, destination} & self.out_of_range:
            return
        if data[2:4] == _ATT_CID and len(data) > 4 and data[4] == _ATT_NOTIFICATION:
            self.notifications += 1
            if self.faults.notification_drop and self.rng.random() < self.faults.notification_drop:
                self.notifications_dropped += 1
                return
        source = sender_controller.random_address
        loop = asyncio.get_running_loop()
        at = loop.time()
        if self.faults.delay_max_s > 0:
            at += self.faults.delay_max_s * float(self.rng.random()) ** self.faults.delay_shape
        key = (id(sender_controller), id(destination))
        # strictly after the previous packet: the loop does not keep the order of equal times
        at = max(at, self._last_delivery.get(key, -1.0) + 1e-6)
        self._last_delivery[key] = at
        # asyncio's timer heap does not keep the order of timers due at the same instant, and a
        # link keeps its packets in order: each timer delivers the oldest packet waiting.
        waiting = self._in_flight.setdefault(key, collections.deque())
        waiting.append((destination, source, transport, data))
        loop.call_at(at, self._deliver, waiting)

    @staticmethod
    def _deliver(waiting: "collections.deque[tuple[Controller, hci.Address, Any, bytes]]") -> None:
        destination, source, transport, data = waiting.popleft()
        destination.on_link_acl_data(source, transport, data)

    def send_advertising_pdu(self, sender_controller: Controller, packet: Any) -> None:
        if sender_controller in self.out_of_range:
            return
        address = getattr(packet, "advertiser_address", None)
        if address is not None:
            legacy = sender_controller.le_legacy_advertiser
            response = legacy.scan_response_data if legacy.enabled else b""
            for advertising_set in sender_controller.advertising_sets.values():
                if advertising_set.enabled and advertising_set.address == address:
                    response = advertising_set.scan_response_data
            self.scan_responses[address.to_string(with_type_qualifier=False)] = bytes(response)
        loop = asyncio.get_running_loop()
        for controller in self.controllers:
            if controller is not sender_controller and controller not in self.out_of_range:
                loop.call_soon(controller.on_ll_advertising_pdu, packet)


class ScanningController(Controller):
    """A Bumble controller whose scan responses carry the advertiser's scan response data.

    Bumble's emulated controller has no SCAN_REQ / SCAN_RSP exchange on a `LocalLink`: it reports
    the advertising data a second time as the scan response. This one looks the advertiser's real
    scan response data up on the `VirtualAir` instead, as a real active scan would get it."""

    def send_hci_packet(self, packet: Any) -> None:
        air = self.link
        if isinstance(air, VirtualAir):
            if isinstance(packet, hci.HCI_LE_Advertising_Report_Event):
                for report in packet.reports:
                    if report.event_type == hci.HCI_LE_Advertising_Report_Event.EventType.SCAN_RSP:
                        report.data = air.scan_response(report.address)
            elif isinstance(packet, hci.HCI_LE_Extended_Advertising_Report_Event):
                flag = hci.HCI_LE_Extended_Advertising_Report_Event.EventType.SCAN_RESPONSE
                for report in packet.reports:
                    if report.event_type & flag:
                        report.data = air.scan_response(report.address)
        super().send_hci_packet(packet)


@dataclass(frozen=True)
class VirtualPodSpec:
    """One virtual pod: id, placement, rate, its clock (ppm off, booted at `boot_s`)."""

    pod_id: int
    segment: str
    side: str
    rate_hz: int = 120
    clock_ppm: float = 0.0
    boot_s: float = 0.0


def pod_address(pod_id: int) -> str:
    """A pod's (random static) BLE address, from its id."""
    return f"C0:DE:00:00:{pod_id >> 8:02X}:{pod_id & 0xFF:02X}"


class _RunningPod:
    def __init__(self, pod: VirtualPod, ble: BumbleBLE, controller: Controller) -> None:
        self.pod = pod
        self.ble = ble
        self.controller = controller
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None


class VirtualPods:
    """See the module docstring. Use `async with` (or `start` / `close`)."""

    def __init__(
        self,
        specs: list[VirtualPodSpec],
        body: Body,
        *,
        faults: AirFaults = AirFaults(),
        seed: int = 0,
        service_interval_s: float = 0.05,
        chip_step_s: float = 0.2,
        bonds_dir: Path | None = None,
        host_keystore: Path | None = None,
        errors: ImuErrors | None = None,
        log_sectors: int = 0,
        host_mtu: int = REQUESTED_MTU,
        signal_block_s: float = 0.0,
    ) -> None:
        self.specs = specs
        self.body = body
        self.faults = faults
        self.rng: np.random.Generator = np.random.default_rng(seed)
        self.service_interval_s = service_interval_s
        self.chip_step_s = chip_step_s
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if bonds_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="gaitchain-pods-")
            bonds_dir = Path(self._tmp.name)
        self.bonds_dir = bonds_dir
        self.host_keystore = host_keystore
        self.errors = errors
        self.log_sectors = log_sectors
        """Sectors of emulated flash for each pod's step log (0: none; 512 = 2 MB)."""
        self.host_mtu = host_mtu
        self.signal_block_s = signal_block_s
        self.air = VirtualAir(faults, self.rng)
        self.pods: dict[int, _RunningPod] = {}
        self.central: BumbleCentral | None = None
        self.t0_s = 0.0
        """The loop's time when the pods started: true time 0 of the walker and the pods."""
        self._tasks: set[asyncio.Task[Any]] = set()

    @classmethod
    def walking(
        cls,
        count: int = 5,
        *,
        minutes: float = 10.0,
        rate_hz: int = 120,
        seed: int = 0,
        first_pod_id: int = 0x0101,
        driver: str = "healthy",
        severity: float = 1.0,
        stand_s: float | None = None,
        **options: Any,
    ) -> "VirtualPods":
        """`count` pods (pelvis, shanks, feet, thighs in that order) on one simulated walker of
        `minutes` (healthy, or with a kinetic-chain `driver` such as "left-hip-ir-deficit"),
        clocks up to +-50 ppm off, booted within the first second. The walk starts with
        `stand_s` of standing (default 8 s)."""
        if not 1 <= count <= len(PLACEMENTS):
            raise ValueError(f"count = {count} is outside 1 to {len(PLACEMENTS)} virtual pods")
        rng = np.random.default_rng(seed)
        fault, side = parse_driver(driver)
        walker = apply_driver(Walker(), fault, side, severity).validate()
        plan = make_plan(
            minutes * 60.0 + 30.0, walker.gait.speed_mps, walker.gait.stride_s, stand_s=stand_s
        )
        body = Body(build_schedule(walker, plan))
        specs = [
            VirtualPodSpec(
                first_pod_id + i,
                PLACEMENTS[i][0],
                PLACEMENTS[i][1],
                rate_hz,
                float(rng.uniform(-50.0, 50.0)),
                float(rng.uniform(0.0, 1.0)),
            )
            for i in range(count)
        ]
        return cls(specs, body, seed=seed, **options)

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> Self:
        self.t0_s = asyncio.get_running_loop().time()
        controller = ScanningController(
            "gaitchain-host", link=self.air, public_address=HOST_ADDRESS
        )
        self.central = await BumbleCentral.start(
            controller, keystore_path=self.host_keystore, mtu=self.host_mtu
        )
        for spec in self.specs:
            address = pod_address(spec.pod_id)
            controller = Controller(f"pod-{spec.pod_id:04x}", link=self.air, public_address=address)
            device = Device(
                name=f"gaitchain-{spec.pod_id:04x}",
                address=hci.Address(address),
                host=Host(controller, AsyncPipeSink(controller)),
            )
            await device.power_on()
            ble = BumbleBLE(device)
            config = VirtualPodConfig(
                spec.pod_id,
                spec.segment,
                spec.side,
                rate_hz=spec.rate_hz,
                boot_s=spec.boot_s,
                clock_ppm=spec.clock_ppm,
                step_s=self.service_interval_s,
                chip_step_s=self.chip_step_s,
                bonds_path=str(self.bonds_dir / f"bonds-{spec.pod_id:04x}.bin"),
                log_sectors=self.log_sectors,
                signal_block_s=self.signal_block_s,
            )
            if self.errors is not None:
                config.errors = self.errors
            seed = int(self.rng.integers(0, 2**31))  # pyright: ignore[reportUnknownArgumentType] (numpy's overloads resolve to Unknown here under strict)
            pod = VirtualPod(self.body, config, np.random.default_rng(seed), ble=ble)
            running = _RunningPod(pod, ble, controller)
            ble_wake: Callable[[], None] = running.wake.set
            ble.on_event = ble_wake
            self.pods[spec.pod_id] = running
            running.task = asyncio.get_running_loop().create_task(self._run(running, spec))
        return self

    async def _run(self, running: _RunningPod, spec: VirtualPodSpec) -> None:
        loop = asyncio.get_running_loop()
        delay = spec.boot_s - (loop.time() - self.t0_s)
        if delay > 0:
            await asyncio.sleep(delay)
        while True:
            running.pod.wake(loop.time() - self.t0_s)
            timer = loop.call_later(self.service_interval_s, running.wake.set)
            await running.wake.wait()  # (not wait_for: it can swallow a cancellation in 3.11)
            timer.cancel()
            running.wake.clear()

    async def close(self) -> None:
        for running in self.pods.values():
            if running.task is not None:
                running.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running.task
        await asyncio.sleep(1.0)  # let HCI exchanges in flight finish before the loop closes
        if self._tmp is not None:
            self._tmp.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # -- what the host uses ------------------------------------------------------------
    @property
    def backend(self) -> BleakBackend:
        """bleak backend classes on this virtual link's host adapter."""
        if self.central is None:
            raise RuntimeError("start the virtual pods first (async with VirtualPods(...))")
        return self.central.backend()

    def address(self, pod_id: int) -> str:
        return pod_address(pod_id)

    def pod(self, pod_id: int) -> VirtualPod:
        return self.pods[pod_id].pod

    # -- faults --------------------------------------------------------------------------
    def drop_link(self, pod_id: int, duration_s: float) -> None:
        """The pod goes out of range now for `duration_s`: its link times out (both sides see
        a disconnect), and nothing it sends or advertises is heard until it is back."""
        running = self.pods[pod_id]
        for connection in list(running.ble.device.connections.values()):
            self._spawn(connection.disconnect(reason=_CONNECTION_TIMEOUT))
        loop = asyncio.get_running_loop()
        loop.call_soon(self.air.out_of_range.add, running.controller)
        loop.call_later(duration_s, self.air.out_of_range.discard, running.controller)

    def reboot(self, pod_id: int) -> None:
        """The pod resets now (power glitch, watchdog)."""
        running = self.pods[pod_id]
        running.pod.advance_to(asyncio.get_running_loop().time() - self.t0_s)
        running.pod.reboot()
        running.wake.set()

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
