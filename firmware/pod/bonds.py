"""Bond keys kept on flash, for the `_IRQ_GET_SECRET` / `_IRQ_SET_SECRET` events of MicroPython's
`bluetooth` API, so a host paired once stays bonded across reboots (default `/bonds.bin`).

The BLE stack hands over opaque secrets: a type (small int), a key and a value (bytes). They are
kept in memory and the whole set is written on every change: a temporary file, then `os.rename`
over the old one, so a failed write leaves the previous bonds. The file is a sequence of records
`type u8, key length u8, value length u16 (little-endian), key, value`. A damaged or truncated file
loads the records before the damage; a missing one means no bonds. At most `MAX_SECRETS` are kept
(the oldest goes first), so the file cannot grow without bound.
"""

import os

from micropython import const

DEFAULT_PATH = "/bonds.bin"
MAX_SECRETS = const(32)


class Bonds:
    def __init__(self, path: str = DEFAULT_PATH) -> None:
        self.path = path
        self.secrets = []  # type: list[tuple[int, bytes, bytes]]
        self.write_errors = 0
        self._load()

    def _load(self) -> None:
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except OSError:
            return
        i = 0
        while i + 4 <= len(data):
            kind = data[i]
            key_len = data[i + 1]
            value_len = data[i + 2] | (data[i + 3] << 8)
            end = i + 4 + key_len + value_len
            if end > len(data):
                break
            key = bytes(data[i + 4 : i + 4 + key_len])
            self.secrets.append((kind, key, bytes(data[i + 4 + key_len : end])))
            i = end

    def _save(self) -> bool:
        tmp = self.path + ".tmp"
        try:
            with open(tmp, "wb") as f:
                for kind, key, value in self.secrets:
                    n = len(value)
                    f.write(bytes((kind, len(key), n & 0xFF, n >> 8)))
                    f.write(key)
                    f.write(value)
            os.rename(tmp, self.path)
        except OSError:
            self.write_errors += 1
            return False
        return True

    def _index(self, kind: int, key: bytes) -> int:
        for i in range(len(self.secrets)):
            entry = self.secrets[i]
            if entry[0] == kind and entry[1] == key:
                return i
        return -1

    def get(self, kind: int, index: int, key: "bytes | memoryview | None") -> "bytes | None":
        """`_IRQ_GET_SECRET`: the value for `key`, or (key None) the `index`-th of this type."""
        if key is None:
            n = 0
            for entry in self.secrets:
                if entry[0] == kind:
                    if n == index:
                        return entry[2]
                    n += 1
            return None
        i = self._index(kind, bytes(key))
        return self.secrets[i][2] if i >= 0 else None

    def set(self, kind: int, key: "bytes | memoryview", value: "bytes | memoryview | None") -> bool:
        """`_IRQ_SET_SECRET`: store (or, value None, delete) and persist; False if not saved."""
        key = bytes(key)
        i = self._index(kind, key)
        if i >= 0:
            self.secrets.pop(i)
        if value is not None:
            self.secrets.append((kind, key, bytes(value)))
            while len(self.secrets) > MAX_SECRETS:
                self.secrets.pop(0)
        return self._save()

    def count(self) -> int:
        return len(self.secrets)
