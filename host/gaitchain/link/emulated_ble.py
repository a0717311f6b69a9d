"""A BLE central for virtual pods: `MessageTransport` over the emulated `bluetooth` module.

It connects to a `VirtualPod`, negotiates the MTU, bonds, writes host-to-pod messages to the
control characteristic and collects notifications. Time is the virtual pod's: each `receive`
runs the pod for one connection interval, after which the central takes at most
`notifications_per_event` notifications (the stack's buffer holds that many; the pod sees ENOMEM
beyond it and sends the rest at a later event), which is how a real link paces notifications.
`bytes_received / elapsed_s` is then the throughput those link parameters allow.
"""

from typing import Any, Final

from ..protocol.spec import CONTROL_CHAR_UUID
from .transport import LinkLostError

DEFAULT_CONN_INTERVAL_S: Final = 0.015
DEFAULT_NOTIFICATIONS_PER_EVENT: Final = 4


class EmulatedBleTransport:
    def __init__(
        self,
        pod: Any,
        mtu: int = 247,
        conn_interval_s: float = DEFAULT_CONN_INTERVAL_S,
        notifications_per_event: int = DEFAULT_NOTIFICATIONS_PER_EVENT,
    ) -> None:
        self.pod = pod
        self.ble: Any = pod.ble
        self.conn_interval_s = conn_interval_s
        self.ble.notify_capacity = notifications_per_event
        self.ble.connect()
        self.ble.exchange_mtu(mtu)
        self.ble.encrypt(bonded=True)
        self._control = int(self.ble.handle_of(CONTROL_CHAR_UUID))
        self.connected = True
        self.bytes_received = 0
        self.elapsed_s = 0.0

    def send(self, message: bytes) -> None:
        if not self.connected:
            raise LinkLostError("the emulated BLE link is disconnected")
        self.ble.write(self._control, message)

    def receive(self, timeout_s: float) -> list[bytes]:
        """One connection interval of the pod's time (whatever `timeout_s`, which is wall time
        for real transports)."""
        if not self.connected:
            raise LinkLostError("the emulated BLE link is disconnected")
        self.pod.advance_to(self.pod.now_s + self.conn_interval_s)
        self.elapsed_s += self.conn_interval_s
        received: list[bytes] = [bytes(m) for m in self.ble.drain()]
        self.bytes_received += sum(len(m) for m in received)
        return received

    def disconnect(self) -> None:
        if self.connected:
            self.ble.disconnect()
            self.connected = False

    def close(self) -> None:
        self.disconnect()
