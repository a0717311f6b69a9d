# pyright: strict
"""Calibration records: round trip, refusal of malformed records naming the field, and the JSON
Schema in calibration/schema kept equal to the loader's fields."""

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gaitchain.calibration_records import (
    FORMAT,
    POD_ID_MAX,
    REQUIRED_FIELDS,
    VERSION,
    AccelerometerCalibration,
    CalibrationRecordError,
    CalibrationSource,
    GyroscopeCalibration,
    ImuCalibrationRecord,
    MagnetometerCalibration,
    load_record,
    parse_pod_id,
    read_record,
    record_from_dict,
    record_json,
    record_path,
    record_to_dict,
    save_record,
)

REPO = Path(__file__).resolve().parents[3]
SCHEMA = REPO / "calibration" / "schema" / "imu-calibration-v1.json"
GUIDE = REPO / "calibration" / "README.md"


def _record(pod_id: int = 0x0102, mag: bool = True) -> ImuCalibrationRecord:
    rng = np.random.default_rng(1)
    soft = np.eye(3) + 0.03 * rng.normal(size=(3, 3))
    soft = (soft + soft.T) / 2
    soft /= np.linalg.det(soft) ** (1 / 3)
    return ImuCalibrationRecord(
        pod_id,
        "2025-01-31T09:30:00Z",
        "0.1.0",
        GyroscopeCalibration(rng.normal(0, 0.01, 3), 10.0, {"gyr_spread_radps": 3.5e-4}),
        AccelerometerCalibration(
            "six-position",
            rng.normal(0, 0.1, 3),
            np.eye(3) + 0.01 * rng.normal(size=(3, 3)),
            9.80665,
            6,
            0.0012,
            {"holds": 7},
        ),
        MagnetometerCalibration(rng.normal(0, 10, 3), soft, 48.41, 0.86, 0.3) if mag else None,
        [
            CalibrationSource("rest", "rest.csv", "ab" * 32, 1200, {"rate_hz": 120.0}),
            CalibrationSource("faces", "faces.csv", "cd" * 32, 5040),
        ],
        {"operator": "lab 2"},
    )


def _assert_same(a: ImuCalibrationRecord, b: ImuCalibrationRecord) -> None:
    assert record_to_dict(a) == record_to_dict(b)
    np.testing.assert_array_equal(a.accelerometer.matrix, b.accelerometer.matrix)


def test_round_trip_keeps_every_bit_and_extra_keys(tmp_path: Path) -> None:
    record = _record()
    path = save_record(record, tmp_path / "records")
    assert path == tmp_path / "records" / "pod-0102.json"
    loaded = load_record(tmp_path / "records", 0x0102)
    _assert_same(loaded, record)
    assert loaded.extra == {"operator": "lab 2"}
    assert loaded.accelerometer.extra == {"holds": 7}
    assert loaded.sources[0].extra == {"rate_hz": 120.0}
    assert [p.name for p in path.parent.iterdir()] == ["pod-0102.json"], "no temporary left"


def test_written_record_is_readable_json_with_rows_on_one_line(tmp_path: Path) -> None:
    text = save_record(_record(), tmp_path).read_text()
    data = json.loads(text)
    assert data["format"] == FORMAT and data["version"] == VERSION and data["pod_id"] == 258
    assert '"offset_mps2": [' in text and text.count("\n") < 60


def test_record_without_magnetometer(tmp_path: Path) -> None:
    save_record(_record(mag=False), tmp_path)
    loaded = load_record(tmp_path, 0x0102)
    assert loaded.magnetometer is None
    acc, gyr, mag = loaded.correct(np.ones((4, 3)), np.ones((4, 3)), np.ones((4, 3)))
    assert mag is not None and np.all(mag == 1.0)
    assert acc.shape == gyr.shape == (4, 3)


def test_correct_applies_the_models() -> None:
    record = _record()
    raw = np.array([[0.1, 0.2, 9.9], [1.0, -2.0, 3.0]])
    acc, gyr, mag = record.correct(raw, raw, raw)
    a, g, m = record.accelerometer, record.gyroscope, record.magnetometer
    assert m is not None and mag is not None
    np.testing.assert_allclose(acc[1], a.matrix @ (raw[1] - a.offset_mps2))
    np.testing.assert_allclose(gyr[1], raw[1] - g.bias_radps)
    np.testing.assert_allclose(mag[0], m.soft_iron_matrix @ (raw[0] - m.hard_iron_ut))


def test_save_refuses_to_replace_without_force(tmp_path: Path) -> None:
    save_record(_record(), tmp_path)
    changed = _record()
    changed.gyroscope.rest_duration_s = 20.0
    with pytest.raises(CalibrationRecordError, match=r"pod-0102\.json exists.*--force"):
        save_record(changed, tmp_path)
    assert load_record(tmp_path, 0x0102).gyroscope.rest_duration_s == 10.0
    save_record(changed, tmp_path, force=True)
    assert load_record(tmp_path, 0x0102).gyroscope.rest_duration_s == 20.0


