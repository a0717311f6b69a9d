"""The pod config on flash (CPython and MicroPython): never a boot loop, always an atomic save."""

import json
import os

from fwtest import Scratch, raises
from pod import config as c

_VALID = {
    "pod_id": 513,
    "segment": "shank",
    "side": "left",
    "rate_hz": 480,
    "acc_range_g": 8,
    "gyr_range_dps": 1000,
    "log_when_disconnected": True,
    "log_full_policy": "overwrite",
    "board": "esp32-s3-devkitc-1",
    "stream_orientation": True,
}


def _load_bytes(name: str, data: bytes) -> tuple:
    scratch = Scratch(name)
    try:
        return c.load(scratch.write("config.json", data))
    finally:
        scratch.close()


def _load_object(name: str, data: dict) -> tuple:
    return _load_bytes(name, json.dumps(data).encode())


def _with(**changes: object) -> dict:
    config = dict(_VALID)
    config.update(changes)
    return config


def test_defaults_are_valid():
    assert c.validate(c.defaults()) == []
    assert c.validate(_VALID) == []
    first = c.defaults()
    first["pod_id"] = 9
    assert c.defaults()["pod_id"] == 0


def test_missing_file_boots_on_defaults():
    config, defaulted, problems = c.load("/no/such/dir/config.json")
    assert config == c.defaults()
    assert defaulted
    assert len(problems) == 1 and "missing" in problems[0], problems


def test_garbage_boots_on_defaults():
    for name, data in (
        ("binary", b"\xff\xfe\x00garbage"),
        ("empty", b""),
        ("truncated", b'{"pod_id": 3, "segment": "sh'),
        ("not-json", b"pod_id = 3\n"),
        ("nested", b"[" * 1000),
    ):
        config, defaulted, problems = _load_bytes(name, data)
        assert config == c.defaults(), name
        assert defaulted, name
        assert len(problems) == 1 and "config.json" in problems[0], (name, problems)


def test_json_that_is_not_an_object_boots_on_defaults():
    for data in (b"[1, 2]", b"120", b'"pelvis"', b"null"):
        config, defaulted, problems = _load_bytes("not-object", data)
        assert (config, defaulted) == (c.defaults(), True), data
        assert "not an object" in problems[0], problems


def test_oversized_file_boots_on_defaults():
    data = json.dumps(_with(board="x" * 2000)).encode()
    config, defaulted, problems = _load_bytes("oversized", data)
    assert (config, defaulted) == (c.defaults(), True)
    assert "larger than" in problems[0], problems


def test_wrong_types_default_only_those_keys():
    data = _with(
        pod_id="7",
        rate_hz=120.0,
        log_when_disconnected=1,
        side=None,
        acc_range_g=[8],
    )
    config, defaulted, problems = _load_object("types", data)
    assert defaulted
    for key in ("pod_id", "rate_hz", "log_when_disconnected", "side", "acc_range_g"):
        assert config[key] == c.defaults()[key], key
        assert len([p for p in problems if p.startswith(key + " ")]) == 1, (key, problems)
    for key in ("segment", "gyr_range_dps", "log_full_policy", "board"):
        assert config[key] == _VALID[key], key
    assert len(problems) == 5, problems


def test_booleans_never_pass_for_numbers_and_numbers_never_for_booleans():
    config, defaulted, problems = _load_object("bools", _with(pod_id=True, acc_range_g=True))
    assert defaulted and len(problems) == 2, problems
    assert (config["pod_id"], config["acc_range_g"]) == (0, 16)
    assert len(c.validate(_with(log_when_disconnected=0))) == 1
    assert len(c.validate(_with(log_when_disconnected=False))) == 0


