"""Simulator speed: 10 minutes of 5 pods at 120 Hz, against real time and the 10 s target.

taskset -c 0 .venv/bin/python benchmarks/sim_bench.py
"""

import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from gaitchain.sim.walk import WalkConfig, simulate_walk


def main() -> None:
    minutes = 10.0
    runs: list[float] = []
    samples = 0
    for seed in (1, 2, 3):
        started = time.perf_counter()
        walk = simulate_walk(WalkConfig(minutes=minutes, seed=seed, rate_hz=120.0))
        runs.append(time.perf_counter() - started)
        samples = sum(p.t_s.shape[0] for p in walk.pods)
    best = min(runs)
    print(f"simulate {minutes:g} min, 5 pods at 120 Hz ({samples:,} samples), best of 3 seeds:")
    print(f"  gaitchain sim           {best:6.2f} s  ({samples / best / 1e3:,.0f} k samples/s)")
    print(f"  real time               {minutes * 60:6.0f} s  ({minutes * 60 / best:,.0f}x faster)")
    print(f"  target <= 10 s on one core: {'met' if best <= 10.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
