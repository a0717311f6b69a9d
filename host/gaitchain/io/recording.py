"""The open recording format: a directory with `recording.json` and one CSV per pod.

    recording.json = {"format": "gaitchain-recording", "version": 1,
                      "pods": [{"file": "left_foot.csv", "segment": "foot", "side": "left"}, ...]}

Each CSV has the header `t_s,acc_x_mps2,acc_y_mps2,acc_z_mps2,gyr_x_radps,gyr_y_radps,gyr_z_radps`,
optionally followed by `,mag_x_ut,mag_y_ut,mag_z_ut`: sensor frame, SI units, one time base shared
by all pods of the recording. Extra keys in recording.json (top level or per pod) are kept and
written back; readers ignore what they do not know.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, cast

import numpy as np
from numpy.typing import NDArray

from .errors import RecordingError
from .xsens import read_xsens_mt_text

FloatArray = NDArray[np.float64]

FORMAT: Final = "gaitchain-recording"
VERSION: Final = 1
BASE_COLUMNS: Final = (
    "t_s",
    "acc_x_mps2",
    "acc_y_mps2",
    "acc_z_mps2",
    "gyr_x_radps",
    "gyr_y_radps",
    "gyr_z_radps",
)
MAG_COLUMNS: Final = ("mag_x_ut", "mag_y_ut", "mag_z_ut")
SEGMENTS: Final = ("pelvis", "thigh", "shank", "foot")
SIDES: Final = ("left", "right", "center")


@dataclass
class PodRecording:
    file: str
    segment: str
    side: str
    t_s: FloatArray
    acc_mps2: FloatArray
    gyr_radps: FloatArray
    mag_ut: FloatArray | None = None
    extra: dict[str, Any] = field(default_factory=dict[str, Any])

    @property
    def name(self) -> str:
        return self.segment if self.side == "center" else f"{self.side}_{self.segment}"

    @property
    def rate_hz(self) -> float:
        return float((self.t_s.shape[0] - 1) / (self.t_s[-1] - self.t_s[0]))


@dataclass
class Recording:
    pods: list[PodRecording]
    extra: dict[str, Any] = field(default_factory=dict[str, Any])

    def pod(self, segment: str, side: str) -> PodRecording | None:
        for pod in self.pods:
            if (pod.segment, pod.side) == (segment, side):
                return pod
        return None


def _check_pod_entry(entry: object, index: int) -> dict[str, Any]:
    where = f"recording.json pods[{index}]"
    if not isinstance(entry, dict):
        raise RecordingError(f"{where} must be an object with file, segment and side")
    pod = {str(k): v for k, v in cast(dict[object, Any], entry).items()}
    for key in ("file", "segment", "side"):
        if not isinstance(pod.get(key), str):
            raise RecordingError(f"{where} needs a string {key!r}")
    if pod["segment"] not in SEGMENTS:
        raise RecordingError(
            f"{where} segment {pod['segment']!r} is not one of {', '.join(SEGMENTS)}"
        )
    if pod["side"] not in SIDES:
        raise RecordingError(f"{where} side {pod['side']!r} is not one of {', '.join(SIDES)}")
    if "/" in pod["file"] or "\\" in pod["file"] or pod["file"].startswith("."):
        raise RecordingError(
            f"{where} file {pod['file']!r} must be a plain file name in the directory"
        )
    return pod


def read_pod_csv(path: Path) -> tuple[FloatArray, bool]:
    """One pod's CSV as (n, 7 or 10) floats and whether it has magnetometer columns."""
    if not path.is_file():
        raise RecordingError(f"{path} is listed in recording.json but does not exist")
    with path.open() as f:
        header = f.readline().strip().split(",")
    with_mag = tuple(header) == BASE_COLUMNS + MAG_COLUMNS
    if tuple(header) != BASE_COLUMNS and not with_mag:
        raise RecordingError(
            f"{path}: header must be {','.join(BASE_COLUMNS)} (optionally followed by "
            f"{','.join(MAG_COLUMNS)}), found {','.join(header)}"
        )
    try:
        data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2, dtype=np.float64)
    except ValueError as error:
        raise RecordingError(f"{path}: {_first_bad_line(path, len(header))} ({error})") from None
    if data.shape[0] < 2:
        raise RecordingError(f"{path} holds {data.shape[0]} samples; a recording needs at least 2")
    if data.shape[1] != len(header):
        raise RecordingError(f"{path}: rows have {data.shape[1]} values, the header {len(header)}")
    if not np.all(np.isfinite(data)):
        row = int(np.nonzero(~np.all(np.isfinite(data), axis=1))[0][0])
        raise RecordingError(f"{path} line {row + 2}: a value is not a finite number")
    steps = np.diff(data[:, 0])
    if np.any(steps <= 0):
        row = int(np.nonzero(steps <= 0)[0][0])
        raise RecordingError(
            f"{path} line {row + 3}: t_s {data[row + 1, 0]!r} does not increase "
            f"(previous {data[row, 0]!r}); samples must be in time order without repeats"
        )
    return data, with_mag


