"""Provisioning against a pretend pod on a pseudo-terminal (mpremote's real serial transport and
raw-REPL protocol), with esptool replaced by a recording runner."""

import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from fakeboard import FakeBoard
from gaitchain.provision import build_firmware, load_boards
from gaitchain.provision.build import blocks
from gaitchain.provision.device import NoMicroPythonError, ProvisionError, open_device
from gaitchain.provision.flasher import RunResult, check_image, esptool_commands, run_subprocess
from gaitchain.provision.partitions import STEPLOG_BYTES, parse_table
from gaitchain.provision.provision import (
    FS_SPARE_BYTES,
    FlashReport,
    flash_pod,
    needs_micropython,
)

BOARDS = load_boards()


@pytest.fixture(scope="module")
def firmware() -> dict[str, bytes]:
    return {f.device_path: f.data for f in build_firmware()}


class Esptool:
    """Stands in for esptool: records each call and answers as told."""

    def __init__(
        self, board: FakeBoard | None = None, returncode: int = 0, output: str = ""
    ) -> None:
        self.board = board
        self.returncode = returncode
        self.output = output
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> RunResult:
        self.calls.append(list(argv))
        if self.returncode != 0 or self.board is None:
            return RunResult(self.returncode, self.output)
        if "erase-flash" in argv:
            self.board.fs.files.clear()
            self.board.micropython = False
            self.board.steplog_bytes = 0
        elif argv[-2] == "0":  # the image: the chip now boots MicroPython
            self.board.micropython = True
            self.board.mpy = 6 | (3 << 8) | (10 << 10)
        elif argv[-2] == "0x8000":  # the partition table, as written
            table = parse_table(Path(argv[-1]).read_bytes())
            self.board.steplog_bytes = next(p.size for p in table if p.label == "steplog")
        return RunResult(self.returncode, self.output)


def _image(tmp_path: Path, chip_id: int = 9) -> Path:
    header = bytes([0xE9, 3, 2, 0x4F, 0, 0, 0, 0, 0xEE, 0, 0, 0]) + chip_id.to_bytes(2, "little")
    image = tmp_path / "ESP32_GENERIC_S3-SPIRAM_OCT.bin"
    image.write_bytes(header + bytes(64))
    return image


def _flash(fake: FakeBoard, **options: object) -> FlashReport:
    settings: dict[str, object] = {
        "board": "xiao-esp32s3",
        "runner": Esptool(),
        "sleep": lambda _s: None,
        "repl_timeout_s": 0.5,
    }
    settings.update(options)
    segment = str(settings.pop("segment", "shank"))
    side = str(settings.pop("side", "left"))
    return flash_pod(fake.port, segment, side, **settings)  # type: ignore[arg-type]


def _config(board: FakeBoard) -> dict[str, object]:
    return json.loads(bytes(board.fs.files["/config.json"]))


def test_flash_installs_compiled_firmware_pin_map_and_config(
    firmware: dict[str, bytes],
) -> None:
    runner = Esptool()
    with FakeBoard() as board:
        report = _flash(board, runner=runner)
        files = {path: bytes(data) for path, data in board.fs.files.items()}
    assert runner.calls == []  # MicroPython was there: esptool never runs
    assert not report.flashed_micropython
    for path, data in firmware.items():
        assert files[path] == data, path
    assert "/pod/controller.mpy" in files and "/pod/imu/lsm6dsv16x.mpy" in files
    assert not [p for p in files if p.startswith("/pod/") and p.endswith(".py")]
    assert json.loads(files["/board.json"]) == BOARDS["xiao-esp32s3"].board_file()
    config = json.loads(files["/config.json"])
    assert (config["segment"], config["side"], config["board"]) == ("shank", "left", "xiao-esp32s3")
    assert config["pod_id"] == 0x02AB  # the last two bytes of the chip's unique id
    assert config["rate_hz"] == 120
    assert "/config.json.tmp" not in files
    assert report.free_after_bytes >= FS_SPARE_BYTES
    assert report.written["/config.json"] == len(files["/config.json"])


def test_flash_keeps_other_files_and_config_values(firmware: dict[str, bytes]) -> None:
    with FakeBoard() as board:
        board.fs.dirs.add("/pod")
        board.fs.files["/notes.txt"] = bytearray(b"keep me")
        board.fs.files["/pod/clock.py"] = bytearray(b"# an old source copy")
        board.fs.files["/config.json"] = bytearray(
            json.dumps({"pod_id": 0x0102, "rate_hz": 480, "segment": "foot"}).encode()
        )
        report = _flash(board, segment="shank", side="right")
        files = {path: bytes(data) for path, data in board.fs.files.items()}
    assert files["/notes.txt"] == b"keep me"
    assert "/pod/clock.py" not in files and files["/pod/clock.mpy"] == firmware["/pod/clock.mpy"]
    assert report.removed == ["/pod/clock.py"]
    config = json.loads(files["/config.json"])
    assert (config["pod_id"], config["rate_hz"], config["side"]) == (0x0102, 480, "right")


