"""Per-pod IMU calibration records: versioned JSON, one file per pod id in a directory.

    DIR/pod-0102.json = {"format": "gaitchain-imu-calibration", "version": 1, "pod_id": 258,
                         "created_utc": "...", "gaitchain_version": "...",
                         "gyroscope": {...}, "accelerometer": {...}, "magnetometer": {...} | null,
                         "sources": [{"step": "rest", "file": "rest.csv", ...}, ...]}

The file is named after the pod id as the pod advertises it (`gaitchain-0102`: four hex digits).
The calibration models are those of `gaitchain.fusion.imu_calibration`:
`gyr = raw - bias_radps`, `acc = matrix @ (raw - offset_mps2)`,
`mag = soft_iron_matrix @ (raw - hard_iron_ut)`. `calibration/README.md` documents every field and
`calibration/schema/imu-calibration-v1.json` is the JSON Schema; `REQUIRED_FIELDS` here is the
list both follow (a test keeps them equal). Extra keys (top level or in a section) are allowed and
kept. Readers refuse a record with a `CalibrationRecordError` naming the file and the field;
writers validate before writing and replace the file in one step, so a failure leaves nothing
half-written.
"""

import json
import math
import os
import re
import tempfile
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, cast

import numpy as np
from numpy.typing import NDArray

from .io.recording import PodRecording, Recording

FloatArray = NDArray[np.float64]

FORMAT: Final = "gaitchain-imu-calibration"
VERSION: Final = 1
ACC_METHODS: Final = ("six-position", "ellipsoid")
POD_ID_MAX: Final = 0xFFFF
REQUIRED_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "record": (
        "format",
        "version",
        "pod_id",
        "created_utc",
        "gaitchain_version",
        "gyroscope",
        "accelerometer",
        "magnetometer",
        "sources",
    ),
    "gyroscope": ("bias_radps", "rest_duration_s"),
    "accelerometer": (
        "method",
        "offset_mps2",
        "matrix",
        "gravity_mps2",
        "poses",
        "residual_rms_mps2",
    ),
    "magnetometer": (
        "hard_iron_ut",
        "soft_iron_matrix",
        "field_ut",
        "coverage_fraction",
        "residual_rms_ut",
    ),
    "source": ("step", "file", "sha256", "samples"),
}
"""Required keys of the record and of each section (the JSON Schema's `required` lists)."""


class CalibrationRecordError(ValueError):
    """A calibration record that cannot be read or written; the message names file and field."""


@dataclass
class GyroscopeCalibration:
    bias_radps: FloatArray
    rest_duration_s: float
    extra: dict[str, Any] = field(default_factory=dict[str, Any])


@dataclass
class AccelerometerCalibration:
    method: str
    offset_mps2: FloatArray
    matrix: FloatArray
    gravity_mps2: float
    poses: int
    residual_rms_mps2: float
    extra: dict[str, Any] = field(default_factory=dict[str, Any])


@dataclass
class MagnetometerCalibration:
    hard_iron_ut: FloatArray
    soft_iron_matrix: FloatArray
    field_ut: float
    coverage_fraction: float
    residual_rms_ut: float
    extra: dict[str, Any] = field(default_factory=dict[str, Any])


@dataclass
class CalibrationSource:
    """One capture a record was made from."""

    step: str
    file: str
    sha256: str
    samples: int
    extra: dict[str, Any] = field(default_factory=dict[str, Any])


@dataclass
class ImuCalibrationRecord:
    pod_id: int
    created_utc: str
    gaitchain_version: str
    gyroscope: GyroscopeCalibration
    accelerometer: AccelerometerCalibration
    magnetometer: MagnetometerCalibration | None
    sources: list[CalibrationSource]
    extra: dict[str, Any] = field(default_factory=dict[str, Any])

    def correct(
        self, acc_mps2: FloatArray, gyr_radps: FloatArray, mag_ut: FloatArray | None = None
    ) -> tuple[FloatArray, FloatArray, FloatArray | None]:
        """Calibrated `(n, 3)` (or `(3,)`) accelerometer, gyroscope and magnetometer readings.

        A record without a magnetometer section passes `mag_ut` through unchanged.
        """
        acc = (acc_mps2 - self.accelerometer.offset_mps2) @ self.accelerometer.matrix.T
        gyr = gyr_radps - self.gyroscope.bias_radps
        mag = mag_ut
        if mag_ut is not None and self.magnetometer is not None:
            m = self.magnetometer
            mag = (mag_ut - m.hard_iron_ut) @ m.soft_iron_matrix.T
        return acc, gyr, mag


