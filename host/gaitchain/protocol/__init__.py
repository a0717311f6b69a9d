"""Wire protocol 1.0 between pods and host: see docs/protocol.md."""

from .batch import SampleBlock, decode_sample_batches
from .codec import decode, encode
from .errors import ErrorKind, ProtocolError
from .messages import (
    Command,
    Echo,
    ErrorReport,
    LogBlock,
    Message,
    Ping,
    PodInfo,
    Reply,
    ResendRequest,
    ResendUnavailable,
    SampleBatch,
    Status,
    StreamConfig,
)
from .spec import (
    Capability,
    CommandCode,
    CommandResult,
    ErrorCode,
    ImuChip,
    MessageType,
    SampleFlags,
    Segment,
    Side,
    StatusFlags,
)

__all__ = [
    "Capability",
    "Command",
    "CommandCode",
    "CommandResult",
    "Echo",
    "ErrorCode",
    "ErrorKind",
    "ErrorReport",
    "ImuChip",
    "LogBlock",
    "Message",
    "MessageType",
    "Ping",
    "PodInfo",
    "ProtocolError",
    "Reply",
    "ResendRequest",
    "ResendUnavailable",
    "SampleBatch",
    "SampleBlock",
    "SampleFlags",
    "Segment",
    "Side",
    "Status",
    "StatusFlags",
    "StreamConfig",
    "decode",
    "decode_sample_batches",
    "encode",
]
