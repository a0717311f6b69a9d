"""`gaitchain demo` and `gaitchain live` from the command line."""

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from gaitchain.cli import main

REPO = Path(__file__).resolve().parents[3]


def test_serving_beyond_loopback_needs_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--host", "0.0.0.0", "--no-browser"])
    assert exit_info.value.code == 2
    assert "--allow-network" in capsys.readouterr().err


def test_live_needs_a_link(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["live"])
    assert exit_info.value.code == 2
    assert "--link" in capsys.readouterr().err


def test_live_connects_only_to_chosen_or_paired_pods(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "pods.json"
    with pytest.raises(SystemExit) as exit_info:
        main(["live", "--link", "ble", "--paired", str(empty), "--port", "0"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "no pods chosen" in err and "gaitchain pair" in err and str(empty) in err


def test_live_refuses_a_chosen_pod_without_its_calibration_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paired = tmp_path / "pods.json"
    pod = {"address": "C0:DE:00:00:01:02", "pod_id": 0x0102, "name": "gaitchain-0102"}
    paired.write_text(
        json.dumps(
            {
                "format": "gaitchain-paired-pods",
                "version": 1,
                "pods": [pod | {"segment": "shank", "side": "left"}],
            }
        )
    )
    records = tmp_path / "calibration"
    records.mkdir()
    argv = ["live", "--link", "ble", "--paired", str(paired), "--calibration", str(records)]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--port", "0"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "no calibration record for pod 0x0102" in err and "gaitchain calibrate imu" in err


def test_demo_prints_its_url_and_serves(tmp_path: Path) -> None:
    gaitchain = str(Path(sys.executable).parent / "gaitchain")
    command = [gaitchain, "demo", "--no-browser", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--minutes", "1", "--record-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert process.stdout is not None
        url = None
        for line in process.stdout:
            found = re.search(r"dashboard at (http://127\.0\.0\.1:\d+/)", line)
            if found:
                url = found.group(1)
                break
        assert url is not None
        with urllib.request.urlopen(url + "healthz", timeout=20) as response:
            health = json.loads(response.read())
            assert health == {"clients": 0, "error": None, "frame_error": None, "frames_failed": 0}
        with urllib.request.urlopen(url, timeout=20) as response:
            assert "gaitchain demo" in response.read().decode()
        process.terminate()
        assert process.wait(timeout=30) == 0, "SIGTERM stops the demo cleanly, as Ctrl-C does"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=20)
        if process.stdout is not None:
            process.stdout.close()