def test_save_refuses_an_invalid_record_and_writes_nothing(tmp_path: Path) -> None:
    record = _record()
    record.accelerometer.matrix = np.full((3, 3), np.nan)
    with pytest.raises(CalibrationRecordError, match=r"accelerometer\.matrix must hold finite"):
        save_record(record, tmp_path)
    assert list(tmp_path.iterdir()) == []


def _mutated(path: str, value: Any) -> dict[str, Any]:
    """The test record as a dict with the value at a dotted path replaced (`...` deletes)."""
    data = copy.deepcopy(record_to_dict(_record()))
    *parents, last = path.split(".")
    node: Any = data
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("format", "gaitchain-recording", "format must be 'gaitchain-imu-calibration'"),
        ("version", 2, "version is 2; this gaitchain reads calibration records up to version 1"),
        ("version", "1", "version must be a positive integer, found '1'"),
        ("pod_id", POD_ID_MAX + 1, "pod_id = 65536 is outside 0 to 65535"),
        ("pod_id", True, "pod_id must be an integer, found True"),
        ("created_utc", "yesterday", "created_utc must be an ISO 8601 time with its zone"),
        ("created_utc", "2025-01-31T09:30:00", "created_utc must be an ISO 8601 time"),
        ("gyroscope", ..., "gyroscope is missing"),
        ("gyroscope.bias_radps", ..., "gyroscope.bias_radps is missing"),
        ("gyroscope.bias_radps", [0.0, 0.0], "gyroscope.bias_radps must be 3 numbers"),
        ("gyroscope.bias_radps", ["0", "0", "0"], "gyroscope.bias_radps must be 3 numbers"),
        ("gyroscope.bias_radps", [0.0, 2.0, 0.0], "gyroscope.bias_radps must hold finite"),
        ("accelerometer.method", "guess", "accelerometer.method 'guess' is not one of"),
        ("accelerometer.matrix", [[1, 0, 0], [0, 1, 0]], "accelerometer.matrix must be 3 rows"),
        (
            "accelerometer.matrix",
            [[1, 0, 0], [0, 1, 0], [0, 0, -1]],
            "accelerometer.matrix must have a positive determinant",
        ),
        ("accelerometer.gravity_mps2", 1.0, "accelerometer.gravity_mps2 = 1.0 is outside 9.7"),
        ("accelerometer.poses", 3, "accelerometer.poses = 3 is outside 6 to 10000"),
        ("magnetometer", [], "magnetometer must be a JSON object"),
        ("magnetometer.coverage_fraction", 1.5, "magnetometer.coverage_fraction = 1.5 is outside"),
        ("magnetometer.field_ut", ..., "magnetometer.field_ut is missing"),
        ("sources", {}, "sources must be a list"),
        ("sources.0.sha256", "abc", "sources[0].sha256 must be 64 lower-case hex digits"),
        ("sources.1.samples", 0, "sources[1].samples = 0 is outside 1"),
    ],
)
def test_malformed_records_are_refused_naming_the_field(
    tmp_path: Path, path: str, value: Any, message: str
) -> None:
    file = tmp_path / "pod-0102.json"
    file.write_text(json.dumps(_mutated(path, value)))
    with pytest.raises(CalibrationRecordError) as refused:
        read_record(file)
    assert str(refused.value).startswith(f"{file}: ")
    assert message in str(refused.value)


def test_not_a_number_in_the_file_is_refused(tmp_path: Path) -> None:
    text = json.dumps(record_to_dict(_record())).replace('"field_ut": 48.41', '"field_ut": NaN')
    (tmp_path / "pod-0102.json").write_text(text)
    with pytest.raises(CalibrationRecordError, match=r"magnetometer\.field_ut = nan is outside"):
        load_record(tmp_path, 0x0102)


def test_load_refuses_missing_file_and_another_pods_record(tmp_path: Path) -> None:
    with pytest.raises(CalibrationRecordError, match=r"no calibration record for pod 0x0007"):
        load_record(tmp_path, 7)
    save_record(_record(pod_id=7), tmp_path)
    shutil.copy(tmp_path / "pod-0007.json", tmp_path / "pod-0008.json")
    with pytest.raises(CalibrationRecordError, match=r"pod_id is 7, but the file name says 8"):
        load_record(tmp_path, 8)
    (tmp_path / "pod-0009.json").write_text("{not json")
    with pytest.raises(CalibrationRecordError, match=r"pod-0009\.json is not valid JSON"):
        load_record(tmp_path, 9)


