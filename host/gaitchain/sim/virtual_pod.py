"""Virtual pods: the pod firmware itself, running under CPython on an emulated IMU chip.

A `VirtualPod` is the firmware's `Pod` controller with its real driver, sampler, clock, encoder,
backlog and BLE link code. Underneath it are a register-level LSM6DSV16X (`lsm6dsv16x`) fed by a
simulated walker through `PodSensor`, an emulated BLE peripheral with MicroPython's `bluetooth`
API (`mpshim.bluetooth`), a battery that drains, and a clock of its own: the chip's oscillator
runs `clock_ppm` off, and the pod boots at `boot_s` on the true time base, so device time and host
time differ by an offset and a drift, as with real pods.

Time is injected: `advance_to(t_s)` moves the true time; the chip samples, raises its watermark
interrupt, and the firmware's main-loop body runs, in steps of `step_s`. Nothing reads the wall
clock, so tests are exact and as fast as the CPU allows.

The firmware is imported from the repository's `firmware/` directory (or `GAITCHAIN_FIRMWARE`),
with the `mpshim` modules standing in for MicroPython's `micropython` and `bluetooth`.
"""

import importlib
import os
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from .body import Body
from .imu import PodSensor, PodSpec, kinematics
from .lsm6dsv16x import Lsm6dsv16xEmulator
from .params import ImuErrors

FloatArray = NDArray[np.float64]

SHIM_DIR: Final = Path(__file__).resolve().parent / "mpshim"
_COUNT_OFFSET: Final = 20  # SAMPLES: the count byte after header (8), t_first_us (8), period (4)
RECENT_BATCHES: Final = 2048
"""Batches of the current boot remembered for `never_sent`: far more than the firmware's backlog
(216), which is as far as its unsent batches reach (older ones are skipped as gone)."""
SEGMENT_CODES: Final = {"unassigned": 0, "pelvis": 1, "thigh": 2, "shank": 3, "foot": 4}


def firmware_dir() -> Path:
    """Where the firmware sources are: $GAITCHAIN_FIRMWARE, else the repository's firmware/."""
    configured = os.environ.get("GAITCHAIN_FIRMWARE")
    path = Path(configured) if configured else Path(__file__).resolve().parents[3] / "firmware"
    if not (path / "pod" / "controller.py").is_file():
        raise FileNotFoundError(
            f"pod firmware not found at {path}; set GAITCHAIN_FIRMWARE to the firmware directory"
        )
    return path


def load_firmware() -> dict[str, ModuleType]:
    """Import the firmware modules (once per process) with the MicroPython stand-ins."""
    for path in (str(SHIM_DIR), str(firmware_dir())):
        if path not in sys.path:
            sys.path.insert(0, path)
    names = (
        "pod.controller",
        "pod.link",
        "pod.bonds",
        "pod.imu.lsm6dsv16x",
        "pod.protocol",
        "pod.steplog",
        "pod.serial_link",
        "bluetooth",
        "nor_flash",
    )
    return {name: importlib.import_module(name) for name in names}


class Battery:
    """A 1-cell LiPo that drains linearly with time at `current_ma` from `capacity_mah`."""

    def __init__(
        self, capacity_mah: float = 300.0, current_ma: float = 40.0, charge: float = 0.9
    ) -> None:
        self.capacity_mah = capacity_mah
        self.current_ma = current_ma
        self.charge = charge
        self.elapsed_s = 0.0

    def level(self) -> float:
        used = self.current_ma * self.elapsed_s / 3600.0 / self.capacity_mah
        return max(0.0, self.charge - used)

    def read(self) -> tuple[int, int]:
        level = self.level()
        return round(100 * level), round(3300 + 900 * level)


class Led:
    def __init__(self) -> None:
        self.level = 0
        self.changes = 0

    def value(self, level: int | None = None) -> int:
        if level is not None and level != self.level:
            self.level = level
            self.changes += 1
        return self.level


