"""Orientation accuracy on BROAD and throughput of the online filter, next to VQF in the same run.

    .venv/bin/python benchmarks/fusion_broad.py

Accuracy: the three BROAD trials in ../shared/data/broad (CC BY 4.0), errors as BROAD defines
them (error quaternion q_est ⊗ conj(q_gt) in the earth frame; total angle, heading 2·atan|z/w|,
inclination 2·acos√(w²+z²); RMS over the `movement` samples, NaN ground truth skipped; no
alignment of estimate and ground truth, as in BROAD's own evaluation of 9D filters). Rows: VQF
online 9D with default parameters (the reference; documented mean on these trials 2.68° total,
2.42° heading, 1.13° inclination), VQF offline 9D, and gaitchain's `VqfOrientation` online and
offline. Bars: our online no worse than VQF online, our offline better than VQF online.

Throughput: the online filter (and, for reference, the offline one) on one core, on trial 21 tiled
to over a million samples, best of five runs, next to VQF's own batch call on the same data.
The process pins itself to one CPU.
"""

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import vqf
from gaitchain.fusion import OrientationRmseDeg, VqfOrientation, orientation_rmse_deg
from numpy.typing import NDArray

BROAD_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "broad"
TRIALS = (
    "02_undisturbed_slow_rotation_B",
    "21_undisturbed_fast_combined",
    "30_disturbed_stationary_magnet_C",
)
LABELS = {
    "02_undisturbed_slow_rotation_B": "02 slow rotation",
    "21_undisturbed_fast_combined": "21 fast combined",
    "30_disturbed_stationary_magnet_C": "30 magnet nearby",
}
DOCUMENTED_VQF = OrientationRmseDeg(2.68, 2.42, 1.13)
THROUGHPUT_TARGET_SPS = 1e6

FloatArray = NDArray[np.float64]


class Trial:
    def __init__(self, path: Path) -> None:
        with np.load(path) as data:
            self.fs_hz = float(data["fs"])
            self.acc = np.ascontiguousarray(data["acc"], dtype=np.float64)
            self.gyr = np.ascontiguousarray(data["gyr"], dtype=np.float64)
            self.mag = np.ascontiguousarray(data["mag"], dtype=np.float64)
            self.quat_gt = np.asarray(data["quat_gt"], dtype=np.float64)
            self.movement = np.asarray(data["movement"], dtype=np.bool_)


def _vqf_online(trial: Trial) -> FloatArray:
    out = vqf.VQF(1.0 / trial.fs_hz).updateBatch(trial.gyr, trial.acc, trial.mag)
    return np.asarray(out["quat9D"], dtype=np.float64)


def _vqf_offline(trial: Trial) -> FloatArray:
    out = vqf.offlineVQF(trial.gyr, trial.acc, trial.mag, 1.0 / trial.fs_hz)
    return np.asarray(out["quat9D"], dtype=np.float64)


def _ours(mode: str) -> Callable[[Trial], FloatArray]:
    def run(trial: Trial) -> FloatArray:
        est = VqfOrientation("offline" if mode == "offline" else "online")
        est.estimate(trial.acc, trial.gyr, trial.mag, sampling_rate_hz=trial.fs_hz)
        return est.orientation_

    return run


METHODS: dict[str, Callable[[Trial], FloatArray]] = {
    "VQF online 9D (reference)": _vqf_online,
    "VQF offline 9D": _vqf_offline,
    "gaitchain online": _ours("online"),
    "gaitchain offline": _ours("offline"),
}


def _mean(rows: list[OrientationRmseDeg]) -> OrientationRmseDeg:
    return OrientationRmseDeg(*(float(v) for v in np.mean(np.array(rows), axis=0)))


