"""A `PodLink` over virtual pods: the unchanged firmware on emulated chips, worn by a simulated
walker, reached through the emulated MicroPython `bluetooth` module's central-side hooks.

The link plays the BLE central the way a real one does: it connects to each advertising pod,
exchanges the MTU, bonds (LE Secure Connections, "just works") and then reports the link up; host
messages are written to the control characteristic, and what the pod notified is delivered as
packets. Time is the caller's: `poll(now_s)` runs every pod's firmware up to `now_s` on the true
time base (the walker's clock), so a test can run faster than real time and the demo runs at real
time by passing a wall clock.

`mtu` is what the central offers. The pod fills each notification (18 samples at 247 bytes, which
takes 150 ms at 120 Hz); a smaller MTU gives smaller batches and less latency for the live view at
more overhead per sample (`DEMO_MTU`: 3 samples, 25 ms at 120 Hz).

Body kinematics are costly to evaluate in the chip's small steps, so each pod's signal is computed
a block ahead on the chip's own sample grid and served from that block (`BlockSignalPod`); the
values are the same the chip would get one call at a time.
"""

from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray

from gaitchain.protocol.spec import CONTROL_CHAR_UUID

from ..sim.body import Body
from ..sim.params import ImuErrors, Walker
from ..sim.plan import make_plan
from ..sim.schedule import build_schedule
from ..sim.virtual_pod import VirtualPod, VirtualPodConfig
from ..sim.walk import DEFAULT_PODS, apply_driver, parse_driver
from .link import LinkChange, LinkEvent, Packet

FloatArray = NDArray[np.float64]

FULL_MTU: Final = 247
DEMO_MTU: Final = 61
"""3 six-axis samples per notification: (61 - 3 - 22) // 12, 25 ms at 120 Hz."""
FIRST_POD_ID: Final = 0x0101


class BlockSignalPod(VirtualPod):
    """A virtual pod whose chip signal is computed `block_s` ahead on the chip's sample grid."""

    def __init__(
        self,
        body: Body,
        config: VirtualPodConfig,
        rng: np.random.Generator,
        *,
        block_s: float = 2.0,
    ) -> None:
        super().__init__(body, config, rng)
        self.block_s = block_s
        self._t: FloatArray = np.zeros(0)
        self._acc: FloatArray = np.zeros((0, 3))
        self._gyr: FloatArray = np.zeros((0, 3))

    def _signal(self, t_s: FloatArray) -> tuple[FloatArray, FloatArray]:
        times = np.asarray(t_s, dtype=np.float64)
        n = times.shape[0]
        cached = self._t
        if (
            n <= cached.shape[0]
            and abs(cached[0] - times[0]) < 1e-7
            and abs(cached[n - 1] - times[-1]) < 1e-7
        ):
            acc, gyr = self._acc[:n], self._gyr[:n]
            self._t, self._acc, self._gyr = self._t[n:], self._acc[n:], self._gyr[n:]
            return acc, gyr
        step = float(np.median(np.diff(times))) if n > 1 else 1.0 / self.config.rate_hz
        ahead = max(0, round(self.block_s / step))
        grid = np.concatenate([times, times[-1] + step * np.arange(1, ahead + 1)])
        acc_all, gyr_all = super()._signal(grid)
        self._t, self._acc, self._gyr = grid[n:], acc_all[n:], gyr_all[n:]
        return acc_all[:n], gyr_all[:n]


@dataclass
class VirtualWalkConfig:
    """The simulated client and their pods. `minutes` is how long the walker's plan runs (it
    starts with `stand_s` of quiet standing, which the segment alignment needs)."""

    driver: str = "left-hip-ir-deficit"
    seed: int = 7
    minutes: float = 60.0
    stand_s: float = 4.0
    severity: float = 1.0
    rate_hz: int = 120
    mtu: int = DEMO_MTU
    pods: tuple[tuple[str, str], ...] = DEFAULT_PODS
    max_clock_ppm: float = 50.0
    step_s: float = 0.01
    errors: ImuErrors = field(default_factory=ImuErrors)