def test_out_of_range_values_default_and_say_what_is_allowed():
    cases = (
        ("pod_id", 65536, "0 to 65535"),
        ("pod_id", -1, "0 to 65535"),
        ("segment", "knee", "'foot'"),
        ("side", "both", "'right'"),
        ("rate_hz", 100, "60, 120, 240, 480"),
        ("acc_range_g", 3, "2, 4, 8, 16"),
        ("gyr_range_dps", 3000, "2000, 4000"),
        ("log_full_policy", "wrap", "'overwrite', 'stop'"),
        ("board", "arduino-uno", "'xiao-esp32s3'"),
    )
    for key, value, allowed in cases:
        config, defaulted, problems = _load_object("range", _with(**{key: value}))
        assert defaulted, key
        assert config[key] == c.defaults()[key], key
        assert len(problems) == 1, problems
        assert problems[0].startswith(key + " must be") and allowed in problems[0], problems
        assert ("using %r" % (c.defaults()[key],)) in problems[0], problems
        for other, expected in _VALID.items():
            if other != key:
                assert config[other] == expected, (key, other)


def test_missing_keys_default_and_are_reported():
    data = dict(_VALID)
    del data["rate_hz"]
    del data["board"]
    config, defaulted, problems = _load_object("partial", data)
    assert defaulted
    assert config == _with(rate_hz=120, board=c.defaults()["board"])
    assert sorted(problems) == sorted(
        ["board is missing; using %r" % (c.defaults()["board"],), "rate_hz is missing; using 120"]
    )


def test_unknown_keys_are_ignored():
    config, defaulted, problems = _load_object("unknown", _with(colour="teal", future={"a": 1}))
    assert (config, defaulted, problems) == (_VALID, False, [])
    assert c.validate(_with(colour="teal")) == []


def test_round_trip():
    scratch = Scratch("round-trip")
    try:
        path = scratch.file("config.json")
        c.save(_VALID, path)
        assert c.load(path) == (_VALID, False, [])
        c.save(_with(segment="foot", side="right", pod_id=0), path)
        assert c.load(path) == (_with(segment="foot", side="right", pod_id=0), False, [])
        assert scratch.names() == ["config.json"]
        assert json.loads(scratch.read("config.json")) == _with(
            segment="foot", side="right", pod_id=0
        )
    finally:
        scratch.close()


def test_save_writes_only_known_keys():
    scratch = Scratch("known-keys")
    try:
        path = scratch.file("config.json")
        c.save(_with(colour="teal"), path)
        assert json.loads(scratch.read("config.json")) == _VALID
    finally:
        scratch.close()


def test_save_refuses_an_invalid_config_and_writes_nothing():
    scratch = Scratch("invalid")
    try:
        path = scratch.file("config.json")
        c.save(_VALID, path)
        before = scratch.read("config.json")
        error = raises(ValueError, c.save, _with(rate_hz=100, side="up"), path)
        assert "rate_hz must be one of 60, 120, 240, 480, not 100" in str(error), error
        assert "side must be one of 'center', 'left', 'right', not 'up'" in str(error), error
        missing = dict(_VALID)
        del missing["segment"]
        assert "segment is missing" in str(raises(ValueError, c.save, missing, path))
        assert scratch.read("config.json") == before
        assert scratch.names() == ["config.json"]
    finally:
        scratch.close()


def test_failed_write_leaves_the_old_file_intact():
    scratch = Scratch("atomic")
    try:
        path = scratch.file("config.json")
        c.save(_VALID, path)
        before = scratch.read("config.json")
        os.mkdir(path + ".tmp")  # the temporary file cannot be created
        raises(OSError, c.save, _with(pod_id=7), path)
        assert scratch.read("config.json") == before
        assert c.load(path) == (_VALID, False, [])
        os.rmdir(path + ".tmp")
        c.save(_with(pod_id=7), path)
        assert c.load(path)[0]["pod_id"] == 7
        assert scratch.names() == ["config.json"]
    finally:
        scratch.close()


def test_save_into_a_missing_directory_raises_and_creates_nothing():
    scratch = Scratch("no-dir")
    try:
        path = scratch.file("absent/config.json")
        raises(OSError, c.save, _VALID, path)
        assert scratch.names() == []
        assert c.load(path)[1]
    finally:
        scratch.close()
