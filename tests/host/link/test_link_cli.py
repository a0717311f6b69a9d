"""`gaitchain scan`, `pair` and `record` through the real entry point, on virtual pods in real
time (`--virtual`), and their refusals of bad input."""

import json
import logging
from pathlib import Path

import pytest
from gaitchain.cli import main
from gaitchain.io.recording import read_recording

logging.getLogger("bumble").setLevel(logging.ERROR)


def test_scan_pair_and_record_virtual_pods(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["scan", "--virtual", "2", "--seconds", "1"]) == 0
    out = capsys.readouterr().out
    assert "pelvis" in out and "left shank" in out and "C0:DE:00:00:01:02" in out
    paired = tmp_path / "pods.json"
    assert main(["pair", "0102", "--virtual", "2", "--seconds", "1", "--paired", str(paired)]) == 0
    saved = json.loads(paired.read_text())["pods"]
    assert [(p["pod_id"], p["segment"], p["side"]) for p in saved] == [(0x0102, "shank", "left")]
    out_dir = tmp_path / "session"
    assert main(["record", "--virtual", "2", "--seconds", "4", "--out", str(out_dir)]) == 0
    recording = read_recording(out_dir)
    assert sorted(p.file for p in recording.pods) == ["left_shank.csv", "pelvis.csv"]
    assert all(len(p.t_s) > 120 for p in recording.pods)


def test_record_refuses_without_chosen_pods(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["record", "--out", str(tmp_path / "x"), "--paired", str(tmp_path / "none.json")])
    assert stop.value.code == 2
