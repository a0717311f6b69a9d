"""The interface every transport offers to log sync and commands: send one message, receive
the messages that arrived. BLE (bleak), USB serial (pyserial) and emulated links implement it;
`gaitchain.steplog.sync` is written against it only.
"""

from typing import Protocol


class LinkLostError(OSError):
    """The link to the pod went away (disconnect, cable pulled, port closed)."""


class MessageTransport(Protocol):
    def send(self, message: bytes) -> None:
        """Send one host-to-pod message; raise LinkLostError if the link is gone."""
        ...

    def receive(self, timeout_s: float) -> list[bytes]:
        """The pod-to-host messages that arrive within `timeout_s` ([] if none), in order;
        raise LinkLostError if the link is gone."""
        ...

    def close(self) -> None: ...
