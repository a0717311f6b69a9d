"""The seam between pods and the live pipeline: a link delivers what pods sent and takes what the
host writes to them.

A `PodLink` is "a source of (pod_id, host_receive_s, packet bytes) plus a way to send bytes to a
pod, with link up/down". The live pipeline only talks to this interface, so a transport is swapped
by passing another object that has these four methods:

* `start(now_s)`: connect to the pods (or begin replaying);
* `poll(now_s)`: everything that happened since the last call, in order, as `Packet` and
  `LinkChange` events; it never blocks (a callback-based transport such as bleak enqueues in its
  notification callbacks and `poll` drains the queue);
* `send(pod_id, data)`: write one host-to-pod message (to the control characteristic);
* `close()`: disconnect.

`gaitchain.live.virtual_link.VirtualPodLink` implements it over virtual pods (the real firmware on
emulated chips and the emulated MicroPython `bluetooth` module); a BLE transport implements it over
bleak. Times are host seconds on the clock the pipeline runs on.
"""

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Packet:
    """One message from a pod, as it arrived."""

    pod_id: int
    host_receive_s: float
    data: bytes


@dataclass(frozen=True)
class LinkChange:
    """A pod's link went up (connected, ready for commands) or down."""

    pod_id: int
    host_s: float
    up: bool


LinkEvent = Packet | LinkChange


class PodLink(Protocol):
    """What the live pipeline needs from a transport (see the module docstring)."""

    def start(self, now_s: float) -> None: ...

    def poll(self, now_s: float) -> list[LinkEvent]: ...

    def send(self, pod_id: int, data: bytes) -> None: ...

    def close(self) -> None: ...
