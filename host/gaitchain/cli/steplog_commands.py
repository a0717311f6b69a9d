"""`gaitchain sync` and `gaitchain load`: download step logs from pods, report daily load."""

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncGenerator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from ..link.ble import PodTarget
from ..link.ble_sync import PodSyncOutcome, SyncOptions, sync_pods
from ..link.bumble_backend import BleakBackend
from ..link.paired import default_path, load_paired
from ..link.serial_port import SerialTransport
from ..steplog.plots import plot_report
from ..steplog.report import DailyLoad, format_report
from ..steplog.store import StepStore
from ..steplog.sync import LogSync, SyncResult, run_sync
from .common import Commands
from .link_commands import chosen_targets

DEFAULT_DB = "gaitchain-steps.sqlite"


def _sync_command(args: argparse.Namespace) -> int:
    if args.timeout <= 0:
        raise ValueError(f"timeout = {args.timeout} s; give a positive number of seconds")
    if args.port and (args.pods or args.virtual):
        raise ValueError("give --port (USB) or --pods/--virtual (BLE), not both")
    if not 0 <= args.virtual <= 7:
        raise ValueError(f"virtual = {args.virtual} is outside 0 to 7 virtual pods")
    store = StepStore(args.db)
    try:
        return _sync_serial(args, store) if args.port else _sync_ble(args, store)
    finally:
        store.close()


def _print_result(where: str, result: SyncResult) -> None:
    info = result.log_info
    held = f", pod log {info.used_bytes} of {info.capacity_bytes} bytes" if info else ""
    print(
        f"{where}: pod {result.pod_id:04x}: {result.blocks_stored} blocks, "
        f"{result.steps_stored} steps stored from block {result.first_seq}; "
        f"confirmed below {result.confirmed_seq}{held}"
    )
    for note in result.notes:
        print(f"  note: {note}")


def _sync_serial(args: argparse.Namespace, store: StepStore) -> int:
    failed = 0
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
        _print_result(port, result)
    return 1 if failed else 0


def _print_outcome(outcome: PodSyncOutcome) -> None:
    target = outcome.target
    where = target.name or target.address
    if outcome.complete and outcome.last is not None:
        last = outcome.last
        _print_result(where, last)
        if len(outcome.attempts) > 1:
            print(
                f"  resumed after {outcome.disconnects} lost link(s): {outcome.blocks_stored} "
                f"blocks, {outcome.steps_stored} steps in all, none twice"
            )
    else:
        print(
            f"{where}: pod {target.pod_id:04x}: sync stopped after {len(outcome.attempts)} "
            f"attempt(s): {outcome.error}; {outcome.blocks_stored} blocks stored are kept and the "
            "next sync resumes"
        )


def _sync_ble(args: argparse.Namespace, store: StepStore) -> int:
    path = Path(args.paired) if args.paired else default_path()
    if not args.pods and not args.virtual and not load_paired(path):
        raise ValueError(
            "no pods chosen: give --port DEVICE for a pod on USB, --pods for pods over BLE, or "
            f"pair pods first (gaitchain pair; none in {path})"
        )
    options = SyncOptions(client=args.client, idle_timeout_s=args.timeout)

    async def main() -> tuple[list[PodSyncOutcome], list[PodTarget]]:
        async with _ble_backend(args.virtual) as backend:
            chosen = await chosen_targets(args.pods, backend, path, every=bool(args.virtual))
            return await sync_pods(
                chosen,
                store,
                backend=backend,
                options=options,
                scan_s=args.scan_seconds,
                on_outcome=_print_outcome,
            )

    outcomes, missing = asyncio.run(main())
    for target in missing:
        print(f"{target.name or target.address}: pod {target.pod_id:04x} not in reach")
    if not outcomes:
        print("no chosen pod was in reach; is Bluetooth on and a pod nearby?", file=sys.stderr)
        return 1
    return 0 if all(o.complete for o in outcomes) else 1


VIRTUAL_LOG_DAYS = 1.0
VIRTUAL_STEPS_PER_DAY = 10_000


@contextlib.asynccontextmanager
async def _ble_backend(virtual: int) -> AsyncGenerator[BleakBackend | None]:
    """The platform's BLE (None), or `virtual` virtual pods, each holding a day of steps (the
    day before today) in its step log."""
    if not virtual:
        yield None
        return
    from ..link.virtual import VirtualPods  # noqa: PLC0415 - only with --virtual
    from ..sim.step_days import fill_step_log  # noqa: PLC0415

    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start_ms = int((today - timedelta(days=VIRTUAL_LOG_DAYS)).timestamp() * 1000)
    async with VirtualPods.walking(virtual, minutes=2.0, log_sectors=64) as pods:
        for i, spec in enumerate(pods.specs):
            log = pods.pod(spec.pod_id).pod.steplog
            fill_step_log(
                log,
                days=VIRTUAL_LOG_DAYS,
                steps_per_day=VIRTUAL_STEPS_PER_DAY,
                start_unix_ms=start_ms,
                seed=i,
            )
        await asyncio.sleep(1.2)  # every virtual pod has booted and advertises
        yield pods.backend


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
        description="Downloads the step log of every chosen pod in reach over BLE (the paired "
        "pods, or --pods), or of the pods on USB ports (--port), resuming where the last sync "
        "stopped; stores it, and lets each pod free what was stored.",
    )
    sync.add_argument("--port", action="append", default=[], help="serial port of a pod (USB)")
    sync.add_argument("--pods", nargs="+", help="BLE: address, name or pod id (default: paired)")
    sync.add_argument("--paired", help="the paired-pods file (default ~/.config/gaitchain)")
    sync.add_argument("--scan-seconds", type=float, default=5.0, help="BLE: scan this long (5)")
    sync.add_argument(
        "--virtual", type=int, default=0, metavar="N", help="N virtual pods with a day of steps"
    )
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