def utc_now() -> str:
    """The current time as the record's `created_utc` (ISO 8601, seconds, `Z`)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- pod ids and paths -------------------------------------------------------------------------


def parse_pod_id(text: str) -> int:
    """A pod id as a person types it: `258`, `0x0102`, or the advertised name `gaitchain-0102`
    (also `gc-0102`), whose digits are hexadecimal."""
    value = text.strip().lower()
    match = re.fullmatch(r"(?:gaitchain-|gc-|0x)([0-9a-f]{1,4})", value)
    if match:
        return int(match.group(1), 16)
    if re.fullmatch(r"[0-9]+", value) and int(value) <= POD_ID_MAX:
        return int(value)
    raise CalibrationRecordError(
        f"pod id {text!r} is not 0 to {POD_ID_MAX}, 0x0000 to 0xffff or the pod's advertised "
        "name (gaitchain-0102)"
    )


def record_path(directory: Path | str, pod_id: int) -> Path:
    """`DIR/pod-XXXX.json`, the pod id in four hex digits as the pod advertises it."""
    if not 0 <= pod_id <= POD_ID_MAX:
        raise CalibrationRecordError(f"pod_id {pod_id} is outside 0 to {POD_ID_MAX}")
    return Path(directory) / f"pod-{pod_id:04x}.json"


# -- to and from JSON ------------------------------------------------------------------------


def _floats(values: FloatArray) -> list[Any]:
    return cast(list[Any], np.asarray(values, dtype=np.float64).tolist())


def record_to_dict(record: ImuCalibrationRecord) -> dict[str, Any]:
    g, a, m = record.gyroscope, record.accelerometer, record.magnetometer
    magnetometer: dict[str, Any] | None = None
    if m is not None:
        magnetometer = {
            "hard_iron_ut": _floats(m.hard_iron_ut),
            "soft_iron_matrix": _floats(m.soft_iron_matrix),
            "field_ut": m.field_ut,
            "coverage_fraction": m.coverage_fraction,
            "residual_rms_ut": m.residual_rms_ut,
            **m.extra,
        }
    return {
        "format": FORMAT,
        "version": VERSION,
        "pod_id": record.pod_id,
        "created_utc": record.created_utc,
        "gaitchain_version": record.gaitchain_version,
        "gyroscope": {
            "bias_radps": _floats(g.bias_radps),
            "rest_duration_s": g.rest_duration_s,
            **g.extra,
        },
        "accelerometer": {
            "method": a.method,
            "offset_mps2": _floats(a.offset_mps2),
            "matrix": _floats(a.matrix),
            "gravity_mps2": a.gravity_mps2,
            "poses": a.poses,
            "residual_rms_mps2": a.residual_rms_mps2,
            **a.extra,
        },
        "magnetometer": magnetometer,
        "sources": [
            {"step": s.step, "file": s.file, "sha256": s.sha256, "samples": s.samples, **s.extra}
            for s in record.sources
        ],
        **record.extra,
    }


class _Reader:
    """Field checks for one record; every error names `where` and the field's path."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, path: str, problem: str) -> CalibrationRecordError:
        return CalibrationRecordError(f"{self.where}: {path} {problem}")

    def section(self, value: object, path: str, section: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, "must be a JSON object")
        items = {str(k): v for k, v in cast(dict[object, Any], value).items()}
        for key in REQUIRED_FIELDS[section]:
            if key not in items:
                raise self.fail(f"{path}.{key}" if path != "record" else key, "is missing")
        return items

    def number(self, value: object, path: str, low: float, high: float, unit: str = "") -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(path, f"must be a number, found {value!r}")
        number = float(value)
        if not (math.isfinite(number) and low <= number <= high):
            raise self.fail(path, f"= {value!r} is outside {low:g} to {high:g}{unit}")
        return number

    def integer(self, value: object, path: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, f"must be an integer, found {value!r}")
        if not low <= value <= high:
            raise self.fail(path, f"= {value} is outside {low} to {high}")
        return value

    def string(self, value: object, path: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(path, f"must be a non-empty string, found {value!r}")
        return value

    def array(self, value: object, path: str, shape: tuple[int, ...], limit: float) -> FloatArray:
        what = "3 numbers" if shape == (3,) else "3 rows of 3 numbers"
        try:
            array = np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise self.fail(path, f"must be {what}, found {value!r}") from None
        if array.shape != shape or isinstance(value, str):
            raise self.fail(path, f"must be {what}, found {value!r}")
        flat: list[Any] = np.array(value, dtype=object).ravel().tolist()
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in flat):
            raise self.fail(path, f"must be {what}, found {value!r}")
        if not np.all(np.isfinite(array)) or np.abs(array).max() > limit:
            raise self.fail(path, f"must hold finite numbers within ±{limit:g}, found {value!r}")
        return array

    def matrix(self, value: object, path: str, limit: float) -> FloatArray:
        matrix = self.array(value, path, (3, 3), limit)
        if np.linalg.det(matrix) <= 0.0:
            raise self.fail(
                path,
                "must have a positive determinant (it maps the sensor's axes onto "
                "themselves); was a row or column swapped or negated?",
            )
        return matrix

    def extras(self, items: dict[str, Any], section: str) -> dict[str, Any]:
        return {k: v for k, v in items.items() if k not in REQUIRED_FIELDS[section]}