def _first_bad_line(path: Path, columns: int) -> str:
    with path.open() as f:
        for number, line in enumerate(f, start=1):
            if number == 1:
                continue
            values = line.strip().split(",")
            if len(values) != columns:
                return f"line {number} has {len(values)} values, the header has {columns}"
            for value in values:
                try:
                    float(value)
                except ValueError:
                    return f"line {number}: {value!r} is not a number"
    return "the file is not numeric CSV"


def read_recording(directory: Path | str) -> Recording:
    """Read a recording directory, refusing anything malformed with a `RecordingError`."""
    directory = Path(directory)
    index_path = directory / "recording.json"
    if not index_path.is_file():
        raise RecordingError(
            f"{directory} has no recording.json; is it a gaitchain recording directory?"
        )
    try:
        index: object = json.loads(index_path.read_text())
    except json.JSONDecodeError as error:
        raise RecordingError(f"{index_path} is not valid JSON: {error}") from None
    if not isinstance(index, dict):
        raise RecordingError(f"{index_path} must hold a JSON object")
    top = {str(k): v for k, v in cast(dict[object, Any], index).items()}
    if top.get("format") != FORMAT:
        raise RecordingError(
            f"{index_path}: format must be {FORMAT!r}, found {top.get('format')!r}"
        )
    version = top.get("version")
    if not isinstance(version, int) or version < 1:
        raise RecordingError(f"{index_path}: version must be a positive integer, found {version!r}")
    if version > VERSION:
        raise RecordingError(
            f"{index_path} is format version {version}; "
            f"this gaitchain reads up to {VERSION}: update it"
        )
    entries = top.get("pods")
    if not isinstance(entries, list) or not entries:
        raise RecordingError(f"{index_path}: pods must be a non-empty list")
    pods: list[PodRecording] = []
    seen: set[tuple[str, str]] = set()
    for i, entry in enumerate(cast(list[object], entries)):
        pod = _check_pod_entry(entry, i)
        key = (pod["segment"], pod["side"])
        if key in seen:
            raise RecordingError(f"{index_path}: two pods are the {pod['side']} {pod['segment']}")
        seen.add(key)
        extra = {k: v for k, v in pod.items() if k not in ("file", "segment", "side")}
        file_format = extra.get("format", "csv")
        if file_format == "xsens-mt-text":
            t_s, acc, gyr, mag = read_xsens_mt_text(directory / pod["file"])
        elif file_format == "csv":
            data, with_mag = read_pod_csv(directory / pod["file"])
            t_s, acc, gyr = data[:, 0], data[:, 1:4], data[:, 4:7]
            mag = data[:, 7:10] if with_mag else None
        else:
            raise RecordingError(
                f"{index_path} pods[{i}] format {file_format!r} is not csv or xsens-mt-text"
            )
        pods.append(
            PodRecording(pod["file"], pod["segment"], pod["side"], t_s, acc, gyr, mag, extra)
        )
    extra = {k: v for k, v in top.items() if k not in ("format", "version", "pods")}
    return Recording(pods, extra)


def write_recording(directory: Path | str, recording: Recording) -> Path:
    """Write a recording directory (created if needed); same data gives the same bytes."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    entries: list[dict[str, Any]] = []
    for pod in recording.pods:
        n = pod.t_s.shape[0]
        if pod.acc_mps2.shape != (n, 3) or pod.gyr_radps.shape != (n, 3):
            raise RecordingError(f"pod {pod.name}: acc and gyr must be ({n}, 3) like t_s")
        columns = [pod.t_s[:, None], pod.acc_mps2, pod.gyr_radps]
        header: list[str] = [*BASE_COLUMNS]
        formats = ["%.6f"] + ["%.5f"] * 3 + ["%.6f"] * 3
        if pod.mag_ut is not None:
            columns.append(pod.mag_ut)
            header += MAG_COLUMNS
            formats += ["%.3f"] * 3
        data = np.hstack(columns)
        if not np.all(np.isfinite(data)):
            raise RecordingError(f"pod {pod.name}: values must be finite numbers")
        np.savetxt(
            directory / pod.file,
            data,
            fmt=formats,
            delimiter=",",
            header=",".join(header),
            comments="",
        )
        entries.append({"file": pod.file, "segment": pod.segment, "side": pod.side, **pod.extra})
    index = {"format": FORMAT, "version": VERSION, "pods": entries, **recording.extra}
    (directory / "recording.json").write_text(json.dumps(index, indent=1, sort_keys=False) + "\n")
    return directory