def walker_body(config: VirtualWalkConfig) -> Body:
    driver, side = parse_driver(config.driver)
    walker = apply_driver(Walker(), driver, side, config.severity).validate()
    plan = make_plan(
        config.minutes * 60.0, walker.gait.speed_mps, walker.gait.stride_s, stand_s=config.stand_s
    )
    return Body(build_schedule(walker, plan))


class VirtualPodLink:
    """`PodLink` over virtual pods on one simulated walker (see the module docstring)."""

    def __init__(self, config: VirtualWalkConfig) -> None:
        self.config = config
        self.body = walker_body(config)
        rng = np.random.default_rng(config.seed)
        seeds: list[int] = rng.integers(0, 2**31, size=len(config.pods)).tolist()
        self.pods: dict[int, VirtualPod] = {}
        for index, (segment, side) in enumerate(config.pods):
            pod_config = VirtualPodConfig(
                FIRST_POD_ID + index,
                segment,
                side,
                rate_hz=config.rate_hz,
                boot_s=float(rng.uniform(0.0, 0.3)),
                clock_ppm=float(rng.uniform(-config.max_clock_ppm, config.max_clock_ppm)),
                step_s=config.step_s,
                errors=config.errors,
            )
            self.pods[pod_config.pod_id] = BlockSignalPod(
                self.body,
                pod_config,
                np.random.default_rng(seeds[index]),
                block_s=2.0 + 0.37 * index,  # pods compute their blocks at different times
            )
        self._control = {
            pid: pod.ble.handle_of(CONTROL_CHAR_UUID) for pid, pod in self.pods.items()
        }
        self._events: list[LinkEvent] = []
        self._poll_s = 0.0

    @property
    def duration_s(self) -> float:
        return self.body.schedule.plan.duration_s

    def start(self, now_s: float) -> None:
        for pod_id in self.pods:
            self.connect(pod_id, now_s)

    def connect(self, pod_id: int, now_s: float) -> None:
        """Connect the central to one pod (it must be advertising), as after a drop-out."""
        pod = self.pods[pod_id]
        self._poll_s = max(self._poll_s, now_s)
        pod.advance_to(max(now_s, pod.boot_s + 0.05))
        if pod.ble.advertising is None:
            raise RuntimeError(f"pod {pod_id:#06x} is not advertising; it cannot be connected")
        pod.ble.connect()
        pod.ble.exchange_mtu(self.config.mtu)
        pod.ble.encrypt(bonded=True)
        self._events.append(LinkChange(pod_id, now_s, True))

    def disconnect(self, pod_id: int, now_s: float) -> None:
        """Drop one pod's link (what it notified but the central did not take is lost)."""
        pod = self.pods[pod_id]
        if pod.ble.conn is not None:
            pod.ble.disconnect()
            self._events.append(LinkChange(pod_id, now_s, False))

    def poll(self, now_s: float) -> list[LinkEvent]:
        events, self._events = self._events, []
        self._poll_s = now_s
        for pod_id, pod in self.pods.items():
            pod.advance_to(now_s)
            events.extend(Packet(pod_id, now_s, bytes(m)) for m in pod.ble.drain())
        return events

    def send(self, pod_id: int, data: bytes) -> None:
        """Write to the pod's control characteristic; the pod handles it at once (a main-loop
        pass at its current time, which is the last `poll` time) and what it answers arrives then.
        """
        pod = self.pods[pod_id]
        if pod.ble.conn is None:
            return
        pod.ble.write(self._control[pod_id], data)
        pod.pod.service()
        at_s = max(self._poll_s, pod.now_s)
        self._events.extend(Packet(pod_id, at_s, bytes(m)) for m in pod.ble.drain())

    def close(self) -> None:
        for pod in self.pods.values():
            if pod.ble.conn is not None:
                pod.ble.disconnect()
