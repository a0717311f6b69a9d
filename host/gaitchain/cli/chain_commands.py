"""`gaitchain assess ...` (the battery) and `gaitchain report` (the client report)."""

import argparse
import json
from pathlib import Path

import numpy as np

from ..chain.battery import SIDES, TESTS, Battery, FootStructure, Symptoms
from ..chain.measure import measure_test
from ..chain.report import render_html, write_pdf
from ..chain.session import SESSION_FILE, earlier_values, read_battery, run_session
from ..chain.training import simulated_battery
from ..gait.kinematics import fuse_pod
from ..io.recording import PodRecording, read_pod_csv, read_recording
from ..sim.cohort import Subject
from ..sim.params import Walker
from ..sim.walk import parse_driver
from .common import Commands


def _load(path: Path) -> Battery:
    return read_battery(path) if path.exists() else Battery({}, {})


def _save(battery: Battery, path: Path) -> None:
    path.write_text(json.dumps(battery.to_json(), indent=1) + "\n")


def _tests_command(_: argparse.Namespace) -> int:
    for test in TESTS:
        pods = ", ".join(test.pods)
        print(f"{test.key}: {test.name} (pods: {pods}{', each side' if test.per_side else ''})")
        for label, text in (
            ("do", test.instructions),
            ("valid when", test.validity),
            ("measures", test.measures),
            ("normal", test.normal),
            ("source", test.source),
        ):
            print(f"  {label}: {text}")
    print(
        "manual entries: foot structure per side (gaitchain assess foot), "
        "symptoms (gaitchain assess symptoms)"
    )
    return 0


def _pod(spec: str) -> PodRecording:
    name, sep, file = spec.partition("=")
    if not sep:
        raise ValueError(f"--pod {spec!r}: write NAME=FILE.csv, e.g. left_shank=hip.csv")
    data, _ = read_pod_csv(Path(file))
    segment, side = (name, "center") if name in ("pelvis", "bar") else name.split("_")[::-1]
    if side not in (*SIDES, "center"):
        raise ValueError(f"--pod name {name!r}: use pelvis, bar, left_shank or right_shank")
    return PodRecording(file, segment, side, data[:, 0], data[:, 1:4], data[:, 4:7])


def _measure_command(args: argparse.Namespace) -> int:
    pods = {pod.name: pod for pod in map(_pod, args.pod)}
    alignment: dict[str, np.ndarray] = {}
    if args.walk:
        walk = read_recording(Path(args.walk))
        for pod in walk.pods:
            if pod.name in pods:
                alignment[pod.name] = fuse_pod(pod)[1]
    side = "both" if args.test == "standing_pelvis" else args.side
    if side not in (*SIDES, "both"):
        raise ValueError(f"--side is needed for {args.test}: left or right")
    result = measure_test(args.test, side, pods, alignment)
    path = Path(args.battery)
    battery = _load(path)
    battery.results[(result.key, result.side)] = result
    _save(battery, path)
    values = ", ".join(f"{k} = {v:.1f}" for k, v in result.values.items())
    print(f"{args.test} ({side}): {values or 'no value'}")
    for problem in result.problems:
        print(f"  invalid: {problem}")
    return 0 if result.valid else 1


def _foot_command(args: argparse.Namespace) -> int:
    entry = FootStructure(args.arch_height_index, args.first_ray, args.toe_grip)
    entry.validate(args.side)
    path = Path(args.battery)
    battery = _load(path)
    battery.foot[args.side] = entry
    _save(battery, path)
    print(f"{path}: foot structure ({args.side}) saved")
    return 0


def _symptoms_command(args: argparse.Namespace) -> int:
    entry = Symptoms(args.side, args.morning_pain, args.weeks)
    entry.validate()
    path = Path(args.battery)
    battery = _load(path)
    battery.symptoms = entry
    _save(battery, path)
    print(f"{path}: symptoms saved")
    return 0


