"""`gaitchain demo` and `gaitchain live`: the live coach dashboard over the BLE link code.

Both reach pods through `gaitchain.live.ble_link.BlePodLink` (bleak's API, the `PodSession`s of
`gaitchain record`): `demo` on five virtual pods on a Bumble backend, `live --link ble` on the
platform's BLE, to the pods the user chose (`--pods`) or paired (`gaitchain pair`).
"""

import argparse
import asyncio
import signal
import webbrowser
from pathlib import Path

from ..calibration_records import ImuCalibrationRecord, load_record
from ..link.paired import default_path
from ..live.app import LiveApp, PacedClock, browser_available
from ..live.assessment import Replay
from ..live.ble_link import (
    DEMO_DRIVER,
    DEMO_MINUTES,
    DEMO_SEED,
    BlePodLink,
    PodsOpener,
    chosen_pods,
    virtual_pods,
)
from ..live.demo_battery import demo_tests
from ..live.server import ServerConfig, check_binding
from ..live.verdict import JsonFileVerdicts
from ..sim.walk import DRIVERS
from .common import Commands
from .link_commands import chosen_targets

DRIVER_CHOICES = ("healthy", *(f"{s}-{d}" for s in ("left", "right") for d in DRIVERS))


def _serve(
    args: argparse.Namespace,
    opener: PodsOpener,
    *,
    open_browser: bool,
    battery_replay: Replay | None = None,
    calibrations: dict[int, ImuCalibrationRecord] | None = None,
) -> int:
    token = check_binding(args.host, args.token, args.allow_network)
    clock = PacedClock()
    link = BlePodLink(opener, now_s=clock, pair=not args.no_pair)
    verdicts = JsonFileVerdicts(args.verdict_file) if args.verdict_file else None
    app = LiveApp(
        link,
        ServerConfig(
            host=args.host, port=args.port, token=token, title=f"gaitchain {args.command}"
        ),
        now_s=clock,
        verdicts=verdicts,
        record_dir=Path(args.record_dir),
        battery_replay=battery_replay,
        calibrations=calibrations,
    )

    def ready() -> None:
        print(f"gaitchain: dashboard at {app.server.url}  (Ctrl-C stops)", flush=True)
        if open_browser and not args.no_browser and browser_available():
            webbrowser.open(app.server.url)

    app.runner.start()  # connects (raises when the pods cannot be had)
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a kill ends it like Ctrl-C
    try:
        asyncio.run(app.server.serve(ready))
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        app.runner.stop()  # closes an open recording: its journal is complete
    if app.runner.error is not None:
        raise OSError(f"the live pipeline failed: {app.error()}")
    return 0


def _interrupt(_signal: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _demo(args: argparse.Namespace) -> int:
    if not 0.5 <= args.minutes <= 24 * 60:
        raise ValueError(f"minutes = {args.minutes:g} is outside 0.5 to 1440")
    print(f"gaitchain: starting 5 virtual pods on a walker ({args.driver}) on a virtual BLE link")
    opener = virtual_pods(5, minutes=args.minutes, driver=args.driver, seed=args.seed)
    args.no_pair = False
    replay = demo_tests(args.driver, args.seed)  # the walker cannot do the battery's tests
    return _serve(args, opener, open_browser=True, battery_replay=replay)


def _live(args: argparse.Namespace) -> int:
    path = Path(args.paired) if args.paired else default_path()
    targets = asyncio.run(chosen_targets(args.pods, None, path))
    calibrations = None
    if args.calibration:
        # every record is read before connecting: a pod without one is refused here, not found
        # uncorrected on the dashboard
        calibrations = {t.pod_id: load_record(args.calibration, t.pod_id) for t in targets}
    names = ", ".join(t.name or f"{t.pod_id:04x}" for t in targets)
    print(f"gaitchain: connecting to {len(targets)} pod(s) over BLE: {names}")
    return _serve(args, chosen_pods(targets), open_browser=False, calibrations=calibrations)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--allow-network", action="store_true", help="serve beyond loopback")
    parser.add_argument(
        "--token", help="token the page needs (made up when serving beyond loopback)"
    )
    parser.add_argument(
        "--verdict-file",
        help="show the verdict a classifier writes to this JSON file instead of the live "
        "walk-only classifier's",
    )
    parser.add_argument("--record-dir", default="recordings", help="where recordings go")


def register(commands: Commands) -> None:
    demo = commands.add_parser(
        "demo",
        help="live dashboard on virtual pods worn by a simulated walker",
        description="Start five virtual pods (the real firmware on emulated chips) on a simulated "
        "walker with a kinetic-chain driver, on a virtual BLE link (Bumble); connect to them "
        "through the same BLE code as real pods (bleak) and serve the dashboard; prints its URL "
        "and opens a browser when one is available.",
    )
    demo.add_argument("--driver", default=DEMO_DRIVER, choices=DRIVER_CHOICES)
    demo.add_argument("--seed", type=int, default=DEMO_SEED)
    demo.add_argument("--minutes", type=float, default=DEMO_MINUTES, help="length of the walk")
    _common(demo)
    demo.add_argument("--no-browser", action="store_true", help="only print the URL")
    demo.set_defaults(run=_demo)
    live = commands.add_parser(
        "live",
        help="serve the live coach dashboard for pods over BLE",
        description="Connect to the pods you chose (--pods, found by a scan) or paired "
        "(gaitchain pair) over the platform's BLE and serve the dashboard.",
    )
    live.add_argument("--link", choices=("ble",), required=True, help="the transport (ble)")
    live.add_argument("--pods", nargs="+", help="address, name or pod id (default: paired)")
    live.add_argument("--paired", help="the paired-pods file (default ~/.config/gaitchain)")
    live.add_argument(
        "--no-pair", action="store_true", help="never pair: refuse pods that are not bonded"
    )
    live.add_argument(
        "--calibration",
        metavar="DIR",
        help="calibration records (pod-XXXX.json, from gaitchain calibrate imu) of every chosen "
        "pod, applied before fusion; a pod without one is refused",
    )
    _common(live)
    live.add_argument("--no-browser", action="store_true", help=argparse.SUPPRESS)
    live.set_defaults(run=_live)
