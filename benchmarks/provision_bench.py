"""What `gaitchain pod flash` puts on a pod's flash, per supported board, and what is left.

    .venv/bin/python benchmarks/provision_bench.py

Compiles the firmware as provisioning does (mpy-cross -march=xtensawin) and compares it in the same
run with the peer, copying the `.py` sources as they are (what `mpremote cp` of the tree would do):
bytes, LittleFS blocks (4 KiB, at least one per file, a metadata pair per directory), and for each
board of hardware/boards.json the free space after the firmware, the pin map and the config,
against the 2 MiB step-log reserve.
"""

import json

from gaitchain.provision import build_firmware, load_boards
from gaitchain.provision.build import (
    FIRMWARE_DIR,
    STEP_LOG_RESERVE_BYTES,
    FirmwareFile,
    footprint_bytes,
    free_after_install,
)
from gaitchain.provision.podconfig import defaults, text

MIB = 1024 * 1024


def sources() -> list[FirmwareFile]:
    return [
        FirmwareFile("/" + p.relative_to(FIRMWARE_DIR).as_posix(), p.read_bytes())
        for p in sorted(FIRMWARE_DIR.rglob("*.py"))
    ]


def main() -> None:
    compiled = build_firmware()
    peer = sources()
    print(f"firmware files: {len(compiled)} ({len(compiled) - 1} modules as .mpy + main.py)")
    print(f"{'':24s}{'bytes':>10s}{'on flash':>12s}")
    for name, files in (("compiled (.mpy)", compiled), ("sources (.py, peer)", peer)):
        raw = sum(len(f.data) for f in files)
        print(f"  {name:22s}{raw:10,d}{footprint_bytes(files) / 1024:9.0f} KiB")

    for key, spec in load_boards().items():
        extra = [
            FirmwareFile("/board.json", json.dumps(spec.board_file(), indent=1).encode()),
            FirmwareFile("/config.json", text(defaults())),
        ]
        installed = footprint_bytes(compiled + extra)
        free = free_after_install(compiled + extra, spec.filesystem_bytes)
        left = free - STEP_LOG_RESERVE_BYTES
        verdict = "fits" if left >= 0 else "DOES NOT FIT"
        print(
            f"{key}: filesystem {spec.filesystem_bytes / MIB:.2f} MiB, firmware+pins+config "
            f"{installed / 1024:.0f} KiB, free {free / MIB:.2f} MiB, after the "
            f"{STEP_LOG_RESERVE_BYTES / MIB:.0f} MiB step log {left / MIB:.2f} MiB: {verdict}"
        )


if __name__ == "__main__":
    main()
