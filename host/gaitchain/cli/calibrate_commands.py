"""`gaitchain calibrate ...`: the IMU calibration procedure and per-pod records."""

import argparse
import hashlib
import re
import textwrap
from pathlib import Path
from typing import Final, cast

import numpy as np

from .. import __version__
from ..calibration_records import (
    AccelerometerCalibration,
    CalibrationSource,
    GyroscopeCalibration,
    ImuCalibrationRecord,
    MagnetometerCalibration,
    load_record,
    parse_pod_id,
    record_path,
    save_record,
    utc_now,
)
from ..fusion.imu_calibration import (
    AccelerometerFit,
    AccMethod,
    CalibrationError,
    GyroBiasAtRest,
    MagnetometerFit,
    StaticHold,
    apply_calibration,
    find_static_holds,
)
from ..io.recording import FloatArray, read_pod_csv
from ..signals import G_MPS2
from .common import Commands

STEPS: Final = {
    "rest": (
        "10 s still",
        "Put the pod on a steady table, start recording, let go and touch neither the pod nor "
        "the table for 10 s, then stop.",
    ),
    "faces": (
        "six faces, 5 s each",
        "Set the pod on each of its six faces in turn (x up, x down, y up, y down, z up, z down) "
        "and keep it still for 5 s on each, moving it between faces in one go. One recording for "
        "all faces, or one per face (give --step faces for each). Optional, for a fit that needs "
        "no level table: also rest it on edges and corners, 12 or more clearly different poses "
        "in all.",
    ),
    "mag": (
        "rotate slowly through all directions, 60 s",
        "Only for pods with a magnetometer. Away from steel, magnets and electronics (a metre "
        "from a laptop), hold the pod in your fingertips and turn it slowly so that each face "
        "points up, down, north, south, east and west in turn, for 60 s.",
    ),
}
"""Step name: (what the capture is, what to do)."""
WIDTH: Final = 96
MAX_REST_GRAVITY_ERROR_MPS2: Final = 0.1
"""How far the calibrated rest step may read from g (a pose the faces fit did not see)."""


def _procedure(with_mag: bool) -> str:
    command = "gaitchain calibrate imu --pod-id ID --out DIR --step rest REST.csv "
    command += "--step faces FACES.csv" + (" --step mag MAG.csv" if with_mag else "")
    lines = ["Record each step as one pod CSV (the open recording format):", ""]
    names = [name for name in STEPS if with_mag or name != "mag"]
    for number, name in enumerate(names, start=1):
        summary, what = STEPS[name]
        text = re.sub(r"(\d) s\b", "\\1\u00a0s", f"{number}. {name}: {summary}. {what}")
        lines.append(textwrap.fill(text, width=WIDTH, subsequent_indent="   "))
    lines += ["", "then run", "", f"  {command}", ""]
    lines.append(
        textwrap.fill(
            "Each capture is checked; one that cannot give a good calibration is refused with "
            "what to record again, and no record is written until every step passes.",
            width=WIDTH,
        )
    )
    return "\n".join(lines)


def _steps_command(args: argparse.Namespace) -> int:
    print(_procedure(not args.no_mag))
    return 0


def _significant(value: float, digits: int = 4) -> float:
    """`value` rounded to `digits` significant digits (diagnostics need no more)."""
    return float(f"{value:.{digits - 1}e}")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _deg(values: FloatArray) -> str:
    return "[" + ", ".join(f"{v:+.3f}" for v in np.degrees(values)) + "]"


def _vector(values: FloatArray, digits: int = 4) -> str:
    return "[" + ", ".join(f"{v:+.{digits}f}" for v in values) + "]"


def _matrix(values: FloatArray, digits: int = 5) -> str:
    return "[" + ", ".join(_vector(row, digits) for row in values) + "]"


