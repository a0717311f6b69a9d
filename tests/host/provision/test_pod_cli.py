"""`gaitchain pod flash / info / config` through the real entry point, on a pretend pod."""

import json

import pytest
from fakeboard import FakeBoard
from gaitchain.cli import main
from gaitchain.provision import load_boards


def _exit_message(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1, captured.err  # one line
    assert captured.out == "", captured.out  # nothing else on stdout (mpremote's dumps included)
    return captured.err


def test_flash_then_info(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeBoard() as board:
        port = board.port
        assert main(["pod", "flash", "--port", port, "--segment", "foot", "--side", "right"]) == 0
        out = capsys.readouterr().out
        assert "pod 0x02ab: foot right on xiao-esp32s3" in out
        assert "free on the pod: " in out
        assert main(["pod", "info", "--port", port]) == 0
        info = capsys.readouterr().out
    assert "machine: Seeed XIAO ESP32S3 with ESP32-S3-FN8" in info
    assert "step-log partition: 2.00 MiB" in info
    assert '"segment": "foot"' in info and '"side": "right"' in info
    assert "/pod/controller.mpy" in info and "/board.json" in info
    assert "board file: " + json.dumps(load_boards()["xiao-esp32s3"].board_file()) in info


def test_config_reads_and_sets_keys(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeBoard() as board:
        port = board.port
        assert main(["pod", "config", "--port", port, "rate_hz"]) == 0
        assert capsys.readouterr().out.splitlines() == [
            "problem: /config.json is missing or not a JSON object; defaults shown",
            "rate_hz=120",
        ]
        assert (
            main(["pod", "config", "--port", port, "rate_hz=240", "log_when_disconnected=true"])
            == 0
        )
        out = capsys.readouterr().out
        assert "set rate_hz=240, log_when_disconnected=true" in out
        stored = json.loads(bytes(board.fs.files["/config.json"]))
        assert (stored["rate_hz"], stored["log_when_disconnected"]) == (240, True)
        assert "/config.json.tmp" not in board.fs.files
        assert main(["pod", "config", "--port", port, "board=esp32-s3-devkitc-1"]) == 0
        pin_file = json.loads(bytes(board.fs.files["/board.json"]))
        assert pin_file == load_boards()["esp32-s3-devkitc-1"].board_file()
        assert main(["pod", "config", "--port", port]) == 0
        listing = capsys.readouterr().out
    assert "rate_hz=240" in listing and 'board="esp32-s3-devkitc-1"' in listing


def test_config_refuses_bad_values_and_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeBoard() as board:
        err = _exit_message(capsys, ["pod", "config", "--port", board.port, "rate_hz=100"])
        assert "rate_hz must be one of 60, 120, 240, 480, not 100" in err
        err = _exit_message(capsys, ["pod", "config", "--port", board.port, "colour=teal"])
        assert "unknown config key 'colour'" in err
        assert board.fs.files == {}


def test_flash_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    err = _exit_message(
        capsys,
        ["pod", "flash", "--port", "/dev/ttyGAITCHAIN9", "--segment", "shank", "--side", "left"],
    )
    assert err.startswith("gaitchain pod: no serial device at /dev/ttyGAITCHAIN9")
    err = _exit_message(
        capsys, ["pod", "flash", "--port", "/dev/null", "--segment", "pelvis", "--side", "left"]
    )
    assert "the pelvis pod is --side center" in err
    err = _exit_message(
        capsys,
        ["pod", "flash", "--segment", "shank", "--side", "left", "--pod-id", "0x1ffff"],
    )
    assert "pod id '0x1ffff'" in err


def test_info_on_a_board_without_micropython(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeBoard(micropython=False) as board:
        err = _exit_message(capsys, ["pod", "info", "--port", board.port])
    assert "no MicroPython raw REPL answered on " + board.port in err