def test_pod_id_option_wins() -> None:
    with FakeBoard() as board:
        _flash(board, pod_id=7, segment="pelvis", side="center")
        assert _config(board)["pod_id"] == 7


def test_no_micropython_and_no_image_says_what_to_download() -> None:
    with FakeBoard(micropython=False) as board:
        with pytest.raises(ProvisionError, match=r"--micropython FILE\.bin") as error:
            _flash(board)
        assert board.fs.files == {}
    assert "micropython.org/download/ESP32_GENERIC_S3" in str(error.value)


def test_no_micropython_is_flashed_with_esptool_then_provisioned(tmp_path: Path) -> None:
    image = _image(tmp_path)
    with FakeBoard(micropython=False) as board:
        runner = Esptool(board)
        report = _flash(board, runner=runner, image=image)
        assert "/pod/sampler.mpy" in board.fs.files
        assert _config(board)["segment"] == "shank"
    assert report.flashed_micropython
    erase, write, table = runner.calls
    assert erase[-1] == "erase-flash"
    assert erase[erase.index("--chip") + 1] == "esp32s3"
    assert erase[erase.index("--port") + 1] == board.port
    assert write[-3:] == ["write-flash", "0", str(image)]
    assert table[-3:-1] == ["write-flash", "0x8000"]
    assert runner.calls == esptool_commands(board.port, image, Path(table[-1]))
    assert board.steplog_bytes == STEPLOG_BYTES  # from the table esptool was given


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (
            "A fatal error occurred: This chip is ESP32, not ESP32-S3. Wrong --chip argument?",
            "not an ESP32-S3",
        ),
        ("Failed to connect to ESP32-S3: No serial data received.", "hold BOOT"),
        ("A fatal error occurred: Packet content transfer stopped", "exit 2"),
    ],
)
def test_esptool_failures_say_what_happened(tmp_path: Path, output: str, expected: str) -> None:
    with FakeBoard(micropython=False) as board:
        runner = Esptool(board, returncode=2, output=output)
        with pytest.raises(ProvisionError, match=expected):
            _flash(board, runner=runner, image=_image(tmp_path))
        assert len(runner.calls) == 1  # stopped at the erase step, which also checks the chip
        assert board.fs.files == {}


def test_micropython_on_another_chip_is_refused_before_writing() -> None:
    with FakeBoard(machine="Generic ESP32 module with ESP32") as board:
        with pytest.raises(
            ProvisionError, match="'Generic ESP32 module with ESP32', not an ESP32-S3"
        ):
            _flash(board)
        assert board.fs.files == {}


def test_a_micropython_that_cannot_load_the_firmware_needs_reflash(tmp_path: Path) -> None:
    old_mpy = 5 | (10 << 10)
    with FakeBoard(mpy=old_mpy) as board:
        board.fs.files["/notes.txt"] = bytearray(b"notes")
        with pytest.raises(ProvisionError, match="--reflash") as error:
            _flash(board, image=_image(tmp_path))
        assert "step log" in str(error.value)
        assert board.fs.files["/notes.txt"] == b"notes"  # nothing erased without --reflash
        runner = Esptool(board)
        report = _flash(board, image=_image(tmp_path), reflash=True, runner=runner)
    assert report.flashed_micropython and len(runner.calls) == 3


def test_a_pod_without_the_step_log_partition_needs_reflash(tmp_path: Path) -> None:
    with FakeBoard(steplog_bytes=0) as board:  # MicroPython's own partition table
        with pytest.raises(ProvisionError, match="no 2 MiB 'steplog' partition"):
            _flash(board, image=_image(tmp_path))
        assert board.fs.files == {}
        _flash(board, image=_image(tmp_path), reflash=True, runner=Esptool(board))
        assert board.steplog_bytes == STEPLOG_BYTES and "/main.py" in board.fs.files


def test_a_full_filesystem_is_refused_before_anything_is_written(
    firmware: dict[str, bytes],
) -> None:
    firmware_blocks = sum(blocks(len(d)) for d in firmware.values())
    too_small = 2 + firmware_blocks + blocks(FS_SPARE_BYTES)  # no room for dirs, config, pins
    with FakeBoard(total_blocks=too_small) as board:
        with pytest.raises(ProvisionError, match="Nothing was written") as error:
            _flash(board)
        assert board.fs.files == {} and board.fs.dirs == {"/"}
    assert "KiB free" in str(error.value)
    enough = too_small + 2 * 2 + 2  # two directories and two small files
    with FakeBoard(total_blocks=enough) as board:
        _flash(board)
        assert "/config.json" in board.fs.files


