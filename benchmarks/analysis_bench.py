"""`gaitchain analyze` on simulated walks: accuracy against the truth and speed.

    .venv/bin/python benchmarks/analysis_bench.py

Four 10-minute walks (5 pods at 120 Hz, realistic sensor errors, random mounting): per-stride
errors of the chain metrics against the same metrics computed from the truth (straight strides),
and event timing. Then one hour of 5 pods at 120 Hz analysed on one core, against the bar (30 s)
and real time. The events' comparison with gaitmap's detectors on motion-capture data is
benchmarks/events_bench.py.
"""

import time

import numpy as np
from gaitchain.gait.analysis import analyze
from gaitchain.sim.analysis_truth import stride_errors
from gaitchain.sim.params import ImuErrors
from gaitchain.sim.walk import WalkConfig, simulate_walk

BARS = {
    "hip_rotation_range_deg": 3.0,
    "hip_internal_rotation_peak_stance_deg": 3.0,
    "tibial_rotation_loading_deg": 2.0,
    "tibial_progression_loading_deg": 2.0,
    "eversion_at_contact_deg": 2.0,
    "pronation_excursion_deg": 2.0,
    "peak_pronation_stance_pct": 3.0,
    "pelvic_drop_deg": 1.0,
    "pelvic_obliquity_range_deg": 1.0,
}
WALKS = (
    ("healthy", 201),
    ("left-hip-ir-deficit", 202),
    ("right-glute-med", 203),
    ("left-ankle-df-limit", 305),
)


def main() -> None:
    print(".venv/bin/python benchmarks/analysis_bench.py")
    print("\nper-stride RMSE against the truth, 10-min walks (straight strides, both sides):")
    print(f"  {'metric':<40}" + "".join(f"{d:>22}" for d, _ in WALKS) + "   bar")
    results = []
    for driver, seed in WALKS:
        walk = simulate_walk(WalkConfig(minutes=10, seed=seed, driver=driver, errors=ImuErrors()))
        results.append(stride_errors(walk, analyze(walk.recording())))
    for metric, bar in BARS.items():
        values = [r.rmse(metric) for r in results]
        verdict = "met" if max(values) <= bar else "NOT met"
        print(f"  {metric:<40}" + "".join(f"{v:22.2f}" for v in values) + f"   {bar:g} {verdict}")
    print("\nevent timing, estimate minus truth [ms] (mean / SD over both sides):")
    for name in ("initial_contact_s", "final_contact_s"):
        cells = []
        for r in results:
            e = np.concatenate([getattr(r, name)[s] for s in ("left", "right")]) * 1e3
            cells.append(f"{e.mean():+6.1f} / {e.std():4.1f}")
        print(f"  {name:<40}" + "".join(f"{c:>22}" for c in cells) + "   bar |mean| <= 10")
    found = [sum(r.matched.values()) for r in results]
    total = [sum(r.strides.values()) for r in results]
    print(f"  straight strides matched to a true stride: {found} of {total}")

    walk = simulate_walk(WalkConfig(minutes=60, seed=204, errors=ImuErrors()))
    recording = walk.recording()
    started = time.process_time()
    analysis = analyze(recording)
    cpu_s = time.process_time() - started
    steps = analysis.to_json()["summary"]["step_count"]
    print(
        f"\n1 h of 5 pods at 120 Hz ({steps} steps): analysed in {cpu_s:.1f} s of CPU "
        f"(bar 30 s: {'met' if cpu_s <= 30 else 'NOT met'}; {3600 / cpu_s:.0f}x real time)"
    )


if __name__ == "__main__":
    main()
