"""`gaitchain sync` and `gaitchain load`: download step logs from pods, report daily load."""

import argparse
import time
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from ..link.serial_port import SerialTransport
from ..steplog.plots import plot_report
from ..steplog.report import DailyLoad, format_report
from ..steplog.store import StepStore
from ..steplog.sync import LogSync, run_sync
from .common import Commands

DEFAULT_DB = "gaitchain-steps.sqlite"


def _sync_command(args: argparse.Namespace) -> int:
    if not args.port:
        raise ValueError(
            "give --port DEVICE for each pod on USB (e.g. --port /dev/ttyACM0); syncing over "
            "BLE comes with the BLE transport (gaitchain.steplog.sync.LogSync runs over any "
            "MessageTransport)"
        )
    if args.timeout <= 0:
        raise ValueError(f"timeout = {args.timeout} s; give a positive number of seconds")
    store = StepStore(args.db)
    failed = 0
    try:
        for port in args.port:
            transport = SerialTransport(port)
            try:
                sync = LogSync(store, time.time, client=args.client, transport_name="serial")
                result = run_sync(transport, sync, idle_timeout_s=args.timeout)
            except OSError as error:
                print(f"{port}: sync stopped: {error}")
                failed += 1
                continue
            finally:
                transport.close()
            info = result.log_info
            held = f", pod log {info.used_bytes} of {info.capacity_bytes} bytes" if info else ""
            print(
                f"{port}: pod {result.pod_id:04x}: {result.blocks_stored} blocks, "
                f"{result.steps_stored} steps stored from block {result.first_seq}; "
                f"confirmed below {result.confirmed_seq}{held}"
            )
            for note in result.notes:
                print(f"  note: {note}")
    finally:
        store.close()
    return 1 if failed else 0


def _load_command(args: argparse.Namespace) -> int:
    if not 1 <= args.days <= 366:
        raise ValueError(f"days = {args.days} is outside 1 to 366")
    if not Path(args.db).is_file():
        raise OSError(f"no step store at {args.db}; run `gaitchain sync` first or give --db")
    tz = timezone(timedelta(hours=args.utc_offset_h)) if args.utc_offset_h is not None else None
    tz = tz or datetime.now().astimezone().tzinfo or UTC
    assert isinstance(tz, timezone)
    last = date.fromisoformat(args.until) if args.until else datetime.now(tz).date()
    first = last - timedelta(days=args.days - 1)
    store = StepStore(args.db)
    try:
        since = int(datetime(first.year, first.month, first.day, tzinfo=tz).timestamp() * 1000)
        steps = store.client_steps(args.client, since, since + args.days * 86_400_000)
        report = DailyLoad(rest_gap_min=args.rest_min).compute(steps, first, args.days, tz)
    finally:
        store.close()
    print(format_report(report, args.client))
    if args.plot:
        plot_report(report, args.client, Path(args.plot))
        print(f"plot: {args.plot}")
    return 0


def register(commands: Commands) -> None:
    sync = commands.add_parser(
        "sync",
        help="download the step logs of pods into the step store",
        description="Downloads every pod's step log (resuming where the last sync stopped), "
        "stores it, and lets each pod free what was stored.",
    )
    sync.add_argument("--port", action="append", default=[], help="serial port of a pod")
    sync.add_argument("--client", help="assign the synced pods to this client")
    sync.add_argument("--db", default=DEFAULT_DB, help=f"step store (default {DEFAULT_DB})")
    sync.add_argument("--timeout", type=float, default=5.0, help="give up after this silence, s")
    sync.set_defaults(run=_sync_command)

    load = commands.add_parser(
        "load",
        help="daily steps, load, balance and first steps after rest of a client",
        description="Reports, per day, steps per side, impact-weighted load, left/right "
        "balance and the first steps after long rest, from the step store.",
    )
    load.add_argument("--client", required=True)
    load.add_argument("--days", type=int, default=7)
    load.add_argument("--until", help="last day, YYYY-MM-DD (default today)")
    load.add_argument("--db", default=DEFAULT_DB)
    load.add_argument("--rest-min", type=float, default=120.0, help="a long rest, minutes")
    load.add_argument("--utc-offset-h", type=float, help="time zone (default the computer's)")
    load.add_argument("--plot", help="write the report as a PNG here")
    load.set_defaults(run=_load_command)
