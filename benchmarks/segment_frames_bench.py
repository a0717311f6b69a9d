"""Sensor-to-segment alignment and consistent heading on simulated 10-minute walks.

    .venv/bin/python benchmarks/segment_frames_bench.py

For 3 simulated walks (5 pods, random mounting up to 20 deg, realistic sensor errors), prints the
alignment error per segment against the truth (raw sensors, and after each pod's accelerometer
is calibrated by `gaitchain calibrate`'s six-position fit on a simulated six-face capture)
and the RMS error of the relative heading pelvis-to-shank and shank-to-foot over the walk
without a magnetometer: gaitchain's common heading against
the peer, each pod's VQF offline 6D filter on its own (heading offsets removed once at the start,
so only drift counts against it). Bars: alignment <= 2 deg, relative heading <= 2 deg RMS.
Then the same on walks with a chain driver (the hip internal-rotation deficit turns the shank on
its side; raw sensors, gaitchain only).
"""

import numpy as np
from gaitchain.sim.frame_truth import (
    alignment_errors,
    calibrated_alignment_errors,
    relative_heading_errors,
)
from gaitchain.sim.params import ImuErrors
from gaitchain.sim.walk import WalkConfig, simulate_walk

DRIVER_WALKS = (("left-hip-ir-deficit", 202), ("right-glute-med", 203))


def main() -> None:
    print(".venv/bin/python benchmarks/segment_frames_bench.py")
    raw: list[dict[str, float]] = []
    calibrated: list[dict[str, float]] = []
    ours: list[dict[str, float]] = []
    alone: list[dict[str, float]] = []
    for seed in (101, 102, 103):
        walk = simulate_walk(WalkConfig(minutes=10, seed=seed, errors=ImuErrors()))
        raw.append(alignment_errors(walk))
        calibrated.append(calibrated_alignment_errors(walk, seed))
        mine, theirs = relative_heading_errors(walk)
        ours.append(mine)
        alone.append(theirs)
    print("\nsensor-to-segment alignment error [deg], 3 walks x 5 pods (mean / max):")
    for label, runs in (("raw sensors", raw), ("after six-position calibration", calibrated)):
        values = np.array([v for run in runs for v in run.values()])
        print(
            f"  {label:<28} {values.mean():5.2f} / {values.max():5.2f}"
            f"   bar <= 2: {'met' if values.max() <= 2 else 'NOT met'}"
        )
    print("\nrelative heading RMS over the walk [deg], no magnetometer (mean over 3 walks):")
    print(f"  {'pair':<26}{'gaitchain':>10}{'VQF 6D alone':>14}")
    for pair in ours[0]:
        a = np.mean([run[pair] for run in ours])
        b = np.mean([run[pair] for run in alone])
        print(f"  {pair:<26}{a:10.2f}{b:14.2f}")
    worst = max(np.mean([run[p] for run in ours]) for p in ours[0])
    print(f"  bar <= 2 deg RMS: {'met' if worst <= 2 else 'NOT met'} (worst pair {worst:.2f})")
    print("\nwith a chain driver (10-min walks): alignment max [deg], relative heading RMS [deg]")
    print(f"  {'walk':<22}{'alignment':>10}" + "".join(f"{p:>24}" for p in ours[0]))
    for driver, seed in DRIVER_WALKS:
        walk = simulate_walk(WalkConfig(minutes=10, seed=seed, driver=driver, errors=ImuErrors()))
        mine, _ = relative_heading_errors(walk)
        aligned = max(alignment_errors(walk).values())
        print(f"  {driver:<22}{aligned:10.2f}" + "".join(f"{v:24.2f}" for v in mine.values()))


if __name__ == "__main__":
    main()
