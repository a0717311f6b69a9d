"""`gaitchain sim ...`: simulated walks and cohorts with ground truth."""

import argparse
import csv
import sys
import time
from pathlib import Path

from ..sim.cohort import make_cohort
from ..sim.params import ImuErrors, ParameterError
from ..sim.walk import DEFAULT_PODS, DRIVERS, WalkConfig, simulate_walk, write_walk
from .common import Commands

THIGH_PODS = (("thigh", "left"), ("thigh", "right"))


def _refuse_existing(out: Path, force: bool) -> None:
    if out.exists() and any(out.iterdir()) and not force:
        raise ParameterError(f"{out} exists and is not empty; choose another --out or add --force")


def _walk_command(args: argparse.Namespace) -> int:
    out = Path(args.out)
    _refuse_existing(out, args.force)
    pods = DEFAULT_PODS + (THIGH_PODS if args.thighs else ())
    errors = ImuErrors(mag=args.mag)
    config = WalkConfig(
        minutes=args.minutes,
        driver=args.driver,
        seed=args.seed,
        pods=pods,
        rate_hz=args.rate_hz,
        errors=errors,
        severity=args.severity,
    )
    started = time.perf_counter()
    walk = simulate_walk(config)
    write_walk(walk, out)
    steps = sum(
        int(((f.ic_s > 0) & (f.ic_s < walk.body.schedule.plan.duration_s)).sum())
        for f in walk.body.schedule.feet.values()
    )
    print(
        f"{out}: {args.minutes:g} min, driver {args.driver}, {len(walk.pods)} pods at "
        f"{args.rate_hz:g} Hz, {steps} steps, truth in {out / 'truth'} "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return 0


def _cohort_command(args: argparse.Namespace) -> int:
    out = Path(args.out)
    _refuse_existing(out, args.force)
    out.mkdir(parents=True, exist_ok=True)
    subjects = make_cohort(
        args.n, args.seed, variation=args.variation, healthy_fraction=args.healthy_fraction
    )
    with (out / "cohort.csv").open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(
            [
                "subject",
                "driver",
                "side",
                "severity",
                "seed",
                "height_m",
                "cadence_spm",
                "speed_mps",
            ]
        )
        for s in subjects:
            gait = s.walker.gait
            writer.writerow(
                [
                    s.subject_id,
                    s.driver,
                    s.side,
                    f"{s.severity:.4f}",
                    s.seed,
                    f"{s.walker.body.height_m:.4f}",
                    f"{gait.cadence_spm:.3f}",
                    f"{gait.speed_mps:.4f}",
                ]
            )
    for number, subject in enumerate(subjects, start=1):
        write_walk(simulate_walk(subject.walk_config(args.minutes)), out / subject.subject_id)
        print(f"\r{number}/{len(subjects)} subjects", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    print(
        f"{out}: {len(subjects)} subjects "
        f"({sum(s.driver == 'healthy' for s in subjects)} healthy), "
        f"list in {out / 'cohort.csv'}"
    )
    return 0


def register(commands: Commands) -> None:
    sim = commands.add_parser("sim", help="simulate walks with ground truth")
    sim_commands = sim.add_subparsers(dest="sim_command", required=True)
    drivers = ", ".join(["healthy", *(f"left-{d}" for d in DRIVERS), "right-..."])

    walk = sim_commands.add_parser("walk", help="one simulated walk: recording plus truth")
    walk.add_argument("--minutes", type=float, default=10.0, help="length of the walk (default 10)")
    walk.add_argument("--driver", default="healthy", help=f"chain driver: {drivers}")
    walk.add_argument("--severity", type=float, default=1.0, help="fault severity, 0-2 (default 1)")
    walk.add_argument("--seed", type=int, default=0, help="same seed, same bytes (default 0)")
    walk.add_argument("--rate-hz", type=float, default=120.0, help="pod sample rate (default 120)")
    walk.add_argument("--mag", action="store_true", help="pods carry magnetometers")
    walk.add_argument("--thighs", action="store_true", help="add thigh pods")
    walk.add_argument("--out", required=True, help="directory to write")
    walk.add_argument("--force", action="store_true", help="write into a non-empty directory")
    walk.set_defaults(run=_walk_command)

    cohort = sim_commands.add_parser("cohort", help="many subjects with known drivers")
    cohort.add_argument("--n", type=int, required=True, help="number of subjects")
    cohort.add_argument("--seed", type=int, default=0)
    cohort.add_argument("--minutes", type=float, default=2.0, help="walk per subject (default 2)")
    cohort.add_argument(
        "--variation", type=float, default=1.0, help="scale of individual variation (default 1)"
    )
    cohort.add_argument("--healthy-fraction", type=float, default=0.2)
    cohort.add_argument("--out", required=True)
    cohort.add_argument("--force", action="store_true")
    cohort.set_defaults(run=_cohort_command)
