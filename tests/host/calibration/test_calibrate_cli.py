# pyright: strict
"""`gaitchain calibrate ...` on captures of a simulated pod written as pod CSVs."""

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from calibration_bench import (
    FACE_UP,
    FIELD_UT,
    Capture,
    Pod,
    Script,
    faces_script,
    slice_capture,
)
from gaitchain.calibration_records import load_record
from gaitchain.cli import calibrate_commands
from gaitchain.sim.params import ImuErrors
from scipy.linalg import polar
from scipy.spatial.transform import Rotation


def run(argv: Sequence[str]) -> int:
    """The command line as `gaitchain.cli.main` runs it (bad input: one line, exit 2)."""
    parser = argparse.ArgumentParser(prog="gaitchain")
    commands = parser.add_subparsers(dest="command", required=True)
    calibrate_commands.register(commands)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (ValueError, OSError) as error:
        parser.exit(2, f"gaitchain {args.command}: {error}\n")


def refused(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        run(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


@pytest.fixture(scope="module")
def pod() -> Pod:
    return Pod(seed=23, errors=ImuErrors(mag=True, disturbance_ut=0.0, acc_bias_mg=30.0))


@pytest.fixture(scope="module")
def session(pod: Pod, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One session with the pod: rest, six faces, a slow tumble; one CSV per step."""
    script = Script().hold(12.0)
    rest_end = script.now_s
    for face_up in FACE_UP.values():
        script.move(face_up, 1.5).hold(5.0)
    faces_end = script.now_s
    script.tumble(60.0, (50.0, 23.0, 37.0)).hold(1.0)
    capture = pod.capture(script)
    folder = tmp_path_factory.mktemp("captures")
    return {
        "rest": slice_capture(capture, 0.0, rest_end).write_csv(folder / "rest.csv"),
        "faces": slice_capture(capture, rest_end, faces_end).write_csv(folder / "faces.csv"),
        "mag": slice_capture(capture, faces_end, script.now_s).write_csv(folder / "mag.csv"),
    }


def _steps(session: dict[str, Path], *names: str) -> list[str]:
    return [arg for name in names for arg in ("--step", name, str(session[name]))]


def test_steps_tells_what_to_record(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["calibrate", "steps"]) == 0
    out = capsys.readouterr().out.replace("\u00a0", " ")  # units stay with their numbers
    assert "1. rest: 10 s still. Put the pod on a steady table" in out
    assert "2. faces: six faces, 5 s each." in out
    assert "3. mag: rotate slowly through all directions, 60 s." in out
    assert run(["calibrate", "steps", "--no-mag"]) == 0
    assert "3. mag" not in capsys.readouterr().out


def test_a_whole_session_writes_a_record_close_to_the_truth(
    pod: Pod, session: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["calibrate", "imu", "--pod-id", "gaitchain-0102", "--out", str(tmp_path)]
    assert run([*argv, *_steps(session, "rest", "faces", "mag")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "pod 0x0102: checking 3 captures"
    assert out[1].startswith(f"step rest ({session['rest']}): still for 10.0 s")
    assert "6 distinct poses (+x up, -x up, +y up, -y up, +z up, -z up); six-position fit" in out[2]
    assert out[3].startswith("cross-check: calibrated, the rest step reads gravity ")
    assert out[4].startswith(f"step mag ({session['mag']}): ")
    assert out[5] == f"{tmp_path / 'pod-0102.json'}: calibration of pod 0x0102 written"

    record = load_record(tmp_path, 0x0102)
    truth = pod.truth
    assert record.accelerometer.method == "six-position"
    np.testing.assert_allclose(record.accelerometer.offset_mps2, truth.acc_offset_mps2, atol=1e-3)
    np.testing.assert_allclose(record.accelerometer.matrix, truth.acc_matrix, atol=2e-4)
    assert record.magnetometer is not None
    np.testing.assert_allclose(record.magnetometer.hard_iron_ut, truth.hard_iron_ut, atol=0.05)
    symmetric = polar(truth.soft_iron_inverse)[1]
    scale = float(np.linalg.det(symmetric) ** (1 / 3))
    np.testing.assert_allclose(record.magnetometer.soft_iron_matrix, symmetric / scale, atol=1e-3)
    assert record.magnetometer.field_ut == pytest.approx(FIELD_UT / scale, abs=0.05)
    assert [(s.step, s.file) for s in record.sources] == [
        ("rest", "rest.csv"),
        ("faces", "faces.csv"),
        ("mag", "mag.csv"),
    ]

    assert run(["calibrate", "show", "--pod-id", "258", "--dir", str(tmp_path)]) == 0
    shown = capsys.readouterr().out
    assert "pod 0x0102 (258), calibrated" in shown
    assert "accelerometer six-position fit of 6 poses" in shown
    assert "source        mag: mag.csv" in shown


def test_motion_during_rest_is_refused_and_nothing_is_written(
    pod: Pod, session: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nudged = Rotation.from_euler("y", 5.0, degrees=True)
    script = Script().hold(4.0).move(nudged, 0.6).move(Rotation.identity(), 0.6).hold(6.0)
    rest = pod.capture(script).write_csv(tmp_path / "rest.csv")
    out = tmp_path / "records"
    err = refused(
        [
            *("calibrate", "imu", "--pod-id", "3", "--out", str(out)),
            *("--step", "rest", str(rest)),
            *_steps(session, "faces", "mag"),
        ],
        capsys,
    )
    assert err.startswith(f"gaitchain calibrate: step rest ({rest}): the pod moved between 4.")
    assert "record the rest step again" in err
    assert not out.exists()


def test_rest_and_faces_of_different_pods_are_refused(
    session: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = Pod(seed=0, errors=ImuErrors(mag=True, disturbance_ut=0.0, acc_bias_mg=30.0))
    rest = other.capture(Script().hold(12.0)).write_csv(tmp_path / "rest.csv")
    err = refused(
        [
            *("calibrate", "imu", "--pod-id", "3", "--out", str(tmp_path / "records")),
            *("--step", "rest", str(rest)),
            *_steps(session, "faces", "mag"),
        ],
        capsys,
    )
    assert f"step rest ({rest}) and step faces ({session['faces']}) disagree" in err
    assert "reads 9.34" in err and "record both steps again with the same pod" in err
    assert not (tmp_path / "records").exists()


def test_missing_faces_are_refused(
    pod: Pod, session: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    faces = pod.capture(faces_script(faces=("+x up", "-x up", "+y up", "-y up", "+z up")))
    path = faces.write_csv(tmp_path / "faces.csv")
    err = refused(
        [
            *("calibrate", "imu", "--pod-id", "3", "--out", str(tmp_path / "records")),
            *_steps(session, "rest", "mag"),
            *("--step", "faces", str(path)),
        ],
        capsys,
    )
    assert f"step faces ({path}): found 5 distinct still poses" in err
    assert "(missing: -z up)" in err


def test_faces_may_come_one_file_each(
    pod: Pod, session: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = pod.capture(faces_script())
    halves = [
        slice_capture(capture, 0.0, 20.0).write_csv(tmp_path / "faces-1.csv"),
        slice_capture(capture, 20.0, 100.0).write_csv(tmp_path / "faces-2.csv"),
    ]
    argv = ["calibrate", "imu", "--pod-id", "3", "--out", str(tmp_path / "r"), "--no-mag"]
    argv += ["--step", "rest", str(session["rest"])]
    argv += [arg for half in halves for arg in ("--step", "faces", str(half))]
    assert run(argv) == 0
    assert "6 distinct poses" in capsys.readouterr().out
    assert load_record(tmp_path / "r", 3).magnetometer is None


def test_a_pod_with_magnetometer_needs_the_mag_step_or_no_mag(
    session: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["calibrate", "imu", "--pod-id", "3", "--out", str(tmp_path)]
    err = refused([*argv, *_steps(session, "rest", "faces")], capsys)
    assert "has magnetometer columns but no mag step is given" in err
    assert "--no-mag" in err
    assert run([*argv, *_steps(session, "rest", "faces"), "--no-mag"]) == 0


def test_a_mag_step_without_magnetometer_columns_is_refused(
    pod: Pod, session: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = pod.capture(Script().tumble(60.0, (50.0, 23.0, 37.0)))
    path = capture.write_csv(tmp_path / "mag.csv", mag=False)
    argv = ["calibrate", "imu", "--pod-id", "3", "--out", str(tmp_path)]
    err = refused([*argv, *_steps(session, "rest", "faces"), "--step", "mag", str(path)], capsys)
    assert f"step mag ({path}): the file has no magnetometer columns" in err


def test_existing_record_is_replaced_only_with_force(
    session: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["calibrate", "imu", "--pod-id", "0x0007", "--out", str(tmp_path)]
    argv += _steps(session, "rest", "faces", "mag")
    assert run(argv) == 0
    before = (tmp_path / "pod-0007.json").read_bytes()
    err = refused(argv, capsys)
    assert "pod-0007.json exists; calibrate again into another --out or add --force" in err
    assert (tmp_path / "pod-0007.json").read_bytes() == before
    assert run([*argv, "--force"]) == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--step", "spin", "x.csv"], "step 'spin' is not one of rest, faces, mag"),
        ([], "missing step faces (given: rest)"),
        (["--step", "rest", "y.csv"], "step rest is given twice"),
    ],
)
def test_bad_step_lists_are_refused(
    session: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    argv = ["calibrate", "imu", "--pod-id", "3", "--out", str(tmp_path)]
    assert message in refused([*argv, *_steps(session, "rest"), *extra], capsys)


def test_bad_pod_id_and_unreadable_capture_are_refused(
    session: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = _steps(session, "rest", "faces", "mag")
    err = refused(["calibrate", "imu", "--pod-id", "pod7", "--out", str(tmp_path), *steps], capsys)
    assert "pod id 'pod7' is not 0 to 65535" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("t_s,acc_x\n0,1\n")
    argv = ["calibrate", "imu", "--pod-id", "3", "--out", str(tmp_path), *steps[:3]]
    err = refused([*argv, "--step", "faces", str(bad)], capsys)
    assert "header must be t_s,acc_x_mps2" in err


def test_show_without_a_record_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(["calibrate", "show", "--pod-id", "5", "--dir", str(tmp_path)], capsys)
    assert "no calibration record for pod 0x0005" in err


def test_capture_round_trips_through_csv(tmp_path: Path) -> None:
    capture = Capture(
        np.array([0.0, 0.01]), np.ones((2, 3)), np.zeros((2, 3)), None, np.zeros((2, 3))
    )
    text = capture.write_csv(tmp_path / "c.csv").read_text().splitlines()
    assert text[0] == "t_s,acc_x_mps2,acc_y_mps2,acc_z_mps2,gyr_x_radps,gyr_y_radps,gyr_z_radps"
