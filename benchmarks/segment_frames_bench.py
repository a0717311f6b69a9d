"""Sensor-to-segment alignment and consistent heading on simulated 10-minute walks.

    .venv/bin/python benchmarks/segment_frames_bench.py

For 3 simulated walks (5 pods, random mounting up to 20 deg, realistic sensor errors), prints the
alignment error per segment against the truth (raw sensors, and after each pod's accelerometer
is calibrated by `gaitchain calibrate`'s six-position fit on a simulated six-face capture)
and the RMS error of the relative heading pelvis-to-shank and shank-to-foot over the walk
without a magnetometer: gaitchain's common heading against
the peer, each pod's VQF offline 6D filter on its own (heading offsets removed once at the start,
so only drift counts against it). Bars: alignment <= 2 deg, relative heading <= 2 deg RMS.
Then the same on walks with thigh pods (7 pods), healthy and with a chain driver (the hip
internal-rotation deficit turns shank and thigh on its side; raw sensors, gaitchain only): the
alignment is the one `gaitchain analyze` uses (a thigh whose swing is turned out takes the knee's
hinge axis), and hip rotation from the thigh pods is scored per stride against the truth (bar
3 deg RMSE). Last, three more drivers on 5 pods, each walk's relative heading also with the true
alignment, which leaves the common heading's own error.
"""

import numpy as np
from gaitchain.gait.analysis import analyze
from gaitchain.sim.analysis_truth import stride_errors
from gaitchain.sim.frame_truth import (
    alignment_errors,
    analysis_alignment_errors,
    calibrated_alignment_errors,
    live_alignment_errors,
    relative_heading_series,
    rms_deg,
    six_face_record,
)
from gaitchain.sim.params import ImuErrors
from gaitchain.sim.walk import DEFAULT_PODS, SimulatedWalk, WalkConfig, simulate_walk
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
THIGH_WALKS = (("healthy", 201), ("left-hip-ir-deficit", 202), ("right-glute-med", 203))
THIGH_PODS = (*DEFAULT_PODS, ("thigh", "left"), ("thigh", "right"))
MORE_WALKS = (
    ("left-foot-level", 204),
    ("right-ankle-df-limit", 205),
    ("left-pelvic-asymmetry", 206),
)
HIP_METRICS = ("hip_internal_rotation_peak_stance_deg", "hip_rotation_range_deg")


def live_errors(walk: SimulatedWalk, seed: int) -> dict[str, list[tuple[float, float]]]:
    rng = np.random.default_rng(seed)
    records = {pod.spec.name: six_face_record(pod, rng) for pod in walk.pods}
    return {
        "raw sensors": list(live_alignment_errors(walk).values()),
        "calibrated": list(live_alignment_errors(walk, records).values()),
    }


def print_live(live: dict[str, list[tuple[float, float]]]) -> None:
    print(
        "\nthe live dashboard's alignment (PodFusion: the first one standing and walking allow,"
        "\ntried every 2 s), same 3 walks x 5 pods: error mean / max [deg], made at median / max "
        "[s]"
    )
    for label, found in live.items():
        errors = np.array([e for e, _ in found])
        times = np.array([t for _, t in found])
        print(
            f"  {label:<28} {np.mean(errors):5.2f} / {np.max(errors):5.2f}"
            f"   at {np.median(times):5.1f} / {np.max(times):5.1f} s"
            f"   bar <= 2: {'met' if np.max(errors) <= 2 else 'NOT met'}"
        )


