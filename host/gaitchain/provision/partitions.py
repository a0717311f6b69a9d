"""The pod's flash layout: MicroPython's 8 MiB partition table with a 2 MiB `steplog` data partition
carved from the end of its filesystem, and the binary table esptool writes at 0x8000.

The step log (`firmware/pod/steplog.py`) lives on that raw partition, found by label with
`esp32.Partition.find`, not in a file, so it needs no filesystem and survives reformatting one.
The binary format is ESP-IDF's: 32-byte entries (magic 0xAA50, type, subtype, offset, size,
16-byte label, flags), then an MD5 entry over them, padded with 0xFF to 0xC00 bytes.
"""

import hashlib
import struct
from dataclasses import dataclass
from typing import Final

TABLE_OFFSET: Final = 0x8000
TABLE_BYTES: Final = 0xC00
STEPLOG_LABEL: Final = "steplog"
STEPLOG_BYTES: Final = 0x200000
"""2 MiB: 14 days of 20,000 steps a day at 6 bytes per step, with room to spare."""
_ENTRY: Final = struct.Struct("<2sBBLL16sL")
_MAGIC: Final = b"\xaa\x50"
_MD5_MAGIC: Final = b"\xeb\xeb"
TYPE_APP: Final = 0x00
TYPE_DATA: Final = 0x01


@dataclass(frozen=True)
class Partition:
    label: str
    type: int
    subtype: int
    offset: int
    size: int


LAYOUT_8MIB: Final = (
    Partition("nvs", TYPE_DATA, 0x02, 0x9000, 0x6000),
    Partition("phy_init", TYPE_DATA, 0x01, 0xF000, 0x1000),
    Partition("factory", TYPE_APP, 0x00, 0x10000, 0x300000),
    Partition("vfs", TYPE_DATA, 0x81, 0x310000, 0x2F0000),
    Partition(STEPLOG_LABEL, TYPE_DATA, 0x06, 0x600000, STEPLOG_BYTES),
)
"""MicroPython's partitions-8MiB.csv (nvs, phy_init, a 3 MiB app, then the filesystem) with the
filesystem shortened by 2 MiB for the step log; ends at 8 MiB."""


def table_bytes(layout: tuple[Partition, ...] = LAYOUT_8MIB) -> bytes:
    """The binary partition table for `layout`, as esptool writes it at TABLE_OFFSET."""
    end = 0
    entries = b""
    for p in sorted(layout, key=lambda p: p.offset):
        if p.offset < end or p.offset % 0x1000 or len(p.label.encode()) > 16:
            raise ValueError(f"partition {p.label} overlaps, is not 4 KiB aligned or is misnamed")
        end = p.offset + p.size
        entries += _ENTRY.pack(
            _MAGIC, p.type, p.subtype, p.offset, p.size, p.label.encode().ljust(16, b"\0"), 0
        )
    entries += _MD5_MAGIC + b"\xff" * 14 + hashlib.md5(entries).digest()
    return entries.ljust(TABLE_BYTES, b"\xff")


def parse_table(data: bytes) -> list[Partition]:
    """The partitions of a binary table; ValueError if its MD5 does not match."""
    partitions: list[Partition] = []
    for start in range(0, len(data) - _ENTRY.size + 1, _ENTRY.size):
        entry = data[start : start + _ENTRY.size]
        if entry[:2] == _MD5_MAGIC:
            if entry[16:] != hashlib.md5(data[:start]).digest():
                raise ValueError("partition table MD5 does not match its entries")
            return partitions
        if entry[:2] != _MAGIC:
            break
        _magic, kind, subtype, offset, size, label, _flags = _ENTRY.unpack(entry)
        partitions.append(Partition(label.rstrip(b"\0").decode(), kind, subtype, offset, size))
    raise ValueError("partition table has no MD5 entry")


def app_partition_bytes(layout: tuple[Partition, ...] = LAYOUT_8MIB) -> int:
    return next(p.size for p in layout if p.type == TYPE_APP)


def filesystem_bytes(layout: tuple[Partition, ...] = LAYOUT_8MIB) -> int:
    return next(p.size for p in layout if p.label == "vfs")