@dataclass
class VirtualPodConfig:
    pod_id: int
    segment: str
    side: str
    rate_hz: int = 120
    boot_s: float = 0.0
    clock_ppm: float = 0.0
    step_s: float = 0.005
    stream_orientation: bool = False
    errors: ImuErrors = field(default_factory=ImuErrors)
    log_sectors: int = 0
    """Sectors (4096 bytes) of emulated flash for the step log; 0: no step log. 512 = 2 MB."""
    log_when_disconnected: bool = False
    log_full_policy: str = "stop"
    serial_port: Any = None
    """A byte port (`read(n)` returning at once, `write(buf)`) for the pod's USB serial link."""
    chip_step_s: float = 0.0
    """The chip emulation catches up at most this often (0: every step); larger is faster
    (the walker's kinematics are evaluated per catch-up) and delivers samples in bursts."""
    bonds_path: str | None = None
    """Where the pod keeps its bond keys (`pod/bonds.py`); None keeps none."""
    signal_block_s: float = 0.0
    """Compute the walker's signal this far ahead on the chip's sample grid and serve the chip
    from that block (the same values, far less CPU when the chip catches up in small steps);
    0: compute every catch-up on its own."""


class _ChipBus:
    """The I2C bus between the firmware and its emulated chip. Every transfer first brings the
    chip to the present: with `chip_step_s` > 0 the chip otherwise lags behind the pod by up to
    that long, so a ping would be answered with a stale counter and a configuration would take
    effect in the past. (The firmware reads its FIFO right after the chip's interrupt, when the
    chip is current anyway, so this costs a catch-up only per command or ping.)"""

    def __init__(self, pod: "VirtualPod", chip: Lsm6dsv16xEmulator) -> None:
        self._pod = pod
        self._chip = chip

    def _catch_up(self) -> None:
        if self._pod.chip is self._chip:
            self._pod.catch_up_chip()

    def readfrom_mem_into(
        self, addr: int, memaddr: int, buf: bytearray | memoryview, *, addrsize: int = 8
    ) -> None:
        self._catch_up()
        self._chip.readfrom_mem_into(addr, memaddr, buf, addrsize=addrsize)

    def writeto_mem(
        self, addr: int, memaddr: int, buf: bytes | bytearray | memoryview, *, addrsize: int = 8
    ) -> None:
        self._catch_up()
        self._chip.writeto_mem(addr, memaddr, buf, addrsize=addrsize)


