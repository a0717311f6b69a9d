"""The compiled firmware fits every supported board's filesystem, which is what is left of the
flash after MicroPython and the 2 MiB step-log partition (figures: benchmarks/provision_bench.py,
benchmarks/RESULTS.md)."""

import json

import pytest
from gaitchain.provision import build_firmware, load_boards
from gaitchain.provision.build import (
    BLOCK_BYTES,
    FirmwareFile,
    blocks,
    directories,
    footprint_bytes,
    free_after_install,
    mpy_abi,
)
from gaitchain.provision.partitions import (
    LAYOUT_8MIB,
    STEPLOG_BYTES,
    app_partition_bytes,
    filesystem_bytes,
    parse_table,
    table_bytes,
)
from gaitchain.provision.podconfig import defaults, text


@pytest.fixture(scope="module")
def compiled() -> list[FirmwareFile]:
    return build_firmware()


def test_every_pod_module_is_compiled_for_the_esp32_s3(compiled: list[FirmwareFile]) -> None:
    paths = {f.device_path for f in compiled}
    assert "/main.py" in paths
    assert {"/pod/controller.mpy", "/pod/board.mpy", "/pod/imu/lsm6dsv16x.mpy"} <= paths
    for f in compiled:
        if f.device_path.endswith(".mpy"):
            version, _sub, arch = mpy_abi(f.data)
            assert version == 6 and arch in (0, 10), f.device_path  # bytecode or xtensawin


def test_firmware_leaves_room_for_the_step_log_on_every_board(
    compiled: list[FirmwareFile],
) -> None:
    for spec in load_boards().values():
        extra = [
            FirmwareFile("/board.json", json.dumps(spec.board_file(), indent=1).encode()),
            FirmwareFile("/config.json", text(defaults())),
        ]
        free = free_after_install(compiled + extra, spec.filesystem_bytes)
        assert free >= 2 * 1024 * 1024, (spec.key, free)  # room for calibration and growth
    assert footprint_bytes(compiled) < 256 * 1024  # a budget for the firmware itself


def test_footprint_counts_blocks_and_directories() -> None:
    files = [FirmwareFile("/a.py", b"x"), FirmwareFile("/pod/b.mpy", bytes(BLOCK_BYTES + 1))]
    assert directories([f.device_path for f in files]) == ["/pod"]
    assert footprint_bytes(files) == (1 + 2 + 2) * BLOCK_BYTES
    assert blocks(0) == 1 and blocks(BLOCK_BYTES) == 1 and blocks(BLOCK_BYTES + 1) == 2
    with pytest.raises(ValueError, match=r"not a \.mpy"):
        mpy_abi(b"print(1)")


def test_partition_table_has_the_step_log_and_matches_boards_json() -> None:
    table = table_bytes()
    assert len(table) == 0xC00
    assert parse_table(table) == sorted(LAYOUT_8MIB, key=lambda p: p.offset)
    steplog = next(p for p in LAYOUT_8MIB if p.label == "steplog")
    assert (steplog.size, steplog.type) == (STEPLOG_BYTES, 1)
    end = max(p.offset + p.size for p in LAYOUT_8MIB)
    for spec in load_boards().values():
        assert end <= spec.flash_bytes, spec.key
        assert spec.filesystem_bytes == filesystem_bytes(), spec.key
    assert app_partition_bytes() == 0x300000  # as MicroPython's partitions-8MiB.csv
    damaged = bytearray(table)
    damaged[40] ^= 1
    with pytest.raises(ValueError, match="MD5"):
        parse_table(bytes(damaged))


def test_overlapping_partitions_are_refused() -> None:
    first, *rest = LAYOUT_8MIB
    overlapping = (first, *rest, type(first)("extra", 1, 6, first.offset + 0x1000, 0x1000))
    with pytest.raises(ValueError, match="overlaps"):
        table_bytes(overlapping)
