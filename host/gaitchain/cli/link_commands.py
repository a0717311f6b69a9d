"""`gaitchain scan`, `gaitchain pair`, `gaitchain record`: pods over BLE.

`--virtual N` runs the same commands against N virtual pods (the firmware on a simulated walker)
on a virtual BLE link (Bumble), in real time, for trying things without hardware.
"""

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncGenerator
from pathlib import Path

from ..link.advertising import PodAdvert
from ..link.ble import PodTarget, Recorder, scan_pods
from ..link.bumble_backend import BleakBackend
from ..link.paired import PairedPod, default_path, load_paired, save_paired
from ..stream import write_journal_recording
from .common import Commands


@contextlib.asynccontextmanager
async def _backend(virtual: int) -> AsyncGenerator[BleakBackend | None]:
    """The platform's BLE (None), or `virtual` virtual pods' Bumble backend."""
    if not virtual:
        yield None
        return
    from ..link.virtual import VirtualPods  # noqa: PLC0415 - only with --virtual

    async with VirtualPods.walking(virtual, minutes=60.0) as pods:
        await asyncio.sleep(1.2)  # every virtual pod has booted and advertises
        yield pods.backend


def _check_virtual(value: int) -> None:
    if not 0 <= value <= 7:
        raise ValueError(f"virtual = {value} is outside 0 to 7 virtual pods")


def _print_scan(pods: list[PodAdvert]) -> None:
    print(f"{'name':<16} {'address':<18} {'pod':>5}  {'placement':<14} {'battery':>7} {'RSSI':>8}")
    for pod in pods:
        battery = "-" if pod.battery_pct is None else f"{pod.battery_pct}%"
        print(
            f"{pod.name:<16} {pod.address:<18} {pod.pod_id:04x}  {pod.placement:<14} "
            f"{battery:>7} {pod.rssi_dbm:>4} dBm"
        )


def _scan_command(args: argparse.Namespace) -> int:
    _check_virtual(args.virtual)
    if not 0.5 <= args.seconds <= 120:
        raise ValueError(f"seconds = {args.seconds} is outside 0.5 to 120")

    async def main() -> list[PodAdvert]:
        async with _backend(args.virtual) as backend:
            return await scan_pods(backend, timeout_s=args.seconds)

    pods = asyncio.run(main())
    if not pods:
        print("no gaitchain pods found; is Bluetooth on and a pod awake (LED)?", file=sys.stderr)
        return 1
    _print_scan(pods)
    return 0


def _match(pods: list[PodAdvert], wanted: str) -> PodAdvert:
    key = wanted.lower()
    for pod in pods:
        if key in (pod.address.lower(), pod.name.lower(), f"{pod.pod_id:04x}"):
            return pod
    raise ValueError(
        f"pod {wanted!r} was not found by a scan; give an address, name or 4-digit pod id "
        "that `gaitchain scan` lists"
    )


def _pair_command(args: argparse.Namespace) -> int:
    _check_virtual(args.virtual)
    path = Path(args.paired) if args.paired else default_path()
    known = load_paired(path)

    async def main() -> list[PairedPod]:
        from bleak import BleakClient  # noqa: PLC0415

        async with _backend(args.virtual) as backend:
            found = await scan_pods(backend, timeout_s=args.seconds)
            chosen = [_match(found, wanted) for wanted in args.pods]
            paired: list[PairedPod] = []
            for pod in chosen:
                client_backend = None if backend is None else backend.client
                async with BleakClient(pod.address, backend=client_backend) as client:
                    await client.pair()
                paired.append(
                    PairedPod(
                        pod.address,
                        pod.pod_id,
                        pod.name,
                        pod.segment.name.lower(),
                        pod.side.name.lower(),
                    )
                )
                print(f"paired {pod.name} ({pod.address}, {pod.placement})")
            return paired

    paired = asyncio.run(main())
    save_paired(path, [*known, *paired])
    print(f"{len(paired)} pod(s) saved in {path}")
    return 0


