"""`gaitchain sim walk` and `sim cohort`: determinism, outputs, truth and refusals."""

import csv
import hashlib
from pathlib import Path

import numpy as np
import pytest
from gaitchain.cli import main
from gaitchain.io.recording import read_recording
from gaitchain.signals import G_MPS2
from gaitchain.sim.cohort import make_cohort
from gaitchain.sim.imu import _nominal_mount
from gaitchain.sim.params import Gait, ParameterError, Walker
from gaitchain.sim.walk import WalkConfig, simulate_walk


def _digest(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    args = ["sim", "walk", "--minutes", "0.5", "--driver", "right-foot-level"]
    assert main([*args, "--seed", "7", "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--seed", "7", "--out", str(tmp_path / "b")]) == 0
    assert main([*args, "--seed", "8", "--out", str(tmp_path / "c")]) == 0
    a, b, c = (_digest(tmp_path / name) for name in "abc")
    assert a == b
    assert a["left_foot.csv"] != c["left_foot.csv"]


def test_walk_writes_a_readable_recording_with_truth(tmp_path: Path) -> None:
    out = tmp_path / "walk"
    assert (
        main(
            [
                "sim",
                "walk",
                "--minutes",
                "1",
                "--driver",
                "left-hip-ir-deficit",
                "--seed",
                "7",
                "--thighs",
                "--mag",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    recording = read_recording(out)
    names = sorted(p.name for p in recording.pods)
    assert names == [
        "left_foot",
        "left_shank",
        "left_thigh",
        "pelvis",
        "right_foot",
        "right_shank",
        "right_thigh",
    ]
    for pod in recording.pods:
        assert pod.mag_ut is not None
        assert abs(pod.rate_hz - 120.0) < 120.0 * 60e-6, "clocks are within +-50 ppm"
        standing = pod.t_s < 5.0
        norm = np.linalg.norm(pod.acc_mps2[standing], axis=1)
        assert abs(np.median(norm) - G_MPS2) < 0.3
    with (out / "truth" / "events.csv").open() as f:
        rows = list(csv.DictReader(f))
    contacts = [r for r in rows if r["event"] == "initial_contact"]
    assert 70 < len(contacts) < 100
    assert {r["side"] for r in contacts} == {"left", "right"}
    header = (out / "truth" / "angles.csv").read_text().splitlines()[0]
    assert "left_subtalar_eversion_deg" in header and "pelvis_obliquity_deg" in header
    assert (out / "truth" / "truth.json").is_file()
    steps = (out / "truth" / "steps.csv").read_text().splitlines()
    assert steps[0] == "t_s,side,impact_peak_g" and len(steps) - 1 == len(contacts)


def test_mounting_is_random_but_within_twenty_degrees() -> None:
    walk = simulate_walk(WalkConfig(minutes=0.3, seed=4))
    angles: list[float] = []
    for pod in walk.pods:
        nominal, _ = _nominal_mount(pod.spec.segment, pod.spec.side)
        relative = nominal.T @ pod.mount_rotation
        angles.append(float(np.degrees(np.arccos(np.clip((np.trace(relative) - 1) / 2, -1, 1)))))
    assert max(angles) <= 20.0 + 1e-9
    assert len({round(a, 3) for a in angles}) == len(angles)


@pytest.mark.parametrize(
    ("gait", "message"),
    [
        (
            Gait(cadence_spm=-100),
            "cadence_spm = -100 steps/min is outside the valid range 60 to 160",
        ),
        (Gait(speed_mps=9.0), "speed_mps = 9 m/s is outside the valid range 0.4 to 2.2"),
        (Gait(cadence_spm=60, speed_mps=2.2), "gives a stride of 4.40 m"),
    ],
)
def test_impossible_parameters_are_refused_by_name(gait: Gait, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        Walker(gait=gait).validate()


def test_cli_reports_bad_parameters_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["sim", "walk", "--minutes", "-3", "--out", str(tmp_path / "x")])
    assert stopped.value.code == 2
    assert "minutes = -3 is outside 0.2 to 1440" in capsys.readouterr().err


def test_cohort_has_known_drivers_and_healthy_subjects(tmp_path: Path) -> None:
    subjects = make_cohort(300, seed=11)
    drivers = {s.driver for s in subjects}
    assert drivers == {
        "healthy",
        "hip-ir-deficit",
        "glute-med",
        "pelvic-asymmetry",
        "ankle-df-limit",
        "foot-level",
    }
    healthy = sum(s.driver == "healthy" for s in subjects)
    assert 0.1 * 300 < healthy < 0.3 * 300
    sides = {s.side for s in subjects if s.driver != "healthy"}
    assert sides == {"left", "right"}
    heights = [s.walker.body.height_m for s in subjects]
    assert 0.05 < np.std(heights) < 0.12
    wider = make_cohort(300, seed=11, variation=2.0)
    assert np.std([s.walker.gait.cadence_spm for s in wider]) > 1.5 * np.std(
        [s.walker.gait.cadence_spm for s in subjects]
    )
    for s in subjects[:20]:
        s.faulted()

    out = tmp_path / "cohort"
    assert (
        main(["sim", "cohort", "--n", "2", "--seed", "5", "--minutes", "0.3", "--out", str(out)])
        == 0
    )
    listed = list(csv.DictReader((out / "cohort.csv").read_text().splitlines()))
    assert [row["subject"] for row in listed] == ["subject_0001", "subject_0002"]
    for row in listed:
        assert read_recording(out / row["subject"]).extra["driver"] in (
            "healthy",
            f"{row['side']}-{row['driver']}",
        )
