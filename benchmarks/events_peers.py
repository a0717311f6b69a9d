"""gaitmap's Rampp and Herzer event detectors on the gaitmap example; run by events_bench.py in
its own environment (.venv-peers: gaitmap pins an older numpy than gaitchain uses).

Prints `RESULT detector foot event mean_ms sd_ms found total` lines.
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from gaitmap.event_detection import HerzerEventDetection, RamppEventDetection
from gaitmap.utils.coordinate_conversion import convert_to_fbf

DATA = Path(sys.argv[1])
RATE_HZ = 204.8

imu = pd.read_csv(DATA / "imu_sample.csv", header=[0, 1], index_col=0)
imu = convert_to_fbf(imu, left_like="left_", right_like="right_")
borders = pd.read_csv(DATA / "stride_borders_sample.csv", index_col=0)
reference = pd.read_csv(DATA / "stride_events_sample.csv", index_col=0)
stride_list = {
    f"{foot}_sensor": borders[borders["foot"] == foot][["start", "end"]]
    for foot in ("left", "right")
}
for name, detector in (("rampp", RamppEventDetection()), ("herzer", HerzerEventDetection())):
    detector.detect(imu, stride_list, sampling_rate_hz=RATE_HZ)
    for foot in ("left", "right"):
        found = detector.segmented_event_list_[f"{foot}_sensor"]
        truth = reference[reference["foot"] == foot]
        for event, column in (("ic", "ic"), ("fc", "tc")):
            event_column = "tc" if event == "fc" else event
            detected = found[event_column].dropna().to_numpy(dtype=float)
            errors = (
                np.array([detected[np.argmin(np.abs(detected - t))] - t for t in truth[column]])
                / RATE_HZ
                * 1e3
            )
            ok = np.abs(errors) < 100
            print(
                f"RESULT {name} {foot} {event} {errors[ok].mean():.1f} {errors[ok].std():.1f} "
                f"{int(ok.sum())} {len(errors)}"
            )
