"""MicroPython's `bluetooth.BLE` API on a Bumble device: the pod firmware's BLE link, unchanged,
on a real (emulated) BLE stack.

`BumbleBLE` gives the firmware what `firmware/pod/link.py` uses of MicroPython's API
(`active`, `config`, `irq`, `gatts_register_services`, `gatts_write`, `gatts_read`,
`gatts_set_buffer`, `gatts_notify`, `gap_advertise`, `gap_disconnect`, `gattc_exchange_mtu`) on
a Bumble `Device` (host and controller) attached to a Bumble link, and turns Bumble's events into
the IRQ events MicroPython documents, with its data tuples:

* connect / disconnect: `_IRQ_CENTRAL_CONNECT` / `_IRQ_CENTRAL_DISCONNECT`;
* a write to a characteristic: its value is stored (cut to the `gatts_set_buffer` size, 20 bytes
  by default, as MicroPython does) and `_IRQ_GATTS_WRITE` fires;
* the ATT MTU exchange: `_IRQ_MTU_EXCHANGED` with the negotiated MTU (the pod's preference is
  `config(mtu=...)`; Bumble's server answers with it and the pod can start the exchange);
* encryption: `_IRQ_ENCRYPTION_UPDATE` when the link is encrypted and again once pairing has
  stored the bond, with `bonded` true when keys for the peer are stored;
* bond keys: Bumble's key store is answered by `_IRQ_GET_SECRET` / `_IRQ_SET_SECRET`, so the
  firmware's own store (`pod/bonds.py`) keeps them.

Pairing follows `config(bond=, le_secure=, mitm=, io=)`: LE Secure Connections, "just works" with
`io=3` (no input, no output). Notifications are cut to ATT MTU - 3 by Bumble's GATT server, as on a
real stack; `notify_capacity` notifications may be in flight before `gatts_notify` raises
OSError(ENOMEM), as NimBLE does when its buffers are full.

Bumble is asynchronous and MicroPython's API is not: calls that need the stack (advertise,
notify, disconnect, MTU exchange) are started as tasks on the running event loop, in call order.
"""

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

from bumble import gatt
from bumble.device import Connection, Device, Peer
from bumble.keys import KeyStore, PairingKeys
from bumble.pairing import PairingConfig, PairingDelegate

IRQ_CENTRAL_CONNECT = 1
IRQ_CENTRAL_DISCONNECT = 2
IRQ_GATTS_WRITE = 3
IRQ_MTU_EXCHANGED = 21
IRQ_ENCRYPTION_UPDATE = 28
IRQ_GET_SECRET = 29
IRQ_SET_SECRET = 30

FLAG_READ = 0x0002
FLAG_WRITE_NO_RESPONSE = 0x0004
FLAG_WRITE = 0x0008
FLAG_NOTIFY = 0x0010

ENOMEM = 12
ENOTCONN = 128
SECRET_BOND = 1
"""The secret type under which a peer's Bumble `PairingKeys` are kept (JSON)."""
DEFAULT_BUFFER_BYTES = 20


def _uuid_text(uuid: object) -> str:
    return str(getattr(uuid, "value", uuid))


class _IrqKeyStore(KeyStore):
    """Bumble's key store answered by the firmware's secret IRQs."""

    def __init__(self, ble: "BumbleBLE") -> None:
        self._ble = ble

    def lookup(self, name: str) -> PairingKeys | None:
        value = self._ble.irq_event(IRQ_GET_SECRET, (SECRET_BOND, 0, memoryview(name.encode())))
        if value is None:
            return None
        return PairingKeys.from_dict(json.loads(bytes(value))["keys"])

    async def update(self, name: str, keys: PairingKeys) -> None:
        value = json.dumps({"name": name, "keys": keys.to_dict()}).encode()
        self._ble.irq_event(IRQ_SET_SECRET, (SECRET_BOND, memoryview(name.encode()), value))

    async def delete(self, name: str) -> None:
        self._ble.irq_event(IRQ_SET_SECRET, (SECRET_BOND, memoryview(name.encode()), None))

    async def get(self, name: str) -> PairingKeys | None:
        return self.lookup(name)

    async def get_all(self) -> list[tuple[str, PairingKeys]]:
        out: list[tuple[str, PairingKeys]] = []
        index = 0
        while True:
            value = self._ble.irq_event(IRQ_GET_SECRET, (SECRET_BOND, index, None))
            if value is None:
                return out
            entry = json.loads(bytes(value))
            out.append((str(entry["name"]), PairingKeys.from_dict(entry["keys"])))
            index += 1