class VirtualPod:
    """`ble` is the BLE stack the firmware runs on: MicroPython's `bluetooth.BLE` API, by default
    the emulated peripheral of `mpshim` (tests play the central), or `BumbleBLE` (a real BLE
    stack on a virtual link, see `gaitchain.link.virtual`)."""

    def __init__(
        self,
        body: Body,
        config: VirtualPodConfig,
        rng: np.random.Generator,
        *,
        ble: Any = None,
    ) -> None:
        self._modules = load_firmware()
        self.config = config
        self.body = body
        self.rng = rng
        spec = PodSpec(config.segment, config.side, float(config.rate_hz), config.clock_ppm)
        self.sensor = PodSensor(body, spec, config.errors, rng)
        self.ble: Any = self._modules["bluetooth"].BLE() if ble is None else ble
        self.battery = Battery()
        self.led = Led()
        self.resets = 0
        self.boots = 0
        self.reset_requested = False
        self.produced_by_boot: dict[int, int] = {}
        """Samples the firmware put into batches, per boot (from 1), for tests to count against."""
        self.recent_batches: deque[tuple[int, int]] = deque(maxlen=RECENT_BATCHES)
        """(seq, samples) of the current boot's newest batches: bounded, so an hours-long demo
        does not keep a record of every batch (40 a second at 25-ms batches)."""
        self.never_sent = 0
        """Samples in batches that had not left the pod when it rebooted (gone with its RAM)."""
        self.now_s = config.boot_s
        self.flash: Any = None
        """The emulated step-log partition (None without `log_sectors`); kept across reboots."""
        self._boot_truth: list[tuple[float, Any, Lsm6dsv16xEmulator]] = []
        self._boot(config.boot_s)

    def _boot(self, boot_s: float) -> None:
        """Power on at true time `boot_s`: a fresh chip (its clock starts at 0) and firmware."""
        config, modules = self.config, self._modules
        self.boot_s = boot_s
        self.chip_s = 0.0
        self.boots += 1
        self._block_t: FloatArray = np.zeros(0)
        self._block_acc: FloatArray = np.zeros((0, 3))
        self._block_gyr: FloatArray = np.zeros((0, 3))
        self.chip = Lsm6dsv16xEmulator(
            self._signal, oscillator_ppm=config.clock_ppm, orientation=self._orientation
        )
        settings = {
            "pod_id": config.pod_id,
            "segment": config.segment,
            "side": config.side,
            "rate_hz": config.rate_hz,
            "acc_range_g": 16,
            "gyr_range_dps": 2000,
            "stream_orientation": config.stream_orientation,
            "log_when_disconnected": config.log_when_disconnected,
            "log_full_policy": config.log_full_policy,
        }
        driver = modules["pod.imu.lsm6dsv16x"].Lsm6dsv16x(_ChipBus(self, self.chip))
        bonds = modules["pod.bonds"].Bonds(config.bonds_path) if config.bonds_path else None
        link = modules["pod.link"].BleLink(self.ble, config.pod_id, bonds)
        boot_id = int(self.rng.integers(1, 2**30))
        steplog: Any = None
        if config.log_sectors:
            if self.flash is None:  # the flash keeps what it holds across reboots
                self.flash = modules["nor_flash"].Partition("steplog", config.log_sectors)
            steplog = modules["pod.steplog"].StepLog(self.flash, boot_id)
        serial: Any = None
        if config.serial_port is not None:
            serial = modules["pod.serial_link"].SerialLink(config.serial_port)
        self.pod: Any = modules["pod.controller"].Pod(
            settings,
            driver,
            link,
            self.battery,
            self.led,
            self._reset,
            self._now_ms,
            boot_id=boot_id,
            steplog=steplog,
            serial=serial,
        )
        self.chip.on_int1_rising = self._interrupt
        firmware_on_batch = self.pod._on_batch
        boot = self.boots

        self.recent_batches.clear()

        def on_batch(message: Any, seq: int) -> None:
            count = int(message[_COUNT_OFFSET])
            self.produced_by_boot[boot] = self.produced_by_boot.get(boot, 0) + count
            self.recent_batches.append((seq, count))
            firmware_on_batch(message, seq)

        self.pod._on_batch = on_batch
        self._boot_truth.append((boot_s, self.pod, self.chip))

    def produced_samples(self, boot: int | None = None) -> int:
        """Samples the firmware put into batches (of one boot, from 1, or of all)."""
        if boot is None:
            return sum(self.produced_by_boot.values())
        return self.produced_by_boot.get(boot, 0)

    def true_time_s(self, t_device_us: FloatArray, boot: int | None = None) -> FloatArray:
        """True time (s, the walker's time base) at which the device clock of `boot` (from 1;
        None: the current one) read `t_device_us`: the firmware's `ChipClock`, microseconds on
        the chip's timestamp counter. Exact for the first 2^32 ticks (25.9 h) of a boot; for
        tests and benchmarks of time alignment."""
        boot_s, pod, chip = self._boot_truth[-1 if boot is None else boot - 1]
        clock = pod.clock
        if not clock.started:
            raise ValueError("the pod's clock has not started (it never streamed or pinged)")
        reference_ticks = clock._lo16 | (clock._hi16 << 16)
        reference_us = (clock._us_hi << 24) + clock._us_lo + clock._remainder / 720
        ticks = reference_ticks + (np.asarray(t_device_us, np.float64) - reference_us) * 720 / 15625
        return boot_s + chip.timestamp_time_s(ticks)

    def reboot(self) -> None:
        """Reset now (as `machine.reset()`): the BLE stack drops its link, the chip and the
        firmware start again; what was not sent is gone."""
        sampler = self.pod.sampler
        if sampler is not None:
            unsent = self.pod.unsent_seq
            self.never_sent += sum(n for seq, n in self.recent_batches if seq >= unsent)
        power_cycle = getattr(self.ble, "power_cycle", None)
        if power_cycle is not None:
            power_cycle()
        elif getattr(self.ble, "conn", None) is not None:
            self.ble.disconnect()
        self._boot(self.now_s)

    def wipe_flash(self) -> None:
        """Erase the whole step-log partition and reboot (a reflash that erased the data
        partition, or `esptool erase_flash`): the log starts again from block 0."""
        if self.flash is None:
            raise ValueError("this virtual pod has no step log (log_sectors = 0)")
        for sector in range(self.config.log_sectors):
            self.flash.ioctl(6, sector)
        self.reboot()

    def _signal(self, t_s: FloatArray) -> tuple[FloatArray, FloatArray]:
        """The chip's physical time starts at power-on: `boot_s` on the true time base."""
        times = np.asarray(t_s, dtype=np.float64)
        if self.config.signal_block_s <= 0 or times.shape[0] == 0:
            return self._measure(times)
        n, cached = times.shape[0], self._block_t
        if (
            n <= cached.shape[0]
            and abs(cached[0] - times[0]) < 1e-7
            and abs(cached[n - 1] - times[-1]) < 1e-7
        ):
            acc, gyr = self._block_acc[:n], self._block_gyr[:n]
        else:  # a new block on the chip's grid, from these times on
            step = float(np.median(np.diff(times))) if n > 1 else 1.0 / self.config.rate_hz
            ahead = max(0, round(self.config.signal_block_s / step))
            cached = np.concatenate([times, times[-1] + step * np.arange(1, ahead + 1)])
            self._block_acc, self._block_gyr = self._measure(cached)
            acc, gyr = self._block_acc[:n], self._block_gyr[:n]
        self._block_t = cached[n:]
        self._block_acc, self._block_gyr = self._block_acc[n:], self._block_gyr[n:]
        return acc, gyr

    def _measure(self, t_s: FloatArray) -> tuple[FloatArray, FloatArray]:
        acc, gyr, _, _ = self.sensor.measure(t_s + self.boot_s)
        return acc, gyr

    def _orientation(self, t_s: FloatArray) -> FloatArray:
        """What the chip's sensor fusion reports: the sensor's true orientation (sensor to ENU)."""
        times = np.asarray(t_s, dtype=np.float64) + self.boot_s
        rotation, _, _, _ = kinematics(
            self.body, self.sensor.spec.body_segment, times, self.sensor.mount, self.sensor.offset
        )
        return Rotation.from_matrix(rotation).as_quat(scalar_first=True)

    def _interrupt(self) -> None:
        """INT1 rose: what main.py's handler does (FIFO watermark or the IMU's sleep change)."""
        sampler = self.pod.sampler
        if sampler is not None:
            sampler.on_interrupt()
        self.pod.imu_event = True

    def _now_ms(self) -> int:
        return int((self.now_s - self.boot_s) * 1000)

    def _reset(self) -> None:
        """The firmware asked for `machine.reset()`: done after the current main-loop pass."""
        self.resets += 1
        self.reset_requested = True

    def catch_up_chip(self) -> None:
        """Bring the chip to the pod's present (samples due by then are produced)."""
        chip_s = self.now_s - self.boot_s
        if chip_s > self.chip_s:
            self.chip.advance_to(chip_s)
            self.chip_s = chip_s

    def advance_to(self, t_s: float) -> None:
        """Run the pod up to true time `t_s` (chip sampling, interrupts, main-loop passes)."""
        step = self.config.step_s
        while self.now_s < t_s - 1e-12:
            self.now_s = min(t_s, self.now_s + step)
            self.battery.elapsed_s = self.now_s - self.boot_s
            chip_s = self.now_s - self.boot_s
            if chip_s - self.chip_s >= self.config.chip_step_s - 1e-12:
                self.chip.advance_to(chip_s)
                self.chip_s = chip_s
            self.pod.service()
            if self.reset_requested:
                self.reset_requested = False
                self.reboot()

    def wake(self, t_s: float) -> None:
        """The firmware's main loop woke (a BLE event) at true time `t_s`: run up to it. A control
        write that woke it arrived at `t_s`: when the pod is behind (a busy host ran it late) it
        catches up without it first, so the firmware does not answer before it was written
        (which would break the clock model's bounds); when no time has passed since the last
        pass, one pass runs for it (the firmware answers on the wake-up, not a period later)."""
        writes: list[Any] = self.pod.link.writes
        if t_s > self.now_s + 1e-12:
            if writes and t_s - self.config.step_s > self.now_s:
                held = writes[:]
                writes.clear()
                self.advance_to(t_s - self.config.step_s)
                writes[:0] = held
            self.advance_to(t_s)
            return
        if not writes:
            return
        self.pod.service()
        if self.reset_requested:
            self.reset_requested = False
            self.reboot()

    @property
    def segment_code(self) -> int:
        return SEGMENT_CODES[self.config.segment]