@pytest.mark.parametrize(
    ("text", "pod_id"),
    [("258", 258), ("0x0102", 258), ("gaitchain-0102", 258), ("GC-0A0B", 0x0A0B), ("0", 0)],
)
def test_pod_ids_as_people_type_them(text: str, pod_id: int) -> None:
    assert parse_pod_id(text) == pod_id
    assert record_path("d", pod_id).name == f"pod-{pod_id:04x}.json"


@pytest.mark.parametrize("text", ["-1", "65536", "0x10000", "pod3", ""])
def test_bad_pod_ids_are_refused(text: str) -> None:
    with pytest.raises(CalibrationRecordError, match="is not 0 to 65535"):
        parse_pod_id(text)


# -- the JSON Schema --------------------------------------------------------------------------


def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA.read_text())


def test_schema_requires_what_the_loader_requires() -> None:
    schema = _schema()
    assert tuple(schema["required"]) == REQUIRED_FIELDS["record"]
    for section in ("gyroscope", "accelerometer", "magnetometer", "source"):
        assert tuple(schema["$defs"][section]["required"]) == REQUIRED_FIELDS[section], section
    assert set(REQUIRED_FIELDS["record"]) <= set(schema["properties"])
    for section in ("gyroscope", "accelerometer", "magnetometer", "source"):
        assert set(REQUIRED_FIELDS[section]) <= set(schema["$defs"][section]["properties"])
    assert schema["properties"]["format"]["const"] == FORMAT
    assert schema["properties"]["version"]["const"] == VERSION
    assert schema["properties"]["pod_id"]["maximum"] == POD_ID_MAX
    assert schema["$defs"]["accelerometer"]["properties"]["method"]["enum"] == [
        "six-position",
        "ellipsoid",
    ]


def test_schema_extras_are_what_the_writers_add() -> None:
    """Optional keys the schema documents are the ones `gaitchain calibrate imu` writes."""
    schema = _schema()
    documented = {
        section: set(schema["$defs"][section]["properties"]) - set(REQUIRED_FIELDS[section])
        for section in ("gyroscope", "accelerometer", "magnetometer", "source")
    }
    assert documented == {
        "gyroscope": {"gyr_spread_radps", "acc_spread_mps2"},
        "accelerometer": {"holds"},
        "magnetometer": {"samples"},
        "source": {"duration_s", "rate_hz"},
    }


def _python_with_jsonschema() -> str | None:
    for candidate in (shutil.which("python3"), "/usr/bin/python3"):
        if candidate and Path(candidate).exists():
            done = subprocess.run(
                [candidate, "-c", "import jsonschema"], capture_output=True, check=False
            )
            if done.returncode == 0:
                return candidate
    return None


def test_written_record_passes_the_json_schema(tmp_path: Path) -> None:
    """Cross-check with an independent validator where one is installed (the system Python's
    jsonschema; gaitchain itself does not depend on it)."""
    python = _python_with_jsonschema()
    if python is None:
        pytest.skip("no Python with jsonschema found; the loader's own checks still run")
    good = save_record(_record(), tmp_path / "good")
    (tmp_path / "nomag.json").write_text(record_json(_record(mag=False)))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_mutated("accelerometer.offset_mps2", [0.0, 0.0])))
    script = (
        "import json, sys, jsonschema\n"
        "schema = json.load(open(sys.argv[1]))\n"
        "jsonschema.Draft202012Validator.check_schema(schema)\n"
        "validator = jsonschema.Draft202012Validator(schema)\n"
        "for path in sys.argv[2:]:\n"
        "    errors = list(validator.iter_errors(json.load(open(path))))\n"
        "    print(path, 'valid' if not errors else 'invalid')\n"
    )
    done = subprocess.run(
        [python, "-c", script, str(SCHEMA), str(good), str(tmp_path / "nomag.json"), str(bad)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == [
        str(good),
        "valid",
        str(tmp_path / "nomag.json"),
        "valid",
        str(bad),
        "invalid",
    ]
    with pytest.raises(CalibrationRecordError, match="offset_mps2 must be 3 numbers"):
        record_from_dict(json.loads(bad.read_text()))


def test_the_guides_example_is_a_valid_record() -> None:
    example = re.search(r"```json\n(.*?)```", GUIDE.read_text(), re.DOTALL)
    assert example is not None
    record = record_from_dict(json.loads(example.group(1)), "calibration/README.md")
    assert record.pod_id == 0x0102 and record.magnetometer is not None
    guide = GUIDE.read_text()
    for key in REQUIRED_FIELDS["record"]:
        assert f"`{key}`" in guide or f"`{key}." in guide, f"the guide lacks {key}"
    for section in ("gyroscope", "accelerometer", "magnetometer"):
        for key in REQUIRED_FIELDS[section]:
            assert f"`{section}.{key}`" in guide, f"the guide lacks {section}.{key}"
    for key in REQUIRED_FIELDS["source"]:
        assert f"`{key}`" in guide, f"the guide lacks the sources' {key}"
