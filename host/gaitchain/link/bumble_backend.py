"""A bleak backend on Google's Bumble BLE stack: `BleakScanner` and `BleakClient` (bleak's public
API, unchanged) driving a Bumble device as the host's adapter, for tests and the demo.

    central = await BumbleCentral.start(link)        # the host's adapter on a Bumble link
    backend = central.backend()                       # BleakBackend(scanner=..., client=...)
    async with BleakClient(address, backend=backend.client) as client: ...

The central is a Bumble `Device` (host and controller) on any Bumble link; with
`gaitchain.link.virtual` it shares a `LocalLink` with virtual pods that run the firmware. What a
real adapter does, it does over real ATT/SMP: the connection (one pending connect at a time, as
BlueZ), an ATT MTU exchange (asks 517, as BlueZ, unless the central is given a smaller `mtu`:
the live demo offers 61 for 3-sample batches), service/characteristic/descriptor discovery,
subscription by writing the CCCD, reads, writes with and without response, LE Secure Connections
pairing ("just works") with keys kept in the central's key store (a JSON file, or memory), and
disconnects reported through bleak's `disconnected_callback`.
"""

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from bleak.args import SizedBuffer
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError
from bumble import core, hci
from bumble.controller import Controller
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt_client import CharacteristicProxy, DescriptorProxy
from bumble.host import Host
from bumble.keys import JsonKeyStore, KeyStore, MemoryKeyStore
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from .advertising import parse_advertising

_T = TypeVar("_T")

HOST_ADDRESS = "C0:98:E5:00:00:01"
REQUESTED_MTU = 517

_PROPERTY_NAMES = (
    (0x01, "broadcast"),
    (0x02, "read"),
    (0x04, "write-without-response"),
    (0x08, "write"),
    (0x10, "notify"),
    (0x20, "indicate"),
    (0x40, "authenticated-signed-writes"),
    (0x80, "extended-properties"),
)


T = TypeVar("T")


def _reraise_if_cancelled() -> None:
    """Inside `except CancelledError`: re-raise if this task itself is being cancelled (Bumble
    also cancels a pending GATT request when the link drops, which is not our cancellation)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _uuid_text(value: core.UUID) -> str:
    """A Bumble UUID as bleak writes it: 128-bit, lower case, with dashes."""
    return str(uuid.UUID(bytes=value.to_bytes(force_128=True)[::-1]))


class BumbleCentral:
    """The host's adapter: one Bumble device shared by every scanner and client made from
    `backend()`. `keystore_path` keeps bond keys across runs (JSON); None keeps them in memory."""

    def __init__(self, device: Device, *, mtu: int = REQUESTED_MTU) -> None:
        self.device = device
        self.mtu = mtu
        self.connecting = False

    @classmethod
    async def start(
        cls,
        link_or_controller: LocalLink | Controller,
        *,
        address: str = HOST_ADDRESS,
        keystore_path: Path | None = None,
        mtu: int = REQUESTED_MTU,
    ) -> "BumbleCentral":
        """Power on the host's adapter: a new controller on `link`, or the given controller.
        `mtu` is the largest ATT MTU it takes, asking or asked (BlueZ: 517)."""
        if not 23 <= mtu <= 517:
            raise ValueError(f"mtu = {mtu} is outside the ATT MTU range 23 to 517")
        controller = (
            link_or_controller
            if isinstance(link_or_controller, Controller)
            else Controller("gaitchain-host", link=link_or_controller, public_address=address)
        )
        address = controller.public_address.to_string(with_type_qualifier=False)
        device = Device(
            name="gaitchain-host",
            address=hci.Address(address),
            host=Host(controller, AsyncPipeSink(controller)),
        )
        store: KeyStore = (
            JsonKeyStore("gaitchain-host", str(keystore_path))
            if keystore_path is not None
            else MemoryKeyStore()
        )
        device.keystore = store
        device.gatt_server.max_mtu = mtu
        await device.power_on()
        return cls(device, mtu=mtu)

    def backend(self) -> "BleakBackend":
        """Scanner and client classes bound to this central, for bleak's `backend=`."""
        scanner = type("BumbleScanner", (BumbleScanner,), {"central": self})
        client = type("BumbleClient", (BumbleClient,), {"central": self})
        return BleakBackend(scanner, client)


class BleakBackend:
    """A pair of bleak backend classes; `None` means the platform's own (real BLE)."""

    def __init__(
        self,
        scanner: type[BaseBleakScanner] | None = None,
        client: type[BaseBleakClient] | None = None,
    ) -> None:
        self.scanner = scanner
        self.client = client


