"""Bond keys on flash (CPython and MicroPython): what the BLE stack stores survives a reboot, a
damaged file keeps what is before the damage, and the link answers the secret IRQs from it."""

import os

import bluetooth
from fwtest import IS_MICROPYTHON
from pod.bonds import MAX_SECRETS, Bonds
from pod.link import BleLink


def _scratch(name: str) -> str:
    if IS_MICROPYTHON:
        path = "/tmp/gaitchain-bonds-" + name
        os.mkdir(path)
        return path
    import tempfile  # type: ignore[import-not-found]

    return tempfile.mkdtemp(prefix="gaitchain-bonds-")  # type: ignore[attr-defined]


def _clean(path: str) -> None:
    for name in os.listdir(path):
        os.remove(path + "/" + name)
    os.rmdir(path)


def test_secrets_survive_a_reboot_and_deletes_persist():
    path = _scratch("reboot")
    store = Bonds(path + "/bonds.bin")
    assert store.get(1, 0, None) is None, "no file: no bonds"
    assert store.set(1, b"\x00peer-a", b"ltk-a")
    assert store.set(2, b"\x00peer-a", b"irk-a")
    assert store.set(1, b"\x01peer-b", b"ltk-b")
    assert store.set(1, b"\x00peer-a", b"ltk-a2"), "a new value replaces the old"
    again = Bonds(path + "/bonds.bin")
    assert again.get(1, 0, b"\x00peer-a") == b"ltk-a2"
    assert again.get(2, 0, memoryview(b"\x00peer-a")) == b"irk-a"
    assert [again.get(1, i, None) for i in range(3)] == [b"ltk-b", b"ltk-a2", None]
    assert again.set(1, b"\x01peer-b", None)
    assert Bonds(path + "/bonds.bin").get(1, 0, b"\x01peer-b") is None
    assert sorted(os.listdir(path)) == ["bonds.bin"], "no temporary file left"
    _clean(path)


def test_damaged_file_keeps_the_records_before_the_damage():
    path = _scratch("damaged")
    store = Bonds(path + "/bonds.bin")
    store.set(1, b"k1", b"v1")
    store.set(1, b"k2", b"value-two")
    with open(path + "/bonds.bin", "rb") as f:
        data = f.read()
    with open(path + "/bonds.bin", "wb") as f:
        f.write(data[:-3])
    loaded = Bonds(path + "/bonds.bin")
    assert loaded.get(1, 0, b"k1") == b"v1"
    assert loaded.get(1, 0, b"k2") is None
    assert loaded.count() == 1
    _clean(path)


def test_store_is_bounded():
    path = _scratch("bounded")
    store = Bonds(path + "/bonds.bin")
    for i in range(MAX_SECRETS + 5):
        store.set(1, bytes((i,)), b"v")
    assert store.count() == MAX_SECRETS
    assert store.get(1, 0, bytes((0,))) is None, "the oldest went first"
    assert store.get(1, 0, bytes((MAX_SECRETS + 4,))) == b"v"
    _clean(path)


def test_link_answers_secret_events_from_the_store():
    path = _scratch("link")
    ble = getattr(bluetooth, "BLE")()  # noqa: B009
    link = BleLink(ble, 0x0102, Bonds(path + "/bonds.bin"))
    assert ble.set_secret(3, b"peer", b"key") is True
    assert ble.get_secret(3, 0, b"peer") == b"key"
    assert Bonds(path + "/bonds.bin").get(3, 0, b"peer") == b"key", "persisted"
    assert link.bonds is not None
    bare = BleLink(getattr(bluetooth, "BLE")(), 0x0103)  # noqa: B009
    assert bare.bonds is None
    _clean(path)
