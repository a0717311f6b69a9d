"""`gaitchain analyze`: events, strides and chain metrics of a recording, as JSON."""

import argparse
import json
from pathlib import Path

from ..calibration_records import calibrate_recording
from ..gait.analysis import analyze
from ..io.imports import read_gaitmap_csv
from ..io.recording import Recording, read_recording
from ..stream.journal import journal_to_recording
from .common import Commands


def load_recording(source: Path, *, rate_hz: float | None, pods: list[str] | None) -> Recording:
    """A recording directory, a journal from `gaitchain record`, or a gaitmap-style CSV."""
    if source.is_dir():
        recording = read_recording(source)
    elif source.suffix == ".csv":
        if rate_hz is None:
            raise ValueError(f"{source}: a gaitmap-style CSV has no times; add --rate-hz")
        recording = read_gaitmap_csv(source, rate_hz=rate_hz)
    elif source.is_file():
        recording = journal_to_recording(source)
    else:
        raise ValueError(f"{source} does not exist")
    if pods is not None:
        names = {pod.name for pod in recording.pods}
        unknown = sorted(set(pods) - names)
        if unknown:
            raise ValueError(
                f"--pods names {', '.join(unknown)}, not in the recording "
                f"({', '.join(sorted(names))})"
            )
        recording = Recording([p for p in recording.pods if p.name in pods], recording.extra)
    return recording


def _analyze_command(args: argparse.Namespace) -> int:
    pods = args.pods.split(",") if args.pods else None
    recording = load_recording(Path(args.recording), rate_hz=args.rate_hz, pods=pods)
    if args.calibration:
        recording, raw = calibrate_recording(recording, args.calibration)
        for name in raw:
            print(f"  {name}: no pod_id in the recording, so not calibrated")
    document = analyze(recording).to_json()
    out = Path(args.json)
    out.write_text(json.dumps(document, indent=1, allow_nan=False) + "\n")
    summary = document["summary"]
    missing = document["quality"]["missing"]
    print(
        f"{out}: {summary['step_count']} steps, "
        f"{summary['straight_strides']['left']} + {summary['straight_strides']['right']} "
        f"straight strides (left + right)"
    )
    for name, reason in document["quality"]["dropped"].items():
        print(f"  {name} left out: {reason}")
    for name, prevents in missing.items():
        if not name.endswith("thigh"):
            print(f"  no {name} pod: no {prevents}")
    return 0


def register(commands: Commands) -> None:
    parser = commands.add_parser(
        "analyze", help="events, strides and per-stride chain metrics of a recording"
    )
    parser.add_argument("recording", help="recording directory, journal file, or gaitmap-style CSV")
    parser.add_argument("--json", required=True, help="file to write the analysis to")
    parser.add_argument("--pods", help="analyse only these pods, e.g. pelvis,left_foot")
    parser.add_argument("--rate-hz", type=float, help="sampling rate of a gaitmap-style CSV")
    parser.add_argument(
        "--calibration",
        metavar="DIR",
        help="calibration records (pod-XXXX.json, from gaitchain calibrate imu) applied to every "
        "pod that names its pod_id (recording.json, or the journal)",
    )
    parser.set_defaults(run=_analyze_command)
