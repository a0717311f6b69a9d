# pyright: basic
"""MicroPython's `bluetooth` module, emulated: for firmware tests (CPython and MicroPython) and
virtual pods.

It follows the documented API of `bluetooth.BLE`: `active`, `config`, `irq`,
`gatts_register_services` (handles in declaration order), `gatts_write`, `gatts_read`,
`gatts_set_buffer`, `gatts_notify`, `gap_advertise`, `gap_disconnect`, `gattc_exchange_mtu`,
and delivers IRQ events with the documented codes and data tuples. A test plays the central:
`connect`, `write` (control writes), `exchange_mtu`, `encrypt`, `set_secret` / `get_secret` (what
the stack does with bond keys), `disconnect`, and reads what the
pod notified from `notified`. `notify_capacity` models the stack's buffer: when that many
notifications are outstanding, `gatts_notify` raises OSError(ENOMEM) until `drain` frees them, as
NimBLE does on a busy link.
"""

FLAG_READ = 0x0002
FLAG_WRITE_NO_RESPONSE = 0x0004
FLAG_WRITE = 0x0008
FLAG_NOTIFY = 0x0010
_FIRST_HANDLE = 1

IRQ_CENTRAL_CONNECT = 1
IRQ_CENTRAL_DISCONNECT = 2
IRQ_GATTS_WRITE = 3
IRQ_MTU_EXCHANGED = 21
IRQ_ENCRYPTION_UPDATE = 28
IRQ_GET_SECRET = 29
IRQ_SET_SECRET = 30

ENOMEM = 12
ENOTCONN = 128


class UUID:
    def __init__(self, value: object) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UUID) and str(self.value).lower() == str(other.value).lower()

    def __hash__(self) -> int:
        return hash(str(self.value).lower())

    def __bytes__(self) -> bytes:
        text = str(self.value).replace("-", "")
        return bytes(int(text[i : i + 2], 16) for i in range(len(text) - 2, -2, -2))


class BLE:
    def __init__(self) -> None:
        self._active = False
        self._irq = None
        self.configured: dict = {"mtu": 23}
        self.values = {}
        self.buffers = {}
        self.services = []
        self.advertising = None
        self.conn = None
        self.mtu = 23
        self.notified = []
        self.outstanding = 0
        self.notify_capacity = 1000
        self.next_handle = _FIRST_HANDLE
        self.characteristics = {}

    # -- the API the pod uses -----------------------------------------------------------
    def active(self, state: object = None) -> bool:
        if state is not None:
            self._active = bool(state)
        return self._active

    def config(self, *args: str, **kwargs: object) -> object:
        if args:
            return self.configured[args[0]]
        self.configured.update(kwargs)
        return None

    def irq(self, handler: object) -> None:
        self._irq = handler

    def gatts_register_services(self, services: object) -> tuple:
        # As in MicroPython, registering replaces every service registered before (a reboot of
        # the firmware on the same stack registers them again).
        self.characteristics = {}
        self.values = {}
        self.services = []
        self.next_handle = _FIRST_HANDLE
        handles = []
        for service in services:  # type: ignore[attr-defined]
            uuid, characteristics = service[0], service[1]
            service_handles = []
            for characteristic in characteristics:
                handle = self.next_handle
                self.next_handle += 2
                self.characteristics[handle] = (characteristic[0], characteristic[1])
                self.values[handle] = b""
                service_handles.append(handle)
            self.services.append(uuid)
            handles.append(tuple(service_handles))
        return tuple(handles)

    def gatts_write(self, handle: int, data: object, send_update: bool = False) -> None:
        self.values[handle] = bytes(data)  # type: ignore[call-overload]

    def gatts_read(self, handle: int) -> bytes:
        return self.values[handle]

    def gatts_set_buffer(self, handle: int, size: int, append: bool = False) -> None:
        self.buffers[handle] = (size, append)

    def gatts_notify(self, conn_handle: int, value_handle: int, data: object = None) -> None:
        if conn_handle != self.conn:
            raise OSError(ENOTCONN)
        if self.outstanding >= self.notify_capacity:
            raise OSError(ENOMEM)
        payload = bytes(data)  # type: ignore[call-overload]
        if len(payload) > self.mtu - 3:
            raise ValueError(f"notification of {len(payload)} bytes exceeds MTU {self.mtu}")
        self.outstanding += 1
        self.notified.append(payload)

    def gap_advertise(
        self,
        interval_us: object,
        adv_data: "bytes | None" = None,
        resp_data: "bytes | None" = None,
        connectable: bool = True,
    ) -> None:
        if interval_us is None:
            self.advertising = None
        else:
            self.advertising = (bytes(adv_data or b""), bytes(resp_data or b""))

    def gap_disconnect(self, conn_handle: int) -> bool:
        if conn_handle != self.conn:
            return False
        self.disconnect()
        return True

    def gattc_exchange_mtu(self, conn_handle: int) -> None:
        self.exchange_requested = conn_handle

    # -- the central's side, for tests --------------------------------------------------
    def _event(self, event: int, data: tuple) -> object:
        if self._irq is not None:
            return self._irq(event, data)  # type: ignore[operator]
        return None

    def set_secret(self, sec_type: int, key: bytes, value: object) -> object:
        """The stack stores a bond secret (None deletes it): the pod's answer."""
        return self._event(IRQ_SET_SECRET, (sec_type, memoryview(key), value))

    def get_secret(self, sec_type: int, index: int, key: object) -> object:
        """The stack looks a bond secret up (key None: the index-th of that type)."""
        view = None if key is None else memoryview(key)  # type: ignore[arg-type]
        return self._event(IRQ_GET_SECRET, (sec_type, index, view))

    def connect(self, conn_handle: int = 1) -> None:
        self.conn = conn_handle
        self.advertising = None
        self._event(IRQ_CENTRAL_CONNECT, (conn_handle, 0, b"\x00\x11\x22\x33\x44\x55"))

    def exchange_mtu(self, mtu: int) -> None:
        self.mtu = min(mtu, int(self.configured.get("mtu", 23)))  # type: ignore[call-overload]
        self._event(IRQ_MTU_EXCHANGED, (self.conn, self.mtu))

    def encrypt(self, bonded: bool = True) -> None:
        self._event(IRQ_ENCRYPTION_UPDATE, (self.conn, True, False, bonded, 16))

    def write(self, handle: int, data: bytes) -> None:
        self.values[handle] = bytes(data)
        self._event(IRQ_GATTS_WRITE, (self.conn, handle))

    def disconnect(self) -> None:
        conn = self.conn
        self.conn = None
        self.outstanding = 0
        self._event(IRQ_CENTRAL_DISCONNECT, (conn, 0, b"\x00\x11\x22\x33\x44\x55"))

    def drain(self) -> list:
        """The central received everything notified so far; the stack's buffers are free again."""
        out = self.notified
        self.notified = []
        self.outstanding = 0
        return out

    def handle_of(self, uuid: object) -> int:
        """The value handle of the characteristic with this UUID (a UUID or its string)."""
        wanted = str(getattr(uuid, "value", uuid)).lower()
        for handle in self.characteristics:
            if str(self.characteristics[handle][0].value).lower() == wanted:
                return handle
        raise KeyError(uuid)
