"""Stand-in for MicroPython's `machine` module in firmware tests, under CPython and MicroPython.

Only what pod firmware uses: `I2C` with the memory API and `Pin` with `value` and `irq`. Like the
hardware, pins and buses are named by id: every `Pin(4)` is the same pin and every `I2C(0)` the
same bus, whichever object a test or the firmware made.

Test hooks (not in the real module):
- `I2C.attach(device, address=None)` puts a device on the bus at `address` (default
  `device.address`). A device answers `readfrom_mem_into(addr, memaddr, buf)` and
  `writeto_mem(addr, memaddr, buf)` as the chip does, e.g. `fakes/fake_lsm6dsv16x.py` or, under
  CPython, `gaitchain.sim.lsm6dsv16x.Lsm6dsv16xEmulator`. An address with no device raises
  OSError(ENODEV), as the ESP32 port does when nothing acknowledges.
- `Pin.value(level)` is the outside world (or the firmware, for an output) driving the pin; a
  change of level calls the handler given to `irq` for that edge at once, with the pin, where
  MicroPython would schedule it.
- `clear()` forgets every device, level and handler: call it first in each test. (The real
  `machine.reset()`, a reboot, is deliberately absent.)

Bus reads and writes with the default `addrsize`, and `Pin.value`, allocate nothing, so a test can
run them under `micropython.heap_lock()`. That is why `addrsize` is not keyword-only here (under
MicroPython a keyword-only parameter with a default costs an allocation per call) and why it is
passed on to the device only when it is not 8.
"""

import errno

_buses = {}  # bus id -> {address: device}
_levels = {}  # pin id -> 0 or 1
_handlers = {}  # pin id -> (handler, trigger)


def clear() -> None:
    _buses.clear()
    _levels.clear()
    _handlers.clear()


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 2
    PULL_DOWN = 1
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, id, mode=-1, pull=-1, *, value=None) -> None:
        self.id = id
        self.mode = mode
        self.pull = pull
        if id not in _levels:
            _levels[id] = 0
        if value is not None:
            self.value(value)

    def value(self, x=None):
        if x is None:
            return _levels[self.id]
        level = 1 if x else 0
        if level == _levels[self.id]:
            return None
        _levels[self.id] = level
        entry = _handlers.get(self.id)
        if entry is not None:
            handler, trigger = entry
            if trigger & (Pin.IRQ_RISING if level else Pin.IRQ_FALLING):
                handler(self)
        return None

    def on(self) -> None:
        self.value(1)

    def off(self) -> None:
        self.value(0)

    def irq(self, handler=None, trigger=3, *, priority=1, wake=None, hard=False) -> None:
        """Call handler(pin) on the edges in `trigger`; handler None removes it."""
        if handler is None:
            _handlers.pop(self.id, None)
        else:
            _handlers[self.id] = (handler, trigger)

    def __repr__(self) -> str:
        return "Pin(%r)" % (self.id,)


class I2C:
    def __init__(self, id=0, *, scl=None, sda=None, freq=400_000, timeout=50_000) -> None:
        self.id = id
        self.freq = freq
        if id not in _buses:
            _buses[id] = {}
        self._devices = _buses[id]

    def attach(self, device, address=None) -> None:
        self._devices[device.address if address is None else address] = device

    def detach(self, address) -> None:
        self._devices.pop(address, None)

    def scan(self) -> list:
        return sorted(self._devices)

    def _device(self, addr):
        device = self._devices.get(addr)
        if device is None:
            raise OSError(errno.ENODEV)
        return device

    def readfrom_mem_into(self, addr, memaddr, buf, addrsize=8) -> None:
        device = self._device(addr)
        if addrsize == 8:
            device.readfrom_mem_into(addr, memaddr, buf)
        else:
            device.readfrom_mem_into(addr, memaddr, buf, addrsize=addrsize)

    def readfrom_mem(self, addr, memaddr, nbytes, addrsize=8) -> bytes:
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf, addrsize=addrsize)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, addrsize=8) -> None:
        device = self._device(addr)
        if addrsize == 8:
            device.writeto_mem(addr, memaddr, buf)
        else:
            device.writeto_mem(addr, memaddr, buf, addrsize=addrsize)
