"""What `gaitchain pod flash` puts on a pod's flash, per supported board, and what is left.

    .venv/bin/python benchmarks/provision_bench.py

Compiles the firmware as provisioning does (mpy-cross -march=xtensawin) and compares it in the same
run with the peer, copying the `.py` sources as they are (what `mpremote cp` of the tree would do):
bytes, LittleFS blocks (4 KiB, at least one per file, a metadata pair per directory), and for each
board of hardware/boards.json the flash layout (app, 2 MiB step-log partition, filesystem) and the
free space after the firmware, the pin map and the config.
"""

import json

from gaitchain.provision import build_firmware, load_boards
from gaitchain.provision.build import (
    FIRMWARE_DIR,
    FirmwareFile,
    footprint_bytes,
    free_after_install,
)
from gaitchain.provision.partitions import STEPLOG_BYTES, app_partition_bytes
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
        verdict = "fits" if free >= 0 else "DOES NOT FIT"
        print(
            f"{key}: flash {spec.flash_bytes / MIB:.0f} MiB: app {app_partition_bytes() / MIB:.0f}"
            f" MiB, step log {STEPLOG_BYTES / MIB:.0f} MiB, filesystem "
            f"{spec.filesystem_bytes / MIB:.2f} MiB; firmware+pins+config {installed / 1024:.0f} "
            f"KiB, free after it {free / MIB:.2f} MiB: {verdict}"
        )


if __name__ == "__main__":
    main()
