"""The `gaitchain` command line: one module per group of subcommands."""

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from . import (
    analysis_commands,
    calibrate_commands,
    chain_commands,
    fusion_commands,
    link_commands,
    live_commands,
    pod_commands,
    protocol_commands,
    sim_commands,
    steplog_commands,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gaitchain",
        description="IMU pods and host software measuring the kinetic chain while a client walks.",
    )
    parser.add_argument("--version", action="version", version=f"gaitchain {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    protocol_commands.register(commands)
    sim_commands.register(commands)
    fusion_commands.register(commands)
    calibrate_commands.register(commands)
    analysis_commands.register(commands)
    pod_commands.register(commands)
    steplog_commands.register(commands)
    live_commands.register(commands)
    chain_commands.register(commands)
    link_commands.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Bad input ends with a one-line message naming what to change, exit 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (ValueError, OSError) as error:
        parser.exit(2, f"gaitchain {args.command}: {error}\n")


if __name__ == "__main__":
    sys.exit(main())