def _record_command(args: argparse.Namespace) -> int:
    _check_virtual(args.virtual)
    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.force:
        raise OSError(f"{out} is not empty; choose a new directory or pass --force")
    if args.seconds is not None and args.seconds <= 0:
        raise ValueError(f"seconds = {args.seconds} must be positive")
    out.mkdir(parents=True, exist_ok=True)
    journal = out / "journal.gcj"
    if journal.exists():
        journal.unlink()
    path = Path(args.paired) if args.paired else default_path()

    async def main() -> Recorder:
        async with _backend(args.virtual) as backend:
            targets = await chosen_targets(args.pods, backend, path, every=bool(args.virtual))
            recorder = Recorder(targets, journal, backend=backend)
            loop = asyncio.get_running_loop()
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signal.SIGINT, recorder.stop)
            if args.seconds is not None:
                loop.call_later(args.seconds, recorder.stop)
            display = _Display()
            await recorder.run(on_tick=display.show)
            display.show(recorder, force=True)
            return recorder

    recorder = asyncio.run(main())
    recorded = sum(recorder.samples.values())
    print(f"journal: {journal} ({recorded:,} samples)")
    if recorded == 0:
        print("nothing was recorded; the journal is kept", file=sys.stderr)
        return 1
    write_journal_recording(journal, out)
    print(f"recording: {out}/recording.json")
    return 0


async def chosen_targets(
    pods: list[str] | None, backend: BleakBackend | None, path: Path, *, every: bool = False
) -> list[PodTarget]:
    """The pods the user chose: `pods` (addresses, names or ids, found by a scan), else the
    paired pods in `path`; with `every` (virtual pods) and no `pods`, every pod a scan finds.
    `gaitchain record` and `gaitchain live --link ble` connect to these and nothing else."""
    if pods:
        found = await scan_pods(backend, timeout_s=5.0)
        return [PodTarget(p.address, p.pod_id, p.name) for p in (_match(found, w) for w in pods)]
    if every:
        found = await scan_pods(backend, timeout_s=2.0)
        return [PodTarget(p.address, p.pod_id, p.name) for p in found]
    paired = load_paired(path)
    if not paired:
        raise ValueError(
            f"no pods chosen: give --pods, or pair pods first (gaitchain pair; none in {path})"
        )
    return [PodTarget(p.address, p.pod_id, p.name) for p in paired]


class _Display:
    """The live status lines: redrawn in place on a terminal, every 5 s otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stdout.isatty()
        self.shown = 0
        self.last_s = -1e9

    def show(self, recorder: Recorder, *, force: bool = False) -> None:
        now = asyncio.get_running_loop().time()
        if not force and now - self.last_s < (1.0 if self.tty else 5.0):
            return
        self.last_s = now
        lines = [line.text() for line in recorder.lines()]
        if self.tty and self.shown:
            sys.stdout.write(f"\x1b[{self.shown}F")
        sys.stdout.write("".join(f"{line}\x1b[K\n" if self.tty else f"{line}\n" for line in lines))
        sys.stdout.flush()
        self.shown = len(lines)


def register(commands: Commands) -> None:
    scan = commands.add_parser("scan", help="list nearby pods")
    scan.add_argument("--seconds", type=float, default=5.0, help="how long to scan (5)")
    scan.add_argument("--virtual", type=int, default=0, metavar="N", help="N virtual pods")
    scan.set_defaults(run=_scan_command)

    pair = commands.add_parser("pair", help="pair (bond) with pods and remember them")
    pair.add_argument("pods", nargs="+", help="address, name or pod id (as scan lists them)")
    pair.add_argument("--seconds", type=float, default=5.0, help="how long to scan (5)")
    pair.add_argument("--paired", help="the paired-pods file (default ~/.config/gaitchain)")
    pair.add_argument("--virtual", type=int, default=0, metavar="N", help="N virtual pods")
    pair.set_defaults(run=_pair_command)

    record = commands.add_parser("record", help="record pods until Ctrl-C")
    record.add_argument("--out", required=True, help="directory for the journal and recording")
    record.add_argument("--pods", nargs="+", help="address, name or pod id (default: paired)")
    record.add_argument("--paired", help="the paired-pods file (default ~/.config/gaitchain)")
    record.add_argument("--seconds", type=float, help="stop after this many seconds")
    record.add_argument("--virtual", type=int, default=0, metavar="N", help="N virtual pods")
    record.add_argument("--force", action="store_true", help="write into a non-empty --out")
    record.set_defaults(run=_record_command)
