"""The seam between pods and the live pipeline: a link delivers what pods sent and takes what the
host writes to them.

A `PodLink` is "a source of (pod_id, host_receive_s, packet bytes) plus a way to send bytes to a
pod, with link up/down". The live pipeline only talks to this interface, so a transport is swapped
by passing another object that has these four methods:

* `start(now_s)`: connect to the pods (or begin replaying);
* `poll(now_s)`: everything that happened since the last call, in order, as `Packet`, `Sent`
  and `LinkChange` events; it never blocks (bleak's notification callbacks enqueue and `poll`
  drains the queue);
* `send(pod_id, data)`: write one host-to-pod message (to the control characteristic);
* `close()`: stop the pods and disconnect.

The link brings each pod to streaming by itself: after every (re)connect it asks the pod's info
first (so a reboot is seen before anything else of the new boot) and its stream config, starts it,
and only then reports the link up; the commands it wrote come back as `Sent` events, so the
pipeline's stream layer and journal see every message in both directions. The link does not
assemble the stream: the pipeline does, once per pod.

`gaitchain.live.ble_link.BlePodLink` implements it over bleak (`gaitchain.link.ble`), for real pods
and for virtual pods on a Bumble backend. Times are host seconds on the clock the pipeline runs on.
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
class Sent:
    """A message the link wrote to a pod on its own (a command of its connection set-up)."""

    pod_id: int
    host_send_s: float
    data: bytes


@dataclass(frozen=True)
class LinkChange:
    """A pod's link went up (connected, ready for commands) or down."""

    pod_id: int
    host_s: float
    up: bool


LinkEvent = Packet | Sent | LinkChange


class PodLink(Protocol):
    """What the live pipeline needs from a transport (see the module docstring)."""

    def start(self, now_s: float) -> None: ...

    def poll(self, now_s: float) -> list[LinkEvent]: ...

    def send(self, pod_id: int, data: bytes) -> None: ...

    def close(self) -> None: ...
