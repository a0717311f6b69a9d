"""The one error the decoder raises for bad input."""

from typing import Literal

ErrorKind = Literal["truncated", "oversized", "version", "unknown_type", "corrupted"]


class ProtocolError(ValueError):
    """A message that cannot be decoded.

    `kind` says which rule was broken (see docs/protocol.md, "Decoding errors"); the message says
    what was wrong and what to do about it.
    """

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind: ErrorKind = kind