def accuracy(trials: dict[str, Trial]) -> None:
    print("BROAD orientation RMSE [deg] over movement samples (total / heading / inclination):")
    results: dict[str, list[OrientationRmseDeg]] = {name: [] for name in METHODS}
    for trial in trials.values():
        for name, method in METHODS.items():
            results[name].append(orientation_rmse_deg(method(trial), trial.quat_gt, trial.movement))
    header = "".join(f"{LABELS[name]:>22}" for name in trials) + f"{'mean of 3':>22}"
    print(f"  {'':<26}{header}")
    print(f"  {'':<26}" + f"{'total':>8}{'head':>7}{'incl':>7}" * (len(trials) + 1))
    means: dict[str, OrientationRmseDeg] = {}
    for name, rows in results.items():
        means[name] = _mean(rows)
        cells = "".join(
            f"{r.total_deg:>8.2f}{r.heading_deg:>7.2f}{r.inclination_deg:>7.2f}"
            for r in [*rows, means[name]]
        )
        print(f"  {name:<26}{cells}")
    doc = DOCUMENTED_VQF
    print(
        f"  documented VQF online mean: {doc.total_deg:.2f} / {doc.heading_deg:.2f} / "
        f"{doc.inclination_deg:.2f}"
    )
    print("  latency of the magnetometer behind the gyroscope, estimated from the data (offline):")
    for name, trial in trials.items():
        est = VqfOrientation("offline").estimate(
            trial.acc, trial.gyr, trial.mag, sampling_rate_hz=trial.fs_hz
        )
        print(f"    {name:<36}{(est.mag_latency_s_ or 0.0) * 1e3:6.1f} ms")

    ref = means["VQF online 9D (reference)"]
    online = means["gaitchain online"]
    offline = means["gaitchain offline"]
    metrics = ("total_deg", "heading_deg", "inclination_deg")
    # "no worse" up to float rounding: the inclination is VQF's own, the same to ~1e-12 deg
    online_ok = all(getattr(online, f) <= getattr(ref, f) + 1e-6 for f in metrics)
    offline_ok = offline.total_deg < ref.total_deg
    print(
        f"  bar: our online no worse than VQF online (every mean): "
        f"{'met' if online_ok else 'NOT met'} ({online.total_deg:.2f} vs {ref.total_deg:.2f} total)"
    )
    print(
        f"  bar: our offline better than VQF online (mean total): "
        f"{'met' if offline_ok else 'NOT met'} ({offline.total_deg:.2f} vs {ref.total_deg:.2f})"
    )


def _best_of(runs: int, function: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def throughput(trial: Trial) -> None:
    repeats = 20
    acc = np.ascontiguousarray(np.tile(trial.acc, (repeats, 1)))
    gyr = np.ascontiguousarray(np.tile(trial.gyr, (repeats, 1)))
    mag = np.ascontiguousarray(np.tile(trial.mag, (repeats, 1)))
    n = acc.shape[0]
    fs = trial.fs_hz
    ts = 1.0 / fs
    runs: dict[str, Callable[[], object]] = {
        "VQF online 9D (VQF.updateBatch)": lambda: vqf.VQF(ts).updateBatch(gyr, acc, mag),
        "gaitchain online 9D": lambda: VqfOrientation().estimate(
            acc, gyr, mag, sampling_rate_hz=fs
        ),
        "VQF online 6D (VQF.updateBatch)": lambda: vqf.VQF(ts).updateBatch(gyr, acc),
        "gaitchain online 6D": lambda: VqfOrientation().estimate(acc, gyr, sampling_rate_hz=fs),
        "VQF offline 9D (offlineVQF)": lambda: vqf.offlineVQF(gyr, acc, mag, ts),
        "gaitchain offline 9D": lambda: VqfOrientation("offline").estimate(
            acc, gyr, mag, sampling_rate_hz=fs
        ),
    }
    print(f"throughput on one core, trial 21 tiled {repeats}x ({n:,} samples), best of 5:")
    rates: dict[str, float] = {}
    for name, run in runs.items():
        rates[name] = n / _best_of(5, run)
        print(f"  {name:<34}{rates[name] / 1e6:8.2f} M samples/s")
    ours = rates["gaitchain online 9D"]
    realtime_sps = 5 * 480
    print(f"  real time, 5 pods x 480 Hz: our online 9D runs {ours / realtime_sps:,.0f}x faster")
    print(
        f"  target: online >= {THROUGHPUT_TARGET_SPS / 1e6:.0f} M samples/s/core: "
        f"{'met' if ours >= THROUGHPUT_TARGET_SPS else 'NOT met'}"
    )


def main() -> None:
    print("$ " + " ".join([os.path.relpath(sys.executable), *sys.argv]))
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        print(f"(pinned to CPU {cpu}; numpy {np.__version__}, Python {sys.version.split()[0]})")
    missing = [name for name in TRIALS if not (BROAD_DIR / f"{name}.npz").is_file()]
    if missing:
        sys.exit(f"BROAD trials missing in {BROAD_DIR}: {', '.join(missing)}")
    trials = {name: Trial(BROAD_DIR / f"{name}.npz") for name in TRIALS}
    print()
    accuracy(trials)
    print()
    throughput(trials[TRIALS[1]])


if __name__ == "__main__":
    main()
