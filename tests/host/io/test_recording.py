"""The open recording format: round trip, extra keys kept, and clear refusals."""

import json
from pathlib import Path

import numpy as np
import pytest
from gaitchain.io.recording import (
    PodRecording,
    Recording,
    RecordingError,
    read_recording,
    write_recording,
)


def _pod(name: str, segment: str, side: str, n: int = 50, mag: bool = False) -> PodRecording:
    rng = np.random.default_rng(len(name))
    t = np.arange(n) / 120.0
    return PodRecording(
        f"{name}.csv",
        segment,
        side,
        t,
        rng.normal(0, 5, (n, 3)),
        rng.normal(0, 1, (n, 3)),
        rng.normal(0, 40, (n, 3)) if mag else None,
        {"serial": name.upper()},
    )


@pytest.fixture
def written(tmp_path: Path) -> Path:
    recording = Recording(
        [_pod("pelvis", "pelvis", "center"), _pod("left_foot", "foot", "left", mag=True)],
        {"site": "clinic A"},
    )
    return write_recording(tmp_path / "rec", recording)


def test_round_trip_keeps_values_and_extra_keys(written: Path) -> None:
    back = read_recording(written)
    assert [p.name for p in back.pods] == ["pelvis", "left_foot"]
    assert back.extra == {"site": "clinic A"}
    foot = back.pod("foot", "left")
    assert foot is not None and foot.mag_ut is not None
    assert foot.extra == {"serial": "LEFT_FOOT"}
    original = _pod("left_foot", "foot", "left", mag=True)
    np.testing.assert_allclose(foot.acc_mps2, original.acc_mps2, atol=1e-5)
    np.testing.assert_allclose(foot.t_s, original.t_s, atol=1e-6)
    assert back.pod("pelvis", "center") is not None and back.pod("pelvis", "center").mag_ut is None  # type: ignore[union-attr]


def _expect(directory: Path, message: str) -> None:
    with pytest.raises(RecordingError, match=message):
        read_recording(directory)


def test_missing_index(tmp_path: Path) -> None:
    _expect(tmp_path, "has no recording.json")


def test_newer_version_is_refused_with_advice(written: Path) -> None:
    index = json.loads((written / "recording.json").read_text())
    index["version"] = 2
    (written / "recording.json").write_text(json.dumps(index))
    _expect(written, "format version 2; this gaitchain reads up to 1: update it")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda i: i.update(format="other"), "format must be 'gaitchain-recording'"),
        (lambda i: i["pods"][0].update(segment="arm"), "segment 'arm' is not one of"),
        (lambda i: i["pods"][0].update(side="up"), "side 'up' is not one of"),
        (lambda i: i["pods"][0].update(file="../x.csv"), "must be a plain file name"),
        (lambda i: i["pods"].append(dict(i["pods"][0])), "two pods are the center pelvis"),
        (lambda i: i.update(pods=[]), "pods must be a non-empty list"),
    ],
)
def test_bad_index_entries(written: Path, change: object, message: str) -> None:
    index = json.loads((written / "recording.json").read_text())
    change(index)  # type: ignore[operator]
    (written / "recording.json").write_text(json.dumps(index))
    _expect(written, message)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda lines: ["time,a,b", *lines[1:]], "header must be t_s,acc_x_mps2"),
        (lambda lines: [*lines[:5], lines[5].replace(",", ",x", 1), *lines[6:]], "line 6: 'x"),
        (lambda lines: [*lines[:5], lines[4], *lines[6:]], "line 6: t_s .* does not increase"),
        (
            lambda lines: [*lines[:5], "nan,1,2,3,4,5,6", *lines[6:]],
            "line 6: a value is not a finite number",
        ),
        (lambda lines: [*lines[:5], "1,2,3", *lines[6:]], "line 6 has 3 values"),
        (lambda lines: lines[:2], "holds 1 samples"),
    ],
)
def test_bad_csv_contents_name_the_line(written: Path, edit: object, message: str) -> None:
    path = written / "pelvis.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(edit(lines)) + "\n")  # type: ignore[operator]
    _expect(written, message)


def test_missing_pod_file(written: Path) -> None:
    (written / "pelvis.csv").unlink()
    _expect(written, "pelvis.csv is listed in recording.json but does not exist")
