"""Pod boot: load the config, build the objects, run the main loop.

Only this file touches the hardware; the `pod` modules do nothing when imported.
"""

import asyncio
import random
import select
import sys
import time

import bluetooth
import machine
import micropython
from pod import board, config
from pod.bonds import Bonds
from pod.controller import Pod
from pod.imu.lsm6dsv16x import Lsm6dsv16x
from pod.link import BleLink
from pod.serial_link import SerialLink
from pod.steplog import POLICY_OVERWRITE, StepLog

_LOG_PARTITION = "steplog"

_LOOP_TIMEOUT_MS = 50
_CPU_HZ = 160_000_000


class Uptime:
    """Milliseconds since boot that keep counting past the wrap of `time.ticks_ms`."""

    def __init__(self) -> None:
        self._last = time.ticks_ms()
        self._total = 0

    def __call__(self) -> int:
        now = time.ticks_ms()
        self._total += time.ticks_diff(now, self._last)
        self._last = now
        return self._total


class UsbPort:
    """USB CDC (the REPL's port) as a byte port that never blocks on read: the serial link's
    frames replace the REPL, so Ctrl-C is turned off while the pod runs."""

    def __init__(self) -> None:
        micropython.kbd_intr(-1)
        self._in = sys.stdin.buffer  # pyright: ignore[reportAttributeAccessIssue]
        self._out = sys.stdout.buffer  # pyright: ignore[reportAttributeAccessIssue]
        self._poll = select.poll()
        self._poll.register(sys.stdin, select.POLLIN)

    def read(self, n: int) -> "bytes | None":
        got = b""
        while len(got) < n and self._poll.poll(0):
            got += self._in.read(1)
        return got

    def write(self, data: object) -> int:
        return self._out.write(data)  # pyright: ignore[reportCallIssue, reportArgumentType]


def open_steplog(boot_id: int, policy: str) -> "StepLog | None":
    """The step log on the `steplog` data partition, or None when the board has none."""
    import esp32  # noqa: PLC0415 (only on the chip: importing main elsewhere must work)

    found = esp32.Partition.find(esp32.Partition.TYPE_DATA, label=_LOG_PARTITION)
    if not found:
        return None
    return StepLog(found[0], boot_id, POLICY_OVERWRITE if policy == "overwrite" else 0)


async def run(pod: Pod, wake: asyncio.ThreadSafeFlag) -> None:
    while True:
        try:
            await asyncio.wait_for_ms(wake.wait(), _LOOP_TIMEOUT_MS)
        except asyncio.TimeoutError:
            pass
        pod.service()
        pod.rest()  # logging with no host: light sleep until the next FIFO read or INT1


def main() -> None:
    import esp32  # noqa: PLC0415 (only on the chip: importing main elsewhere must work)

    machine.freq(_CPU_HZ)  # the power budget's clock (hardware/power-budget.md)
    settings, defaulted, _problems = config.load()
    pin, pins_defaulted, _pin_problems = board.load(settings["board"])
    i2c = machine.I2C(0, sda=machine.Pin(pin["sda"]), scl=machine.Pin(pin["scl"]), freq=400000)
    imu = Lsm6dsv16x(i2c)
    link = BleLink(bluetooth.BLE(), settings["pod_id"], Bonds())
    battery = board.Battery(machine.ADC(machine.Pin(pin["vbat"])))
    led = board.Led(machine.Pin(pin["led"], machine.Pin.OUT), pin["led_active_low"])
    boot_id = random.getrandbits(30)
    pod = Pod(
        settings,
        imu,
        link,
        battery,
        led,
        machine.reset,
        Uptime(),
        boot_id=boot_id,
        config_defaulted=defaulted or pins_defaulted,
        config_saver=config.save,
        steplog=open_steplog(boot_id, settings["log_full_policy"]),
        serial=SerialLink(UsbPort()),
        sleep=machine.lightsleep,
    )
    wake = asyncio.ThreadSafeFlag()

    def on_fifo(_pin: object) -> None:
        if pod.sampler is not None:
            pod.sampler.pending = True
        pod.imu_event = True  # while logging: the IMU's sleep state may have changed
        wake.set()

    int1 = machine.Pin(pin["int1"], machine.Pin.IN)
    int1.irq(on_fifo, machine.Pin.IRQ_RISING)
    esp32.wake_on_ext0(int1, esp32.WAKEUP_ANY_HIGH)  # INT1 ends light sleep too
    asyncio.run(run(pod, wake))


if __name__ == "__main__":
    main()