def main() -> None:
    print(".venv/bin/python benchmarks/segment_frames_bench.py")
    raw: list[dict[str, float]] = []
    calibrated: list[dict[str, float]] = []
    ours: list[dict[str, FloatArray]] = []
    alone: list[dict[str, FloatArray]] = []
    live: dict[str, list[tuple[float, float]]] = {"raw sensors": [], "calibrated": []}
    for seed in (101, 102, 103):
        walk = simulate_walk(WalkConfig(minutes=10, seed=seed, errors=ImuErrors()))
        raw.append(alignment_errors(walk))
        calibrated.append(calibrated_alignment_errors(walk, seed))
        for label, found in live_errors(walk, seed).items():
            live[label] += found
        mine, theirs = relative_heading_series(walk)
        ours.append(mine)
        alone.append(theirs)
    print("\nsensor-to-segment alignment error [deg], 3 walks x 5 pods (mean / max):")
    for label, runs in (("raw sensors", raw), ("after six-position calibration", calibrated)):
        values = np.array([v for run in runs for v in run.values()])
        print(
            f"  {label:<28} {values.mean():5.2f} / {values.max():5.2f}"
            f"   bar <= 2: {'met' if values.max() <= 2 else 'NOT met'}"
        )
    print_live(live)
    print("\nrelative heading RMS over the walk [deg], no magnetometer (mean over 3 walks):")
    print(f"  {'pair':<26}{'gaitchain':>10}{'(offset':>9}{'SD)':>6}{'VQF 6D alone':>14}")
    for pair in ours[0]:
        a = np.mean([rms_deg(run[pair]) for run in ours])
        offset = np.mean([np.degrees(run[pair].mean()) for run in ours])
        spread = np.mean([np.degrees(run[pair].std()) for run in ours])
        b = np.mean([rms_deg(run[pair]) for run in alone])
        print(f"  {pair:<26}{a:10.2f}{offset:+9.2f}{spread:6.2f}{b:14.2f}")
    worst = max(np.mean([rms_deg(run[p]) for run in ours]) for p in ours[0])
    print(f"  bar <= 2 deg RMS: {'met' if worst <= 2 else 'NOT met'} (worst pair {worst:.2f})")
    print(
        "  offset: the mean error over the walk (the two pods' alignment yaw errors); SD: how much "
        "it moves"
    )
    print(
        "\nwith thigh pods (10-min walks, 7 pods): alignment max over the pods and thighs' max "
        "[deg],\nrelative heading RMS (offset, SD) [deg], thigh-based hip rotation per-stride RMSE "
        "[deg] (left / right)"
    )
    hip_rows: list[str] = []
    worst_rms = worst_sd = 0.0
    for driver, seed in THIGH_WALKS:
        config = WalkConfig(
            minutes=10, seed=seed, driver=driver, errors=ImuErrors(), pods=THIGH_PODS
        )
        walk = simulate_walk(config)
        series, _ = relative_heading_series(walk)
        aligned = analysis_alignment_errors(walk)
        thighs = max(v for k, v in aligned.items() if k.endswith("thigh"))
        print(f"  {driver}: alignment max {max(aligned.values()):.2f}, thighs {thighs:.2f}")
        print("    " + heading_cells(series))
        own, _ = relative_heading_series(walk, true_alignment=True)
        print("    with the true alignment: " + heading_cells(own))
        worst_rms = max(worst_rms, *(rms_deg(v) for v in series.values()))
        worst_sd = max(worst_sd, *(float(np.degrees(v.std())) for v in series.values()))
        errors = stride_errors(walk, analyze(walk.recording()))
        cells = []
        for metric in HIP_METRICS:
            per_side = [
                float(np.sqrt(np.mean(errors.metrics[metric][side] ** 2)))
                for side in ("left", "right")
            ]
            cells.append(f"{metric} {per_side[0]:.2f} / {per_side[1]:.2f}")
        hip_rows.append(f"  {driver:<22}" + "   ".join(cells))
    print(
        f"  relative heading (RMS (offset, SD)) worst RMS {worst_rms:.2f}, worst SD {worst_sd:.2f}:"
        f" bar <= 2 deg RMS {'met' if worst_rms <= 2 else 'NOT met'}"
    )
    print("\nthigh-based hip rotation, per-stride RMSE [deg] (left / right), bar 3:")
    print("\n".join(hip_rows))
    more_drivers()


def heading_cells(series: dict[str, FloatArray]) -> str:
    return ", ".join(
        f"{pair} {rms_deg(v):.2f} ({np.degrees(v.mean()):+.2f}, {np.degrees(v.std()):.2f})"
        for pair, v in series.items()
    )


def more_drivers() -> None:
    print(
        "\nmore drivers (10-min walks, 5 pods, raw sensors): alignment [deg] per pod, relative "
        "heading RMS [deg]\nwith the estimated alignment and, to tell the two apart, with each "
        "pod's true alignment (the heading's own error)"
    )
    for driver, seed in MORE_WALKS:
        walk = simulate_walk(WalkConfig(minutes=10, seed=seed, driver=driver, errors=ImuErrors()))
        aligned = alignment_errors(walk)
        estimated, _ = relative_heading_series(walk)
        own, _ = relative_heading_series(walk, true_alignment=True)
        print(f"  {driver}: " + ", ".join(f"{pod} {v:.2f}" for pod, v in aligned.items()))
        print(
            "    "
            + ", ".join(
                f"{pair} {rms_deg(estimated[pair]):.2f} / {rms_deg(own[pair]):.2f}"
                for pair in estimated
            )
        )


if __name__ == "__main__":
    main()
