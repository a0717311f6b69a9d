"""`gaitchain orient`: orientation of one pod from its CSV."""

import argparse
from pathlib import Path

import numpy as np

from ..calibration_records import calibrate_recording, read_record
from ..fusion import VqfOrientation
from ..fusion.alignment import SegmentAlignment
from ..io.recording import RecordingError, read_pod_csv, read_recording
from .common import Commands


def _orient_command(args: argparse.Namespace) -> int:
    source = Path(args.csv)
    data, with_mag = read_pod_csv(source)
    t_s = data[:, 0]
    rate_hz = 1.0 / float(np.median(np.diff(t_s)))
    jitter = np.abs(np.diff(t_s) * rate_hz - 1.0).max()
    if jitter > 0.25:
        raise RecordingError(
            f"{source}: sample intervals vary by up to {jitter:.0%} of the period; the filter "
            "needs evenly spaced samples, so resample the recording first"
        )
    acc, gyr = data[:, 1:4], data[:, 4:7]
    mag = data[:, 7:10] if with_mag and not args.no_mag else None
    if args.calibration:
        record = read_record(args.calibration)
        acc, gyr, mag = record.correct(acc, gyr, mag)
    estimator = VqfOrientation(mode="offline" if args.offline else "online").estimate(
        acc, gyr, mag, sampling_rate_hz=rate_hz
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table = np.column_stack([t_s, estimator.orientation_])
    np.savetxt(
        out,
        table,
        fmt=["%.6f"] + ["%.7f"] * 4,
        delimiter=",",
        header="t_s,qw,qx,qy,qz",
        comments="",
    )
    heading = "magnetometer (north = +y)" if mag is not None else "arbitrary (no magnetometer)"
    mode = "offline" if args.offline else "online"
    print(f"{out}: {t_s.shape[0]} orientations at {rate_hz:.2f} Hz, {mode}, heading {heading}")
    return 0


def _align_command(args: argparse.Namespace) -> int:
    recording = read_recording(args.recording)
    if args.calibration:
        recording, raw = calibrate_recording(recording, args.calibration)
        for name in raw:
            print(f"{name}: no pod_id in recording.json, so not calibrated")
    failures = 0
    for pod in recording.pods:
        try:
            estimate = SegmentAlignment(pod.segment).estimate(
                pod.acc_mps2, pod.gyr_radps, sampling_rate_hz=pod.rate_hz
            )
        except ValueError as error:
            print(f"{pod.name}: {error}")
            failures += 1
            continue
        rows = np.array2string(estimate.sensor_to_segment_, precision=4, suppress_small=True)
        print(
            f"{pod.name}: quality {estimate.quality_:.2f}, standing {estimate.standing_s_:.1f} s, "
            f"walking {estimate.walking_s_:.0f} s; sensor to segment (rows x, y, z):"
        )
        print("  " + rows.replace("\n", "\n  "))
    return 1 if failures else 0


def register(commands: Commands) -> None:
    orient = commands.add_parser(
        "orient", help="orientation (sensor to ENU quaternions) of one pod's CSV"
    )
    orient.add_argument("csv", help="one pod's CSV in the open recording format")
    orient.add_argument("--out", required=True, help="CSV to write: t_s,qw,qx,qy,qz")
    orient.add_argument(
        "--offline",
        action="store_true",
        help="use the whole recording (forward-backward): better for recorded data",
    )
    orient.add_argument("--no-mag", action="store_true", help="ignore magnetometer columns")
    orient.add_argument(
        "--calibration",
        metavar="RECORD",
        help="the pod's calibration record (from gaitchain calibrate imu)",
    )
    orient.set_defaults(run=_orient_command)

    align = commands.add_parser(
        "align", help="sensor-to-segment alignment of every pod of a recording"
    )
    align.add_argument("recording", help="a recording directory in the open format")
    align.add_argument(
        "--calibration",
        metavar="DIR",
        help="calibration records (pod-XXXX.json) keyed by each pod's pod_id extra",
    )
    align.set_defaults(run=_align_command)
