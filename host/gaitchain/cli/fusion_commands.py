"""`gaitchain orient`: orientation of one pod from its CSV."""

import argparse
from pathlib import Path

import numpy as np

from ..fusion import VqfOrientation
from ..io.recording import RecordingError, read_pod_csv
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
    mag = data[:, 7:10] if with_mag and not args.no_mag else None
    estimator = VqfOrientation(mode="offline" if args.offline else "online").estimate(
        data[:, 1:4], data[:, 4:7], mag, sampling_rate_hz=rate_hz
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
    orient.set_defaults(run=_orient_command)