def record_from_dict(data: object, where: str = "record") -> ImuCalibrationRecord:
    """A record from parsed JSON, refusing anything malformed with `CalibrationRecordError`."""
    read = _Reader(where)
    if not isinstance(data, dict):
        raise read.fail("the record", "must be a JSON object")
    top = {str(k): v for k, v in cast(dict[object, Any], data).items()}
    if top.get("format") != FORMAT:
        raise read.fail("format", f"must be {FORMAT!r}, found {top.get('format')!r}")
    version = top.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise read.fail("version", f"must be a positive integer, found {version!r}")
    if version > VERSION:
        raise read.fail(
            "version",
            f"is {version}; this gaitchain reads calibration records up to version {VERSION}: "
            "update gaitchain",
        )
    top = read.section(top, "record", "record")
    pod_id = read.integer(top["pod_id"], "pod_id", 0, POD_ID_MAX)
    created = read.string(top["created_utc"], "created_utc")
    try:
        stamp = datetime.fromisoformat(created)
    except ValueError:
        stamp = None
    if stamp is None or stamp.tzinfo is None:
        raise read.fail(
            "created_utc",
            f"must be an ISO 8601 time with its zone (2025-01-31T09:30:00Z), found {created!r}",
        )
    version_text = read.string(top["gaitchain_version"], "gaitchain_version")

    g = read.section(top["gyroscope"], "gyroscope", "gyroscope")
    gyroscope = GyroscopeCalibration(
        read.array(g["bias_radps"], "gyroscope.bias_radps", (3,), 1.0),
        read.number(g["rest_duration_s"], "gyroscope.rest_duration_s", 0.0, 86400.0, " s"),
        read.extras(g, "gyroscope"),
    )

    a = read.section(top["accelerometer"], "accelerometer", "accelerometer")
    method = read.string(a["method"], "accelerometer.method")
    if method not in ACC_METHODS:
        raise read.fail(
            "accelerometer.method", f"{method!r} is not one of {', '.join(ACC_METHODS)}"
        )
    accelerometer = AccelerometerCalibration(
        method,
        read.array(a["offset_mps2"], "accelerometer.offset_mps2", (3,), 20.0),
        read.matrix(a["matrix"], "accelerometer.matrix", 2.0),
        read.number(a["gravity_mps2"], "accelerometer.gravity_mps2", 9.7, 9.9, " m/s²"),
        read.integer(a["poses"], "accelerometer.poses", 6, 10_000),
        read.number(a["residual_rms_mps2"], "accelerometer.residual_rms_mps2", 0.0, 10.0, " m/s²"),
        read.extras(a, "accelerometer"),
    )

    magnetometer = None
    if top["magnetometer"] is not None:
        m = read.section(top["magnetometer"], "magnetometer", "magnetometer")
        magnetometer = MagnetometerCalibration(
            read.array(m["hard_iron_ut"], "magnetometer.hard_iron_ut", (3,), 5000.0),
            read.matrix(m["soft_iron_matrix"], "magnetometer.soft_iron_matrix", 10.0),
            read.number(m["field_ut"], "magnetometer.field_ut", 1.0, 1000.0, " µT"),
            read.number(m["coverage_fraction"], "magnetometer.coverage_fraction", 0.0, 1.0),
            read.number(m["residual_rms_ut"], "magnetometer.residual_rms_ut", 0.0, 1000.0, " µT"),
            read.extras(m, "magnetometer"),
        )

    entries = top["sources"]
    if not isinstance(entries, list):
        raise read.fail("sources", "must be a list")
    sources: list[CalibrationSource] = []
    for i, entry in enumerate(cast(list[object], entries)):
        path = f"sources[{i}]"
        s = read.section(entry, path, "source")
        sha256 = read.string(s["sha256"], f"{path}.sha256")
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise read.fail(f"{path}.sha256", f"must be 64 lower-case hex digits, found {sha256!r}")
        sources.append(
            CalibrationSource(
                read.string(s["step"], f"{path}.step"),
                read.string(s["file"], f"{path}.file"),
                sha256,
                read.integer(s["samples"], f"{path}.samples", 1, 2**53),
                read.extras(s, "source"),
            )
        )
    return ImuCalibrationRecord(
        pod_id,
        created,
        version_text,
        gyroscope,
        accelerometer,
        magnetometer,
        sources,
        read.extras(top, "record"),
    )


