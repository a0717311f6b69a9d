"""Xsens MT Manager text exports, one file per sensor.

List them in a recording.json like the open format's CSVs, with `"format": "xsens-mt-text"` on
each pod entry; `read_recording` then reads them with `read_xsens_mt_text`.
"""

from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .errors import RecordingError

FloatArray = NDArray[np.float64]
XSENS_TICK_S: Final = 1e-4
"""`SampleTimeFine` counts 10 kHz ticks (Xsens MT Manager / MTw), wrapping at 2**32."""


def read_xsens_mt_text(path: Path) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray | None]:
    """An Xsens MT Manager text export: t_s, acc (m/s²), gyr (rad/s) and mag (a.u., or None).

    Lines starting with `//` are comments; the first other line names the tab-separated columns,
    which must include `SampleTimeFine`, `Acc_X..Z` and `Gyr_X..Z` (rad/s, MT Manager's default);
    `Mag_X..Z` is optional. Times come from `SampleTimeFine` (unwrapped, not shifted), so sensors
    recorded in one session share a time base.
    """
    if not path.is_file():
        raise RecordingError(f"{path} is listed in recording.json but does not exist")
    header: list[str] | None = None
    skip = 0
    with path.open() as f:
        for line in f:
            skip += 1
            if line.startswith("//") or not line.strip():
                continue
            header = line.rstrip("\n").split("\t")
            break
    if header is None:
        raise RecordingError(f"{path}: no column header found (an Xsens MT text export?)")
    names = [h.strip() for h in header]
    needed = ["SampleTimeFine", *(f"{q}_{a}" for q in ("Acc", "Gyr") for a in "XYZ")]
    missing = [n for n in needed if n not in names]
    if missing:
        raise RecordingError(
            f"{path}: columns {', '.join(missing)} missing; export SampleTimeFine, "
            "Acc and Gyr from MT Manager"
        )
    try:
        data = np.loadtxt(path, delimiter="\t", skiprows=skip, ndmin=2, comments="//")
    except ValueError as error:
        raise RecordingError(f"{path}: a value is not a number ({error})") from None
    if data.shape[0] < 2 or data.shape[1] != len(names):
        raise RecordingError(f"{path}: needs at least 2 rows of {len(names)} values")

    def columns(quantity: str) -> FloatArray:
        return data[:, [names.index(f"{quantity}_{a}") for a in "XYZ"]]

    ticks = np.unwrap(data[:, names.index("SampleTimeFine")], period=2.0**32)
    t_s = ticks * XSENS_TICK_S
    if np.any(np.diff(t_s) <= 0):
        raise RecordingError(f"{path}: SampleTimeFine does not increase")
    mag = columns("Mag") if all(f"Mag_{a}" in names for a in "XYZ") else None
    return t_s, columns("Acc"), columns("Gyr"), mag
