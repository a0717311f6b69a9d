"""Pod provisioning: install MicroPython, the compiled firmware, the pin map and the config.

`boards` reads `hardware/boards.json`; `build` compiles the firmware to `.mpy`; `podconfig` checks
config keys as the firmware does; `device` talks to a pod's raw REPL through mpremote; `podstate`
reads what a pod holds; `flasher` writes MicroPython with esptool; `provision` decides what to do
and does it.
"""

from .boards import BoardSpec, load_boards
from .build import FirmwareFile, build_firmware
from .device import Device, ProvisionError, open_device
from .podstate import PodInfo, read_config, read_info
from .provision import FlashReport, flash_pod, set_config

__all__ = [
    "BoardSpec",
    "Device",
    "FirmwareFile",
    "FlashReport",
    "PodInfo",
    "ProvisionError",
    "build_firmware",
    "flash_pod",
    "load_boards",
    "open_device",
    "read_config",
    "read_info",
    "set_config",
]