def _compact(text: str) -> str:
    """JSON with every innermost list of scalars on one line (vectors and matrix rows)."""

    def one_line(match: re.Match[str]) -> str:
        return "[" + ", ".join(item.strip() for item in match.group(1).split(",")) + "]"

    compact = re.sub(r"\[\s+([^\[\]{}\"]*?)\s+\]", one_line, text)
    return compact if json.loads(compact) == json.loads(text) else text


def record_json(record: ImuCalibrationRecord) -> str:
    """The record as the text `save_record` writes, after checking it reads back."""
    data = record_to_dict(record)
    where = f"record for pod {record.pod_id}"
    record_from_dict(data, where)
    try:
        text = json.dumps(data, indent=2, allow_nan=False, ensure_ascii=False) + "\n"
    except (TypeError, ValueError) as error:
        raise CalibrationRecordError(f"{where}: {error}") from None
    return _compact(text)


def save_record(
    record: ImuCalibrationRecord, directory: Path | str, *, force: bool = False
) -> Path:
    """Write `DIR/pod-XXXX.json` (the directory is created if needed) and return its path.

    An existing record is replaced only with `force`. The text is validated first and written to
    a temporary file that then replaces the target, so a failure leaves nothing half-written.
    """
    path = record_path(directory, record.pod_id)
    text = record_json(record)
    if path.exists() and not force:
        raise CalibrationRecordError(
            f"{path} exists; calibrating pod {record.pod_id:#06x} again replaces it only with "
            "--force"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            f.write(text)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def read_record(path: Path | str) -> ImuCalibrationRecord:
    """One record file, validated."""
    path = Path(path)
    try:
        data: object = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise CalibrationRecordError(f"{path} is not valid JSON: {error}") from None
    return record_from_dict(data, str(path))


def load_record(directory: Path | str, pod_id: int) -> ImuCalibrationRecord:
    """The record of `pod_id` in `directory`, refusing a missing file or one for another pod."""
    path = record_path(directory, pod_id)
    if not path.is_file():
        raise CalibrationRecordError(
            f"no calibration record for pod {pod_id:#06x} in {directory} (expected {path}); "
            "make one with gaitchain calibrate imu"
        )
    record = read_record(path)
    if record.pod_id != pod_id:
        raise CalibrationRecordError(
            f"{path}: pod_id is {record.pod_id}, but the file name says {pod_id}; "
            "rename the file or fix pod_id"
        )
    return record


def calibrate_recording(recording: Recording, directory: Path | str) -> tuple[Recording, list[str]]:
    """The recording with every pod that names its `pod_id` (258, "0x0102" or "gaitchain-0102")
    corrected by its record in `directory` (a pod_id without a record there is refused:
    `load_record`), and the names of the pods left as recorded because they name no pod_id."""
    pods: list[PodRecording] = []
    uncalibrated: list[str] = []
    for pod in recording.pods:
        if "pod_id" not in pod.extra:
            pods.append(pod)
            uncalibrated.append(pod.name)
            continue
        record = load_record(directory, parse_pod_id(str(pod.extra["pod_id"])))
        acc, gyr, mag = record.correct(pod.acc_mps2, pod.gyr_radps, pod.mag_ut)
        pods.append(replace(pod, acc_mps2=acc, gyr_radps=gyr, mag_ut=mag))
    return Recording(pods, recording.extra), uncalibrated