class BumbleScanner(BaseBleakScanner):
    central: ClassVar[BumbleCentral]

    def __init__(
        self,
        detection_callback: Any,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **_kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._active = scanning_mode != "passive"

    async def start(self) -> None:
        self.seen_devices = {}
        device = self.central.device
        device.on(device.EVENT_ADVERTISEMENT, self._on_advertisement)
        await device.start_scanning(active=self._active, filter_duplicates=False)

    async def stop(self) -> None:
        device = self.central.device
        device.remove_listener(device.EVENT_ADVERTISEMENT, self._on_advertisement)  # pyright: ignore[reportUnknownMemberType] (Bumble leaves the listener's type open)
        await device.stop_scanning()

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        parsed = parse_advertising(bytes(advertisement.data))
        if not self.is_allowed_uuid(parsed.service_uuids):
            return
        address = advertisement.address.to_string(with_type_qualifier=False)
        data = AdvertisementData(
            local_name=parsed.local_name,
            manufacturer_data=parsed.manufacturer_data,
            service_data=parsed.service_data,
            service_uuids=parsed.service_uuids,
            tx_power=parsed.tx_power,
            rssi=int(advertisement.rssi),
            platform_data=(advertisement,),
        )
        device = self.create_or_update_device(
            address, address, parsed.local_name, advertisement, data
        )
        self.call_detection_callbacks(device, data)


class BumbleClient(BaseBleakClient):
    central: ClassVar[BumbleCentral]

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        **_kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        self._connection: Connection | None = None
        self._peer: Peer | None = None

    @property
    def name(self) -> str:
        return self.address

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        central = self.central
        if central.connecting:
            raise BleakError("Operation already in progress: one connection attempt at a time")
        central.connecting = True
        try:
            connection = await central.device.connect(
                hci.Address(self.address), timeout=self._timeout
            )
        except core.TimeoutError as error:
            raise TimeoutError(f"{self.address} did not answer within {self._timeout} s") from error
        except (core.BaseBumbleError, hci.HCI_Error) as error:
            raise BleakError(f"connecting to {self.address} failed: {error}") from error
        finally:
            central.connecting = False
        self._connection = connection
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        try:
            peer = Peer(connection)
            self._peer = peer
            await peer.request_mtu(central.mtu)
            await peer.discover_services()
            for service in peer.services:
                await service.discover_characteristics()  # pyright: ignore[reportUnknownMemberType] (untyped default in Bumble)
                for characteristic in service.characteristics:
                    await characteristic.discover_descriptors()
            self.services = self._collection(peer)
            if pair:
                await self.pair()
        except (core.BaseBumbleError, hci.HCI_Error, core.ConnectionError) as error:
            await self.disconnect()
            raise BleakError(f"setting up {self.address} failed: {error}") from error
        except asyncio.CancelledError as error:
            _reraise_if_cancelled()
            await self.disconnect()
            raise BleakError(f"{self.address} disconnected while being set up") from error

    def _collection(self, peer: Peer) -> BleakGATTServiceCollection:
        collection = BleakGATTServiceCollection()
        for proxy in peer.services:
            service = BleakGATTService(proxy, proxy.handle, _uuid_text(proxy.uuid))
            collection.add_service(service)
            for c in proxy.characteristics:
                names: list[Any] = [name for bit, name in _PROPERTY_NAMES if c.properties & bit]
                characteristic = BleakGATTCharacteristic(
                    c,
                    c.handle,
                    _uuid_text(c.uuid),
                    names,
                    self._max_write,
                    service,  # type: ignore[arg-type]
                )
                collection.add_characteristic(characteristic)
                for d in c.descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(d, d.handle, _uuid_text(d.type), characteristic)
                    )
        return collection

    def _max_write(self) -> int:
        return self.mtu_size - 3

    def _on_disconnection(self, _reason: int) -> None:
        self._connection = None
        self._peer = None
        callback = self._disconnected_callback
        if callback is not None:
            callback()

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        with contextlib.suppress(core.BaseBumbleError, hci.HCI_Error):
            await connection.disconnect()
        self._connection = None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Encrypt with the stored bond if there is one, else pair (LE Secure Connections)."""
        connection = self._require()
        keystore = self.central.device.keystore
        known = keystore is not None and await keystore.get(str(connection.peer_address))
        try:
            work = connection.encrypt() if known else connection.pair()
            await asyncio.wait_for(work, self._timeout)
        except TimeoutError as error:
            raise BleakError(
                f"pairing with {self.address} did not finish within {self._timeout} s"
            ) from error
        except (core.BaseBumbleError, hci.HCI_Error) as error:
            raise BleakError(f"pairing with {self.address} failed: {error}") from error

    async def unpair(self) -> None:
        keystore = self.central.device.keystore
        if keystore is not None:
            await keystore.delete(hci.Address(self.address).to_string())
        await self.disconnect()

    async def _gatt(self, request: Awaitable[T]) -> T:
        """A GATT request; one the link dropped under (Bumble cancels it) is a `BleakError`."""
        try:
            return await request
        except asyncio.CancelledError as error:
            _reraise_if_cancelled()
            raise BleakError(f"{self.address} disconnected during a GATT request") from error

    def _require(self) -> Connection:
        if self._connection is None:
            raise BleakError(f"{self.address} is not connected")
        return self._connection

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        self._require()
        proxy: CharacteristicProxy[bytes] = characteristic.obj
        return bytearray(await self._gatt(proxy.read_value()))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        self._require()
        proxy: DescriptorProxy = descriptor.obj
        return bytearray(await self._gatt(proxy.read_value()))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        self._require()
        proxy: CharacteristicProxy[bytes] = characteristic.obj
        await self._gatt(proxy.write_value(bytes(data), with_response=response))  # type: ignore[arg-type]

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        self._require()
        proxy: DescriptorProxy = descriptor.obj
        await self._gatt(proxy.write_value(bytes(data), with_response=True))  # type: ignore[arg-type]

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        self._require()
        proxy: CharacteristicProxy[bytes] = characteristic.obj
        await self._gatt(
            proxy.subscribe(lambda value: callback(bytearray(value)), prefer_notify=True)
        )

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        self._require()
        proxy: CharacteristicProxy[bytes] = characteristic.obj
        await proxy.unsubscribe()  # pyright: ignore[reportUnknownMemberType] (untyped parameter in Bumble)
