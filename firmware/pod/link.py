"""BLE link: the pod's GATT server over MicroPython's `bluetooth` API (docs/protocol.md, "GATT").

Where `# pyright: ignore` appears below, micropython-esp32-stubs 1.29 disagrees with MicroPython's
documentation: it types connection handles as memoryview (they are ints), gives `gatts_notify` no
`conn_handle` (the documented signature is `gatts_notify(conn_handle, value_handle, data=None)`)
and accepts only bytes where any buffer works.

The IRQ handler only records what happened (connection, MTU, encryption, control writes); the
main loop acts on it. Bond keys (`_IRQ_GET_SECRET` / `_IRQ_SET_SECRET`) go to a `Bonds` store
on flash when one is given, so a bonded host stays bonded across reboots. `send` notifies one
message on the data characteristic and returns False, without raising, when there is no
connection or the BLE stack is out of buffers (ENOMEM): the caller keeps the message and tries
again later.
"""

import bluetooth
from micropython import const

from .bonds import Bonds

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_MTU_EXCHANGED = const(21)
_IRQ_ENCRYPTION_UPDATE = const(28)
_IRQ_GET_SECRET = const(29)
_IRQ_SET_SECRET = const(30)
_ENOMEM = const(12)
_PREFERRED_MTU = const(247)
_MAX_PENDING_WRITES = const(8)
_ADV_INTERVAL_US = const(100000)
_IO_NO_INPUT_OUTPUT = const(3)

_READ = const(0x0002)
_WRITE_NO_RESPONSE = const(0x0004)
_WRITE = const(0x0008)
_NOTIFY = const(0x0010)

SERVICE_UUID = "009b5b60-fd97-49d9-84b1-4cf07f3efb76"
INFO_UUID = "009b5b61-fd97-49d9-84b1-4cf07f3efb76"
STATUS_UUID = "009b5b62-fd97-49d9-84b1-4cf07f3efb76"
DATA_UUID = "009b5b63-fd97-49d9-84b1-4cf07f3efb76"
CONTROL_UUID = "009b5b64-fd97-49d9-84b1-4cf07f3efb76"


def uuid_bytes_le(text: str) -> bytes:
    """A 128-bit UUID as advertising data carries it: 16 bytes, little-endian."""
    digits = text.replace("-", "")
    return bytes(int(digits[i : i + 2], 16) for i in range(30, -2, -2))


def advertising_payload(pod_id: int) -> bytes:
    """Flags, the complete 128-bit service UUID and the shortened name `gc-<pod id>` (30 bytes)."""
    name = ("gc-%04x" % pod_id).encode()
    return (
        bytes((2, 0x01, 0x06, 17, 0x07))
        + uuid_bytes_le(SERVICE_UUID)
        + bytes((len(name) + 1, 0x08))
        + name
    )


def scan_response(segment: int, side: int, battery_pct: int, pod_id: int) -> bytes:
    """Service data for the service UUID: segment, side, battery, pod id (23 bytes)."""
    return (
        bytes((22, 0x21))
        + uuid_bytes_le(SERVICE_UUID)
        + bytes((segment, side, battery_pct, pod_id & 0xFF, pod_id >> 8))
    )


class BleLink:
    """One connection at a time; the pod is a peripheral."""

    def __init__(self, ble: "bluetooth.BLE", pod_id: int, bonds: "Bonds | None" = None) -> None:
        self._ble = ble
        self.pod_id = pod_id
        self.bonds = bonds
        ble.active(True)
        ble.config(gap_name="gaitchain-%04x" % pod_id, mtu=_PREFERRED_MTU)
        ble.config(bond=True, le_secure=True, mitm=False, io=_IO_NO_INPUT_OUTPUT)
        ble.irq(self._irq)
        characteristics = (
            (bluetooth.UUID(INFO_UUID), _READ),
            (bluetooth.UUID(STATUS_UUID), _READ),
            (bluetooth.UUID(DATA_UUID), _NOTIFY),
            (bluetooth.UUID(CONTROL_UUID), _WRITE | _WRITE_NO_RESPONSE),
        )
        ((self._info, self._status, self._data, self._control),) = ble.gatts_register_services(
            ((bluetooth.UUID(SERVICE_UUID), characteristics),)
        )
        ble.gatts_set_buffer(self._control, 64)
        self.conn = -1
        self.mtu = 23
        self.encrypted = False
        self.bonded = False
        self.writes: list[bytes] = []
        self.dropped_writes = 0
        self.congested = 0
        self.connections = 0
        self.mtu_requested = False
        self.advertising = False

    @property
    def connected(self) -> bool:
        return self.conn >= 0

    def _irq(self, event: int, data: tuple) -> object:
        if event == _IRQ_GET_SECRET:
            return self.bonds.get(data[0], data[1], data[2]) if self.bonds is not None else None
        if event == _IRQ_SET_SECRET:
            return self.bonds.set(data[0], data[1], data[2]) if self.bonds is not None else False
        if event == _IRQ_CENTRAL_CONNECT:
            self.conn = data[0]
            self.mtu = 23
            self.encrypted = False
            self.bonded = False
            self.mtu_requested = False
            self.advertising = False
            self.connections += 1
        elif event == _IRQ_CENTRAL_DISCONNECT:
            self.conn = -1
            self.encrypted = False
            self.bonded = False
            self.advertising = False
        elif event == _IRQ_GATTS_WRITE:
            if data[1] == self._control:
                if len(self.writes) < _MAX_PENDING_WRITES:
                    self.writes.append(self._ble.gatts_read(self._control))
                else:
                    self.dropped_writes += 1
        elif event == _IRQ_MTU_EXCHANGED and data[0] == self.conn:
            self.mtu = data[1]
        elif event == _IRQ_ENCRYPTION_UPDATE and data[0] == self.conn:
            self.encrypted = bool(data[1])
            self.bonded = bool(data[3])
        return None

    def advertise(self, segment: int, side: int, battery_pct: int) -> None:
        self._ble.gap_advertise(
            _ADV_INTERVAL_US,
            advertising_payload(self.pod_id),
            resp_data=scan_response(segment, side, battery_pct, self.pod_id),
        )
        self.advertising = True

    def request_mtu(self) -> None:
        """Ask the central for the preferred MTU once per connection."""
        if self.connected and not self.mtu_requested:
            self.mtu_requested = True
            try:
                self._ble.gattc_exchange_mtu(self.conn)  # pyright: ignore[reportArgumentType, reportCallIssue]
            except OSError:
                pass

    def send(self, message: "memoryview | bytes") -> bool:
        if self.conn < 0:
            return False
        try:
            self._ble.gatts_notify(self.conn, self._data, message)  # pyright: ignore[reportArgumentType, reportCallIssue]
        except OSError as error:
            if error.args and error.args[0] == _ENOMEM:
                self.congested += 1
                return False
            self.conn = -1
            return False
        return True

    def take_write(self) -> "bytes | None":
        return self.writes.pop(0) if self.writes else None

    def set_info(self, message: "memoryview | bytes") -> None:
        self._ble.gatts_write(self._info, message)  # pyright: ignore[reportArgumentType, reportCallIssue]

    def set_status(self, message: "memoryview | bytes") -> None:
        self._ble.gatts_write(self._status, message)  # pyright: ignore[reportArgumentType, reportCallIssue]

    def disconnect(self) -> None:
        if self.conn >= 0:
            self._ble.gap_disconnect(self.conn)  # pyright: ignore[reportArgumentType, reportCallIssue]
