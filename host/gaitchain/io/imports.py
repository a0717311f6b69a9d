"""Recordings from other tools' files, as open-format `Recording`s.

- Xsens MT Manager text exports: see `xsens` (read through recording.json).
- gaitmap-style CSV (the layout of gaitmap's example data): a first header row naming the sensor
  of each column (`left_sensor`, `right_sensor`), a second naming the axis (`acc_x` ... `gyr_z`),
  then one row per sample whose first column is the sample index; acceleration in m/s², angular
  rate in deg/s. The file has no times, so the sampling rate must be given. Sensors are foot pods
  (gaitmap's convention); their side comes from the sensor name.
"""

import csv
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .recording import PodRecording, Recording, RecordingError

FloatArray = NDArray[np.float64]
AXES: Final = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")


def read_gaitmap_csv(path: Path | str, *, rate_hz: float, segment: str = "foot") -> Recording:
    path = Path(path)
    if not rate_hz > 0:
        raise RecordingError(
            f"{path}: give the sampling rate (e.g. --rate-hz 204.8); got {rate_hz}"
        )
    with path.open(newline="") as f:
        reader = csv.reader(f)
        try:
            sensors = next(reader)
            axes = next(reader)
        except StopIteration:
            raise RecordingError(f"{path}: needs two header rows (sensor, axis)") from None
    if len(sensors) != len(axes) or sensors[0] != "sensor" or axes[0] != "axis":
        raise RecordingError(
            f"{path}: not a gaitmap-style CSV: the first two rows must start with 'sensor' and "
            "'axis' and have the same number of columns"
        )
    try:
        data = np.loadtxt(path, delimiter=",", skiprows=2, ndmin=2)
    except ValueError as error:
        raise RecordingError(f"{path}: a value is not a number ({error})") from None
    if data.shape[1] != len(axes) or not np.all(np.isfinite(data)):
        raise RecordingError(f"{path}: rows must have {len(axes)} finite numbers")
    pods: list[PodRecording] = []
    for sensor in dict.fromkeys(sensors[1:]):
        side = sensor.split("_")[0]
        if side not in ("left", "right"):
            raise RecordingError(f"{path}: sensor {sensor!r} does not start with left_ or right_")
        columns = {axes[i]: i for i, name in enumerate(sensors) if name == sensor}
        missing = [a for a in AXES if a not in columns]
        if missing:
            raise RecordingError(f"{path}: sensor {sensor} lacks columns {', '.join(missing)}")
        acc = data[:, [columns[a] for a in AXES[:3]]]
        gyr = np.radians(data[:, [columns[a] for a in AXES[3:]]])
        t_s = data[:, 0] / rate_hz
        pods.append(PodRecording(f"{side}_{segment}.csv", segment, side, t_s, acc, gyr))
    return Recording(pods, {"source": f"gaitmap-style CSV {path.name}", "rate_hz": rate_hz})
