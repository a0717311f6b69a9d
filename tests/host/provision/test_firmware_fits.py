"""The compiled firmware fits every supported board's filesystem with 2 MiB left for the step log
(figures: benchmarks/provision_bench.py, benchmarks/RESULTS.md)."""

import json

import pytest
from gaitchain.provision import build_firmware, load_boards
from gaitchain.provision.build import (
    BLOCK_BYTES,
    STEP_LOG_RESERVE_BYTES,
    FirmwareFile,
    blocks,
    directories,
    footprint_bytes,
    free_after_install,
    mpy_abi,
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
        assert free >= STEP_LOG_RESERVE_BYTES + 1024 * 1024, (spec.key, free)
    assert footprint_bytes(compiled) < 256 * 1024  # a budget for the firmware itself


def test_footprint_counts_blocks_and_directories() -> None:
    files = [FirmwareFile("/a.py", b"x"), FirmwareFile("/pod/b.mpy", bytes(BLOCK_BYTES + 1))]
    assert directories([f.device_path for f in files]) == ["/pod"]
    assert footprint_bytes(files) == (1 + 2 + 2) * BLOCK_BYTES
    assert blocks(0) == 1 and blocks(BLOCK_BYTES) == 1 and blocks(BLOCK_BYTES + 1) == 2
    with pytest.raises(ValueError, match=r"not a \.mpy"):
        mpy_abi(b"print(1)")