def _simulate_command(args: argparse.Namespace) -> int:
    driver, side = parse_driver(args.driver)
    path = Path(args.battery)
    if path.exists() and not args.force:
        raise OSError(f"{path} exists; add --force to overwrite it")
    subject = Subject("sim", Walker(), driver, side, args.severity, args.seed)
    battery = simulated_battery(subject)
    _save(battery, path)
    print(f"{path}: simulated battery of a {args.driver} walker (seed {args.seed})")
    return 0


def _report_command(args: argparse.Namespace) -> int:
    out = Path(args.out)
    targets = [out] + ([Path(args.pdf)] if args.pdf else [])
    for target in targets:
        if target.exists() and not args.force:
            raise OSError(f"{target} exists; add --force to overwrite it")
    session = run_session(Path(args.session), args.battery)
    history = [earlier_values(Path(d)) for d in args.previous]
    history.append((session.name, session.inputs.values))
    out.write_text(render_html(session, history))
    if args.pdf:
        write_pdf(session, history, args.pdf)
    (Path(args.session) / SESSION_FILE).write_text(
        json.dumps(session.summary_json(), indent=1, allow_nan=False) + "\n"
    )
    driver, side, probability = session.leading
    verdict = driver if probability is None else f"{driver} {side} ({probability:.0%})"
    print(f"{', '.join(map(str, targets))}: {verdict}")
    for missing in session.classifier.missing_:
        print(f"  missing: {missing}")
    return 0


def register(commands: Commands) -> None:
    assess = commands.add_parser("assess", help="the assessment battery").add_subparsers(
        dest="assess_command", required=True, metavar="STEP"
    )
    tests = assess.add_parser("tests", help="print every test's instructions and norms")
    tests.set_defaults(run=_tests_command)

    measure = assess.add_parser("measure", help="measure one test from its pod CSVs")
    measure.add_argument("--test", required=True, choices=[t.key for t in TESTS])
    measure.add_argument("--side", default="", help="tested side: left or right")
    measure.add_argument(
        "--pod", action="append", required=True, help="NAME=FILE.csv (open pod CSV format)"
    )
    measure.add_argument("--walk", help="the session's walk recording, for the pods' alignment")
    measure.add_argument("--battery", required=True, help="battery JSON to add the result to")
    measure.set_defaults(run=_measure_command)

    foot = assess.add_parser("foot", help="enter one foot's structure")
    foot.add_argument("--side", required=True, choices=SIDES)
    foot.add_argument("--arch-height-index", type=float, required=True)
    foot.add_argument("--first-ray", default="normal", choices=("normal", "hypermobile", "stiff"))
    foot.add_argument("--toe-grip", default="normal", choices=("normal", "weak"))
    foot.add_argument("--battery", required=True)
    foot.set_defaults(run=_foot_command)

    symptoms = assess.add_parser("symptoms", help="enter the client's symptoms")
    symptoms.add_argument("--side", required=True, choices=("left", "right", "both", "none"))
    symptoms.add_argument("--morning-pain", action="store_true", help="first-step morning pain")
    symptoms.add_argument("--weeks", type=float, default=0.0, help="how long, in weeks")
    symptoms.add_argument("--battery", required=True)
    symptoms.set_defaults(run=_symptoms_command)

    simulate = assess.add_parser("simulate", help="a simulated walker's measured battery")
    simulate.add_argument("--driver", default="healthy")
    simulate.add_argument("--severity", type=float, default=1.0)
    simulate.add_argument("--seed", type=int, default=0)
    simulate.add_argument("--battery", required=True)
    simulate.add_argument("--force", action="store_true")
    simulate.set_defaults(run=_simulate_command)

    report = commands.add_parser("report", help="the client report (HTML, optionally PDF)")
    report.add_argument("session", help="session directory: a walk recording (+ battery.json)")
    report.add_argument("--out", required=True, help="HTML file to write")
    report.add_argument("--pdf", help="PDF file to write as well")
    report.add_argument("--battery", help="battery JSON (default: SESSION/battery.json)")
    report.add_argument(
        "--previous",
        action="append",
        default=[],
        help="an earlier session directory (oldest first)",
    )
    report.add_argument("--force", action="store_true", help="overwrite existing report files")
    report.set_defaults(run=_report_command)