def test_a_missing_port_is_a_clear_error() -> None:
    with pytest.raises(ProvisionError, match="no serial device at /dev/ttyGAITCHAIN9"):
        flash_pod("/dev/ttyGAITCHAIN9", "shank", "left", board="xiao-esp32s3")


def test_open_device_times_out_on_a_silent_board() -> None:
    with FakeBoard(micropython=False) as board, pytest.raises(NoMicroPythonError):
        open_device(board.port, 0.3)


def test_bad_board_segment_and_image_are_value_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="known: "):
        flash_pod("/dev/null", "shank", "left", board="arduino-uno")
    with FakeBoard() as board:
        with pytest.raises(ValueError, match="segment must be one of"):
            _flash(board, segment="knee")
        assert board.fs.files == {}
    with pytest.raises(ValueError, match="not built for the ESP32-S3"):
        check_image(_image(tmp_path, chip_id=0))
    app_only = tmp_path / "app.bin"
    app_only.write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="start with 0xE9"):
        check_image(app_only)
    with pytest.raises(ValueError, match="does not exist"):
        check_image(tmp_path / "missing.bin")


def test_flash_works_over_the_plain_raw_repl(firmware: dict[str, bytes]) -> None:
    with FakeBoard(raw_paste=False) as board:  # boards whose MicroPython lacks raw-paste mode
        _flash(board)
        files = {path: bytes(data) for path, data in board.fs.files.items()}
    for path, data in firmware.items():
        assert files[path] == data, path


def test_filling_up_midway_keeps_the_old_config_and_other_files() -> None:
    old_config = json.dumps({"pod_id": 9, "segment": "foot", "side": "left"}).encode()
    with FakeBoard(total_blocks=12, statvfs_overstates_blocks=1000) as board:
        board.fs.files["/notes.txt"] = bytearray(b"notes")
        board.fs.files["/config.json"] = bytearray(old_config)
        with pytest.raises(ProvisionError, match="filled up while writing /pod/"):
            _flash(board)
        assert board.fs.files["/notes.txt"] == b"notes"
        assert board.fs.files["/config.json"] == old_config
        assert "/board.json" not in board.fs.files


def test_the_installed_esptool_knows_the_commands_provisioning_runs(tmp_path: Path) -> None:
    # --help parses the same global options and subcommand without touching a port.
    for argv in esptool_commands("/dev/null", _image(tmp_path), tmp_path / "table.bin"):
        command = argv.index("erase-flash") if "erase-flash" in argv else argv.index("write-flash")
        done = run_subprocess([*argv[: command + 1], "--help"])
        assert done.returncode == 0, done.output
        assert "Usage: python -m esptool " + argv[command] in done.output


S3 = "Seeed XIAO ESP32S3 with ESP32-S3-FN8"


@pytest.mark.parametrize(
    ("found", "image", "reflash", "expected"),
    [
        (None, True, False, True),  # blank chip, image given: flash
        (None, False, False, "--micropython FILE.bin"),
        ((S3, ""), False, False, False),  # MicroPython that runs the firmware: keep it
        ((S3, ""), True, True, False),  # even with --reflash: nothing to gain, the log stays
        (("Generic ESP32S3 module with ESP32-S3", ""), False, False, False),
        (("Generic ESP32 module with ESP32", ""), True, True, "not an ESP32-S3"),
        (("Raspberry Pi Pico with RP2040", ""), False, False, "not an ESP32-S3"),
        ((S3, "mpy version 5"), True, False, "--reflash"),
        ((S3, "mpy version 5"), False, True, "--reflash"),
        ((S3, "mpy version 5"), True, True, True),
    ],
)
def test_when_micropython_is_written(
    found: tuple[str, str] | None, image: bool, reflash: bool, expected: bool | str
) -> None:
    path = Path("micropython.bin") if image else None
    if isinstance(expected, bool):
        assert needs_micropython("/dev/ttyACM0", found, path, reflash) is expected
    else:
        with pytest.raises(ProvisionError, match=re.escape(expected)):
            needs_micropython("/dev/ttyACM0", found, path, reflash)


def test_the_board_comes_from_micropython_and_a_mismatch_is_refused() -> None:
    with FakeBoard() as board:  # MicroPython's XIAO build names the board
        with pytest.raises(ProvisionError, match="which is board xiao-esp32s3, not esp32-s3"):
            _flash(board, board="esp32-s3-devkitc-1")
        assert board.fs.files == {}
        _flash(board, board=None)
        assert _config(board)["board"] == "xiao-esp32s3"
    with FakeBoard(machine="Generic ESP32S3 module with ESP32S3") as board:  # the generic build
        _flash(board, board="esp32-s3-devkitc-1")
        pin_file = json.loads(bytes(board.fs.files["/board.json"]))
        assert pin_file == BOARDS["esp32-s3-devkitc-1"].board_file()
        _flash(board, board=None)
        assert _config(board)["board"] == "xiao-esp32s3"  # the default of boards.json
