"""`gaitchain live` and `gaitchain demo`: the live coach dashboard, on virtual pods for now."""

import argparse
import asyncio
import webbrowser
from pathlib import Path

from ..live.app import LiveApp, PacedClock, browser_available
from ..live.server import ServerConfig, check_binding
from ..live.verdict import JsonFileVerdicts
from ..live.virtual_link import DEMO_MTU, VirtualPodLink, VirtualWalkConfig
from ..sim.walk import DRIVERS
from .common import Commands

DRIVER_CHOICES = ("healthy", *(f"{s}-{d}" for s in ("left", "right") for d in DRIVERS))


def _serve(args: argparse.Namespace, *, open_browser: bool) -> int:
    token = check_binding(args.host, args.token, args.allow_network)
    config = VirtualWalkConfig(
        driver=args.driver, seed=args.seed, minutes=args.minutes, mtu=args.mtu
    )
    print(f"gaitchain: starting {len(config.pods)} virtual pods on a walker ({args.driver})")
    link = VirtualPodLink(config)
    clock = PacedClock()
    verdicts = JsonFileVerdicts(args.verdict_file) if args.verdict_file else None
    app = LiveApp(
        link,
        ServerConfig(
            host=args.host, port=args.port, token=token, title=f"gaitchain {args.command}"
        ),
        now_s=clock,
        verdicts=verdicts,
        record_dir=Path(args.record_dir),
    )

    def ready() -> None:
        print(f"gaitchain: dashboard at {app.server.url}  (Ctrl-C stops)", flush=True)
        if open_browser and not args.no_browser and browser_available():
            webbrowser.open(app.server.url)

    app.runner.start()
    try:
        asyncio.run(app.server.serve(ready))
    except KeyboardInterrupt:
        pass
    finally:
        app.runner.stop()
    if app.runner.error is not None:
        raise OSError(f"the live pipeline failed: {app.error()}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    return _serve(args, open_browser=True)


def _live(args: argparse.Namespace) -> int:
    return _serve(args, open_browser=False)


def _common(parser: argparse.ArgumentParser, *, driver_default: str) -> None:
    parser.add_argument("--driver", default=driver_default, choices=DRIVER_CHOICES)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the walk")
    parser.add_argument("--mtu", type=int, default=DEMO_MTU, help="ATT MTU the central offers")
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
        "walker with a kinetic-chain driver, connect to them through the live link code and "
        "serve the dashboard; prints its URL and opens a browser when one is available.",
    )
    _common(demo, driver_default="left-hip-ir-deficit")
    demo.add_argument("--no-browser", action="store_true", help="only print the URL")
    demo.set_defaults(run=_demo)
    live = commands.add_parser(
        "live",
        help="serve the live coach dashboard",
        description="Serve the live dashboard for pods on a link. Until the BLE transport lands "
        "the only link is --link virtual (virtual pods, as in `gaitchain demo`).",
    )
    live.add_argument("--link", choices=("virtual",), required=True)
    _common(live, driver_default="healthy")
    live.add_argument("--no-browser", action="store_true", help=argparse.SUPPRESS)
    live.set_defaults(run=_live)