class _Capture:
    def __init__(self, step: str, path: Path) -> None:
        data, self.with_mag = read_pod_csv(path)
        self.step = step
        self.path = path
        self.t_s: FloatArray = data[:, 0]
        self.acc_mps2: FloatArray = data[:, 1:4]
        self.gyr_radps: FloatArray = data[:, 4:7]
        self.mag_ut: FloatArray | None = data[:, 7:10] if self.with_mag else None

    @property
    def samples(self) -> int:
        return int(self.t_s.shape[0])

    def source(self) -> CalibrationSource:
        rate_hz = float((self.samples - 1) / (self.t_s[-1] - self.t_s[0]))
        return CalibrationSource(
            self.step,
            self.path.name,
            _sha256(self.path),
            self.samples,
            {
                "duration_s": round(float(self.t_s[-1] - self.t_s[0]), 3),
                "rate_hz": round(rate_hz, 3),
            },
        )


def _parse_steps(pairs: list[list[str]] | None) -> dict[str, list[Path]]:
    steps: dict[str, list[Path]] = {}
    for name, file in pairs or []:
        if name not in STEPS:
            raise ValueError(f"step {name!r} is not one of {', '.join(STEPS)}")
        if name in steps and name != "faces":
            raise ValueError(f"step {name} is given twice; give one capture for it")
        steps.setdefault(name, []).append(Path(file))
    missing = [name for name in ("rest", "faces") if name not in steps]
    if missing:
        given = ", ".join(steps) or "none"
        raise ValueError(
            f"missing step {' and '.join(missing)} (given: {given}); each needs --step NAME FILE "
            "(gaitchain calibrate steps tells what to record)"
        )
    return steps


def _label(step: str, captures: list[_Capture]) -> str:
    return f"step {step} ({', '.join(str(c.path) for c in captures)})"


def _rest(capture: _Capture) -> tuple[GyroscopeCalibration, FloatArray]:
    try:
        rest = GyroBiasAtRest().estimate(capture.t_s, capture.acc_mps2, capture.gyr_radps)
    except CalibrationError as error:
        raise CalibrationError(f"{_label('rest', [capture])}: {error}") from None
    print(
        f"{_label('rest', [capture])}: still for {rest.duration_s_:.1f} s (gyroscope within "
        f"{np.degrees(rest.gyr_spread_radps_):.3f} deg/s, accelerometer within "
        f"{rest.acc_spread_mps2_:.4f} m/s²); gyroscope bias {_deg(rest.bias_radps_)} deg/s"
    )
    gyroscope = GyroscopeCalibration(
        np.round(rest.bias_radps_, 8),
        round(rest.duration_s_, 3),
        {
            "gyr_spread_radps": _significant(rest.gyr_spread_radps_),
            "acc_spread_mps2": _significant(rest.acc_spread_mps2_),
        },
    )
    return gyroscope, rest.acc_mean_mps2_


def _faces(
    captures: list[_Capture], method: AccMethod, gravity_mps2: float
) -> AccelerometerCalibration:
    label = _label("faces", captures)
    holds: list[StaticHold] = []
    for capture in captures:
        holds += find_static_holds(capture.t_s, capture.acc_mps2, capture.gyr_radps)
    try:
        fit = AccelerometerFit(method=method, gravity_mps2=gravity_mps2).estimate(holds)
    except CalibrationError as error:
        raise CalibrationError(f"{label}: {error}") from None
    print(
        f"{label}: {len(holds)} still holds in {fit.poses_mps2_.shape[0]} distinct poses "
        f"({', '.join(fit.pose_names_)}); {fit.method_} fit, residual "
        f"{fit.residual_rms_mps2_:.4f} m/s² RMS; offset {_vector(fit.offset_mps2_)} m/s²"
    )
    return AccelerometerCalibration(
        fit.method_,
        np.round(fit.offset_mps2_, 7),
        np.round(fit.matrix_, 8),
        gravity_mps2,
        int(fit.poses_mps2_.shape[0]),
        _significant(fit.residual_rms_mps2_),
        {"holds": len(holds)},
    )


