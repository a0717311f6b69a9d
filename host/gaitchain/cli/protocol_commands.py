"""`gaitchain protocol ...`: look at wire-protocol messages."""

import argparse
import sys

import numpy as np

from .. import __version__
from ..protocol import ProtocolError, SampleBatch, decode, spec
from .common import Commands


def _format_field(value: object) -> str:
    if isinstance(value, np.ndarray):
        rows = value.tolist()  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        return "\n" + "\n".join(f"      {row}" for row in rows)  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, bytes):
        return value.hex(" ")
    return repr(value)


def _decode_command(args: argparse.Namespace) -> int:
    failures = 0
    for text in args.messages:
        try:
            data = bytes.fromhex(text.replace(":", " "))
        except ValueError:
            print(
                f"not hexadecimal: {text[:40]!r}; give each message as hex digits", file=sys.stderr
            )
            failures += 1
            continue
        try:
            message = decode(data)
        except ProtocolError as error:
            print(f"{len(data)} bytes: cannot decode: {error}", file=sys.stderr)
            failures += 1
            continue
        print(f"{type(message).__name__} ({len(data)} bytes)")
        for name, value in vars(message).items():
            if value is not None:
                print(f"  {name}: {_format_field(value)}")
        if isinstance(message, SampleBatch):
            t_last_us = message.t_first_us + (message.count - 1) * message.period_ns / 1000
            rate_hz = 1e9 / message.period_ns
            print(
                f"  -> {message.count} samples at {rate_hz:.3f} Hz, "
                f"device time {message.t_first_us} .. {t_last_us:.1f} us"
            )
    return 1 if failures else 0


def _info_command(_: argparse.Namespace) -> int:
    print(f"gaitchain {__version__}, wire protocol {spec.VERSION_MAJOR}.{spec.VERSION_MINOR}")
    print(f"  service UUID       {spec.SERVICE_UUID}")
    print(f"  info               {spec.INFO_CHAR_UUID} (read)")
    print(f"  status             {spec.STATUS_CHAR_UUID} (read)")
    print(f"  data               {spec.DATA_CHAR_UUID} (notify)")
    print(f"  control            {spec.CONTROL_CHAR_UUID} (write)")
    print(
        f"  default batch      {spec.DEFAULT_SAMPLES_PER_BATCH} six-axis samples per "
        f"notification at MTU {spec.DEFAULT_MTU}"
    )
    return 0


def register(commands: Commands) -> None:
    protocol = commands.add_parser("protocol", help="inspect wire-protocol messages")
    protocol_commands = protocol.add_subparsers(dest="protocol_command", required=True)
    decode_parser = protocol_commands.add_parser(
        "decode", help="decode messages given as hex (as copied from a BLE sniffer or nRF Connect)"
    )
    decode_parser.add_argument("messages", nargs="+", metavar="HEX", help="one message in hex")
    decode_parser.set_defaults(run=_decode_command)
    info_parser = protocol_commands.add_parser("info", help="print UUIDs and batch layout")
    info_parser.set_defaults(run=_info_command)
