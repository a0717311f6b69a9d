"""Gait events on the gaitmap example against motion capture, with gaitmap's detectors as peers.

    .venv/bin/python benchmarks/events_bench.py

gaitchain's foot-pod events and, in the same run, gaitmap's Rampp and Herzer event detectors
(given the reference stride borders, as gaitmap's own examples do). gaitmap pins an older numpy,
so the peers run in their own environment, `.venv-peers`, which this script creates on first use
(gaitmap and gaitmap_mad from PyPI; gaitmap_mad is AGPL-3 and is only run here, never shipped).
Bars: every reference stride found; initial and final contact mean error within +-15 ms, SD <= 12.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
from gaitchain.gait.events import FootEvents

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "gaitmap_example"
PEERS = REPO / ".venv-peers"
RATE_HZ = 204.8


def ours() -> list[tuple[str, str, str, float, float, int, int]]:
    samples = np.genfromtxt(DATA / "imu_sample_not_rotated.csv", delimiter=",", skip_header=2)
    reference = np.genfromtxt(
        DATA / "stride_events_sample.csv", delimiter=",", names=True, dtype=None, encoding=None
    )
    rows: list[tuple[str, str, str, float, float, int, int]] = []
    for foot, columns in (("left", slice(1, 7)), ("right", slice(7, 13))):
        data = samples[:, columns]
        found = FootEvents().detect(data[:, :3], np.radians(data[:, 3:]), sampling_rate_hz=RATE_HZ)
        truth = reference[reference["foot"] == foot]
        for event, estimate, column in (
            ("ic", found.initial_contact_s_, "ic"),
            ("fc", found.final_contact_s_, "tc"),
        ):
            detected = estimate[np.isfinite(estimate)]
            errors = (
                np.array(
                    [detected[np.argmin(np.abs(detected - t))] - t for t in truth[column] / RATE_HZ]
                )
                * 1e3
            )
            ok = np.abs(errors) < 100
            rows.append(
                (
                    "gaitchain",
                    foot,
                    event,
                    float(errors[ok].mean()),
                    float(errors[ok].std()),
                    int(ok.sum()),
                    len(errors),
                )
            )
    return rows


def peers() -> list[tuple[str, str, str, float, float, int, int]]:
    python = PEERS / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True)
        subprocess.run(
            [
                str(PEERS / "bin" / "pip"),
                "install",
                "--quiet",
                "gaitmap==2.6.0",
                "gaitmap_mad==2.6.0",
            ],
            check=True,
        )
    done = subprocess.run(
        [str(python), str(REPO / "benchmarks" / "events_peers.py"), str(DATA)],
        capture_output=True,
        text=True,
        check=True,
    )
    rows: list[tuple[str, str, str, float, float, int, int]] = []
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            _, name, foot, event, mean, sd, found, total = line.split()
            rows.append((name, foot, event, float(mean), float(sd), int(found), int(total)))
    return rows


def main() -> None:
    print(".venv/bin/python benchmarks/events_bench.py")
    print("event errors against motion capture, gaitmap example (ms; found / reference strides):")
    print(f"  {'detector':<11}{'foot':<7}{'event':<17}{'mean':>7}{'SD':>7}{'found':>9}")
    names = {"ic": "initial contact", "fc": "final contact"}
    rows = ours() + peers()
    for name, foot, event, mean, sd, found, total in rows:
        print(f"  {name:<11}{foot:<7}{names[event]:<17}{mean:7.1f}{sd:7.1f}{found:>6}/{total}")
    mine = [r for r in rows if r[0] == "gaitchain"]
    met = all(abs(r[3]) <= 15 and r[4] <= 12 and r[5] == r[6] for r in mine)
    print(f"  bars (all strides, |mean| <= 15 ms, SD <= 12 ms): {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