def _cross_check(
    captures: dict[str, list[_Capture]], rest_acc_mps2: FloatArray, acc: AccelerometerCalibration
) -> None:
    """The rest step, calibrated with the faces step's fit, must read gravity."""
    a = apply_calibration(rest_acc_mps2, acc.offset_mps2, acc.matrix)
    error_mps2 = float(np.linalg.norm(a)) - acc.gravity_mps2
    if abs(error_mps2) > MAX_REST_GRAVITY_ERROR_MPS2:
        raise CalibrationError(
            f"{_label('rest', captures['rest'])} and {_label('faces', captures['faces'])} "
            f"disagree: calibrated with the faces, the pod at rest reads {np.linalg.norm(a):.3f} "
            f"m/s² of gravity instead of {acc.gravity_mps2:g} (limit ±"
            f"{MAX_REST_GRAVITY_ERROR_MPS2:g}); record both steps again with the same pod, "
            "from raw readings (no calibration applied)"
        )
    print(f"cross-check: calibrated, the rest step reads gravity {error_mps2:+.4f} m/s² off g")


def _mag(capture: _Capture) -> MagnetometerCalibration:
    label = _label("mag", [capture])
    if capture.mag_ut is None:
        raise CalibrationError(
            f"{label}: the file has no magnetometer columns (mag_x_ut,mag_y_ut,mag_z_ut); record "
            "it with the magnetometer on, or leave the mag step out and pass --no-mag"
        )
    try:
        fit = MagnetometerFit().estimate(capture.mag_ut)
    except CalibrationError as error:
        raise CalibrationError(f"{label}: {error}") from None
    print(
        f"{label}: {fit.coverage_fraction_:.0%} of directions covered, field "
        f"{fit.field_ut_:.1f} µT, residual {fit.residual_rms_ut_:.2f} µT RMS; hard iron "
        f"{_vector(fit.hard_iron_ut_, 2)} µT"
    )
    return MagnetometerCalibration(
        np.round(fit.hard_iron_ut_, 5),
        np.round(fit.soft_iron_matrix_, 8),
        round(fit.field_ut_, 5),
        fit.coverage_fraction_,
        _significant(fit.residual_rms_ut_),
        {"samples": fit.samples_},
    )


def _imu_command(args: argparse.Namespace) -> int:
    pod_id = parse_pod_id(args.pod_id)
    steps = _parse_steps(args.step)
    if "mag" in steps and args.no_mag:
        raise ValueError("--no-mag and --step mag contradict each other; drop one")
    if not 9.7 <= args.gravity_mps2 <= 9.9:
        raise ValueError(f"gravity-mps2 = {args.gravity_mps2:g} is outside 9.7 to 9.9 m/s²")
    out = record_path(args.out, pod_id)
    if out.exists() and not args.force:
        raise ValueError(f"{out} exists; calibrate again into another --out or add --force")
    captures = {name: [_Capture(name, path) for path in paths] for name, paths in steps.items()}
    with_mag = [c for group in captures.values() for c in group if c.with_mag]
    if with_mag and "mag" not in steps and not args.no_mag:
        raise ValueError(
            f"{with_mag[0].path} has magnetometer columns but no mag step is given: record it "
            f"({STEPS['mag'][0]}) and add --step mag FILE, or pass --no-mag"
        )
    print(f"pod {pod_id:#06x}: checking {sum(map(len, captures.values()))} captures")
    gyroscope, rest_acc_mps2 = _rest(captures["rest"][0])
    method = cast(AccMethod, args.acc_method)
    accelerometer = _faces(captures["faces"], method, args.gravity_mps2)
    _cross_check(captures, rest_acc_mps2, accelerometer)
    magnetometer = _mag(captures["mag"][0]) if "mag" in captures else None
    record = ImuCalibrationRecord(
        pod_id,
        utc_now(),
        __version__,
        gyroscope,
        accelerometer,
        magnetometer,
        [c.source() for group in captures.values() for c in group],
    )
    path = save_record(record, args.out, force=args.force)
    print(f"{path}: calibration of pod {pod_id:#06x} written")
    return 0


