"""Pod boot: load the config, build the objects, run the main loop.

Only this file touches the hardware; the `pod` modules do nothing when imported.
"""

import asyncio
import random
import time

import bluetooth
import machine
from pod import board, config
from pod.bonds import Bonds
from pod.controller import Pod
from pod.imu.lsm6dsv16x import Lsm6dsv16x
from pod.link import BleLink

_LOOP_TIMEOUT_MS = 50


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


async def run(pod: Pod, wake: asyncio.ThreadSafeFlag) -> None:
    while True:
        try:
            await asyncio.wait_for_ms(wake.wait(), _LOOP_TIMEOUT_MS)
        except asyncio.TimeoutError:
            pass
        pod.service()


def main() -> None:
    settings, defaulted, _problems = config.load()
    pin = board.pins(settings["board"])
    i2c = machine.I2C(0, sda=machine.Pin(pin["sda"]), scl=machine.Pin(pin["scl"]), freq=400000)
    imu = Lsm6dsv16x(i2c)
    link = BleLink(bluetooth.BLE(), settings["pod_id"], Bonds())
    battery = board.Battery(machine.ADC(machine.Pin(pin["vbat"])))
    led = machine.Pin(pin["led"], machine.Pin.OUT)
    pod = Pod(
        settings,
        imu,
        link,
        battery,
        led,
        machine.reset,
        Uptime(),
        boot_id=random.getrandbits(30),
        config_defaulted=defaulted,
        config_saver=config.save,
    )
    wake = asyncio.ThreadSafeFlag()

    def on_fifo(_pin: object) -> None:
        if pod.sampler is not None:
            pod.sampler.pending = True
        wake.set()

    machine.Pin(pin["int1"], machine.Pin.IN).irq(on_fifo, machine.Pin.IRQ_RISING)
    asyncio.run(run(pod, wake))


if __name__ == "__main__":
    main()