class BumbleBLE:
    """See the module docstring. `device` must be powered on before the pod advertises."""

    def __init__(self, device: Device, *, notify_capacity: int = 12) -> None:
        self.device = device
        self.notify_capacity = notify_capacity
        self._active = False
        self._irq: Callable[[int, tuple[Any, ...]], Any] | None = None
        self.configured: dict[str, Any] = {"mtu": 23, "gap_name": "MPY"}
        self._values: dict[int, bytes] = {}
        self._buffers: dict[int, int] = {}
        self._characteristics: dict[int, gatt.Characteristic[bytes]] = {}
        self._connections: dict[int, Connection] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.in_flight = 0
        self.advertising = False
        self.irq_errors = 0
        self.on_event: Callable[[], None] | None = None
        """Called after every IRQ event (the firmware's main loop wakes up, as main.py's
        ThreadSafeFlag does)."""
        self._layout: tuple[Any, tuple[tuple[int, ...], ...]] | None = None
        device.keystore = _IrqKeyStore(self)
        device.on(device.EVENT_CONNECTION, self._on_connection)
        self._pairing()

    # -- the API the pod uses ----------------------------------------------------------
    def active(self, state: object = None) -> bool:
        if state is not None:
            self._active = bool(state)
        return self._active

    def config(self, *args: str, **kwargs: Any) -> Any:
        if args:
            return self.configured[args[0]]
        self.configured.update(kwargs)
        if "mtu" in kwargs:
            self.device.gatt_server.max_mtu = int(kwargs["mtu"])
        if "gap_name" in kwargs:
            self.device.name = str(kwargs["gap_name"])
        self._pairing()
        return None

    def irq(self, handler: Callable[[int, tuple[Any, ...]], Any]) -> None:
        self._irq = handler

    def gatts_register_services(self, services: Any) -> tuple[tuple[int, ...], ...]:
        """Register the GATT table. A pod that reboots registers the same table again: the
        stack then keeps its handles (Bumble cannot remove a service) and clears the values."""
        layout = tuple(
            (_uuid_text(s[0]), tuple((_uuid_text(c[0]), int(c[1])) for c in s[1])) for s in services
        )
        if self._layout is not None:
            if layout != self._layout[0]:
                raise OSError("a different GATT table cannot be registered on this stack")
            for handle in self._values:
                self._values[handle] = b""
            return self._layout[1]
        handles: list[tuple[int, ...]] = []
        for service in services:
            uuid, definitions = service[0], service[1]
            characteristics: list[gatt.Characteristic[bytes]] = []
            for definition in definitions:
                characteristics.append(self._characteristic(definition[0], int(definition[1])))
            self.device.add_service(gatt.Service(_uuid_text(uuid), characteristics))
            service_handles: list[int] = []
            for characteristic in characteristics:
                self._characteristics[characteristic.handle] = characteristic
                self._values[characteristic.handle] = b""
                service_handles.append(characteristic.handle)
            handles.append(tuple(service_handles))
        self._layout = (layout, tuple(handles))
        return tuple(handles)

    def _characteristic(self, uuid: object, flags: int) -> gatt.Characteristic[bytes]:
        properties = gatt.Characteristic.Properties(0)
        permissions = gatt.Characteristic.Permissions(0)
        if flags & FLAG_READ:
            properties |= gatt.Characteristic.Properties.READ
            permissions |= gatt.Characteristic.Permissions.READABLE
        if flags & FLAG_WRITE:
            properties |= gatt.Characteristic.Properties.WRITE
        if flags & FLAG_WRITE_NO_RESPONSE:
            properties |= gatt.Characteristic.Properties.WRITE_WITHOUT_RESPONSE
        if flags & (FLAG_WRITE | FLAG_WRITE_NO_RESPONSE):
            permissions |= gatt.Characteristic.Permissions.WRITEABLE
        if flags & FLAG_NOTIFY:
            properties |= gatt.Characteristic.Properties.NOTIFY
        holder: list[gatt.Characteristic[bytes]] = []

        def read(_connection: Connection) -> bytes:
            return self._values.get(holder[0].handle, b"")

        def write(connection: Connection, value: bytes) -> None:
            handle = holder[0].handle
            size = self._buffers.get(handle, DEFAULT_BUFFER_BYTES)
            self._values[handle] = bytes(value[:size])
            self.irq_event(IRQ_GATTS_WRITE, (connection.handle, handle))

        characteristic: gatt.Characteristic[bytes] = gatt.Characteristic(
            _uuid_text(uuid),
            properties,
            permissions,
            gatt.CharacteristicValue(read=read, write=write),
        )
        holder.append(characteristic)
        return characteristic

    def gatts_write(self, handle: int, data: Any, send_update: bool = False) -> None:
        self._values[handle] = bytes(data)

    def gatts_read(self, handle: int) -> bytes:
        return self._values[handle]

    def gatts_set_buffer(self, handle: int, size: int, append: bool = False) -> None:
        self._buffers[handle] = size

    def gatts_notify(self, conn_handle: int, value_handle: int, data: Any = None) -> None:
        connection = self._connections.get(conn_handle)
        if connection is None:
            raise OSError(ENOTCONN)
        if self.in_flight >= self.notify_capacity:
            raise OSError(ENOMEM)
        payload = bytes(self._values[value_handle] if data is None else data)
        characteristic = self._characteristics[value_handle]
        self.in_flight += 1
        self._spawn(self._notify(connection, characteristic, payload))

    async def _notify(
        self, connection: Connection, characteristic: gatt.Characteristic[bytes], payload: bytes
    ) -> None:
        try:
            await self.device.notify_subscriber(connection, characteristic, payload, force=True)
        finally:
            self.in_flight -= 1

    def gap_advertise(
        self,
        interval_us: Any,
        adv_data: Any = None,
        resp_data: Any = None,
        connectable: bool = True,
    ) -> None:
        if interval_us is None:
            self.advertising = False
            self._spawn(self.device.stop_advertising())
            return
        self.advertising = True
        self._spawn(
            self.device.start_advertising(
                advertising_data=bytes(adv_data or b""),
                scan_response_data=bytes(resp_data or b""),
                advertising_interval_min=max(20.0, interval_us / 1000.0),
                advertising_interval_max=max(20.0, interval_us / 1000.0),
            )
        )

    def gap_disconnect(self, conn_handle: int) -> bool:
        connection = self._connections.get(conn_handle)
        if connection is None:
            return False
        self._spawn(connection.disconnect())
        return True

    def gattc_exchange_mtu(self, conn_handle: int) -> None:
        connection = self._connections.get(conn_handle)
        if connection is None:
            raise OSError(ENOTCONN)
        self._spawn(self._exchange_mtu(connection))

    async def _exchange_mtu(self, connection: Connection) -> None:
        try:
            await Peer(connection).request_mtu(int(self.configured.get("mtu", 23)))
        except Exception:
            return

    def power_cycle(self) -> None:
        """The pod resets: its connections drop, advertising stops, the IRQ handler is gone until
        the firmware registers again."""
        self._irq = None
        self.advertising = False
        self._spawn(self.device.stop_advertising())
        for connection in list(self._connections.values()):
            self._spawn(connection.disconnect())
        self._connections.clear()

    # -- events ------------------------------------------------------------------------
    def irq_event(self, event: int, data: tuple[Any, ...]) -> Any:
        """Deliver one IRQ to the firmware's handler (errors are counted, as the stack would
        print and carry on)."""
        if self._irq is None:
            return None
        try:
            return self._irq(event, data)
        except Exception:
            self.irq_errors += 1
            return None
        finally:
            if self.on_event is not None:
                self.on_event()

    def _address(self, connection: Connection) -> tuple[int, bytes]:
        address = connection.peer_address
        return int(address.address_type), bytes(address.address_bytes)

    def _on_connection(self, connection: Connection) -> None:
        handle = connection.handle
        self._connections[handle] = connection
        self.advertising = False
        kind, address = self._address(connection)

        def disconnected(_reason: object) -> None:
            self._on_disconnection(handle)

        def paired(_keys: object) -> None:
            self._encryption(connection)

        connection.on(connection.EVENT_DISCONNECTION, disconnected)
        connection.on(
            connection.EVENT_CONNECTION_ATT_MTU_UPDATE,
            lambda: self.irq_event(IRQ_MTU_EXCHANGED, (handle, connection.att_mtu)),
        )
        connection.on(
            connection.EVENT_CONNECTION_ENCRYPTION_CHANGE, lambda: self._encryption(connection)
        )
        connection.on(connection.EVENT_PAIRING, paired)
        self.irq_event(IRQ_CENTRAL_CONNECT, (handle, kind, memoryview(address)))

    def _on_disconnection(self, handle: int) -> None:
        connection = self._connections.pop(handle, None)
        if connection is None:
            return
        kind, address = self._address(connection)
        self.advertising = False
        self.irq_event(IRQ_CENTRAL_DISCONNECT, (handle, kind, memoryview(address)))

    def _encryption(self, connection: Connection) -> None:
        if connection.handle not in self._connections:
            return
        keystore = self.device.keystore
        bonded = (
            isinstance(keystore, _IrqKeyStore)
            and keystore.lookup(str(connection.peer_address)) is not None
        )
        encrypted = bool(connection.is_encrypted)
        self.irq_event(
            IRQ_ENCRYPTION_UPDATE,
            (connection.handle, encrypted, bool(connection.authenticated), bonded, 16),
        )

    def _pairing(self) -> None:
        bond = bool(self.configured.get("bond", True))
        secure = bool(self.configured.get("le_secure", False))
        mitm = bool(self.configured.get("mitm", False))
        io = int(self.configured.get("io", 3))
        delegate = PairingDelegate(io_capability=PairingDelegate.IoCapability(_IO[io]))

        def pairing_config(_connection: object) -> PairingConfig:
            return PairingConfig(sc=secure, mitm=mitm, bonding=bond, delegate=delegate)

        self.device.pairing_config_factory = pairing_config

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


# MicroPython's `io` values (_IO_CAPABILITY_*) to Bumble's.
_IO = {
    0: PairingDelegate.IoCapability.DISPLAY_OUTPUT_ONLY,
    1: PairingDelegate.IoCapability.DISPLAY_OUTPUT_AND_YES_NO_INPUT,
    2: PairingDelegate.IoCapability.KEYBOARD_INPUT_ONLY,
    3: PairingDelegate.IoCapability.NO_OUTPUT_NO_INPUT,
    4: PairingDelegate.IoCapability.DISPLAY_OUTPUT_AND_KEYBOARD_INPUT,
}