def describe_record(record: ImuCalibrationRecord) -> str:
    """A record as a person reads it."""
    g, a, m = record.gyroscope, record.accelerometer, record.magnetometer
    offset_mg = a.offset_mps2 / G_MPS2 * 1000
    lines = [
        f"pod {record.pod_id:#06x} ({record.pod_id}), calibrated {record.created_utc} with "
        f"gaitchain {record.gaitchain_version}",
        f"gyroscope     bias {_deg(g.bias_radps)} deg/s (rest {g.rest_duration_s:.1f} s)",
        f"accelerometer {a.method} fit of {a.poses} poses, residual {a.residual_rms_mps2:.4f} "
        f"m/s² RMS, g = {a.gravity_mps2:g} m/s²",
        f"              offset {_vector(a.offset_mps2)} m/s² ({_vector(offset_mg, 1)} mg)",
        f"              matrix {_matrix(a.matrix)}",
    ]
    if m is None:
        lines.append("magnetometer  not calibrated")
    else:
        lines += [
            f"magnetometer  hard iron {_vector(m.hard_iron_ut, 2)} µT, field {m.field_ut:.1f} µT, "
            f"{m.coverage_fraction:.0%} of directions, residual {m.residual_rms_ut:.2f} µT RMS",
            f"              soft iron {_matrix(m.soft_iron_matrix, 4)}",
        ]
    for source in record.sources:
        lines.append(
            f"source        {source.step}: {source.file}, {source.samples} samples, "
            f"sha256 {source.sha256[:12]}"
        )
    return "\n".join(lines)


def _show_command(args: argparse.Namespace) -> int:
    pod_id = parse_pod_id(args.pod_id)
    record = load_record(args.dir, pod_id)
    print(f"{record_path(args.dir, pod_id)}:")
    print(describe_record(record))
    return 0


def register(commands: Commands) -> None:
    calibrate = commands.add_parser("calibrate", help="IMU calibration and per-pod records")
    calibrate_commands = calibrate.add_subparsers(dest="calibrate_command", required=True)

    steps = calibrate_commands.add_parser("steps", help="what to record for a calibration")
    steps.add_argument("--no-mag", action="store_true", help="the pod has no magnetometer")
    steps.set_defaults(run=_steps_command)

    imu = calibrate_commands.add_parser(
        "imu",
        help="check the captures of each step and write the pod's calibration record",
        description=_procedure(True),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    imu.add_argument(
        "--pod-id", required=True, help="the pod: 258, 0x0102 or its name gaitchain-0102"
    )
    imu.add_argument("--out", required=True, help="directory of records (pod-XXXX.json)")
    imu.add_argument(
        "--step",
        nargs=2,
        action="append",
        metavar=("NAME", "FILE"),
        help=f"one capture: NAME is {', '.join(STEPS)} (faces may be repeated)",
    )
    imu.add_argument("--no-mag", action="store_true", help="calibrate without the magnetometer")
    imu.add_argument(
        "--acc-method",
        choices=("auto", "six-position", "ellipsoid"),
        default="auto",
        help="accelerometer fit (default auto: ellipsoid from 12 distinct poses, else six faces)",
    )
    imu.add_argument(
        "--gravity-mps2",
        type=float,
        default=G_MPS2,
        help=f"local gravity (default {G_MPS2})",
    )
    imu.add_argument("--force", action="store_true", help="replace an existing record")
    imu.set_defaults(run=_imu_command)

    show = calibrate_commands.add_parser("show", help="print a pod's calibration record")
    show.add_argument("--pod-id", required=True, help="the pod: 258, 0x0102 or gaitchain-0102")
    show.add_argument("--dir", required=True, help="directory of records")
    show.set_defaults(run=_show_command)
