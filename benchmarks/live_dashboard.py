"""Live dashboard benchmarks, with Chromium (Playwright) on the page and five virtual pods reached
as `gaitchain demo` reaches them: the BLE link code (`BlePodLink`, bleak) on a Bumble backend.

  latency  real time: how long a sample takes from its acquisition on the pod to the browser
           receiving it (the page's WebSocket worker) and to the page drawing it, split into the
           server's share (sample age when its frame is sent) and the transit; and whether the
           pipeline keeps up with real time (step lateness, CPU shares, of which the virtual pods
           and Bumble: the link thread's CPU).
  memory   faster than real time (the link's loop on simulated time, which runs as fast as the
           CPU allows; the pipeline steps on that clock): 30 minutes of five pods, server RSS and
           the page's JS heap and DOM size every few simulated minutes.

.venv/bin/python benchmarks/live_dashboard.py latency --seconds 60
.venv/bin/python benchmarks/live_dashboard.py memory --minutes 30
"""

import argparse
import glob
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from gaitchain.live.app import LiveApp, PacedClock
from gaitchain.live.ble_link import BlePodLink, virtual_pods
from gaitchain.live.server import ServerConfig
from gaitchain.sim.simtime import SimulatedTimeLoop
from live_browser import (  # pyright: ignore[reportMissingImports]
    CHROMIUM_ARGS,  # pyright: ignore[reportUnknownVariableType]
    chromium_path,  # pyright: ignore[reportUnknownVariableType]
)

PAGE_STATS = """() => ({
  latencies: window.gcStats.latencies, shown: window.gcStats.shownLatencies,
  frames: window.gcStats.frames, draws: window.gcStats.draws,
  decimations: window.gcStats.decimations, strides: window.gcStats.strideRows,
  errors: window.gcStats.errors.length, lastError: window.gcStats.errors.slice(-1)[0] || null,
  nodes: document.getElementsByTagName('*').length })"""


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def chromium_cpu_s() -> float:
    total = 0
    for proc in glob.glob("/proc/[0-9]*"):
        try:
            if "chrom" not in Path(proc, "comm").read_text():
                continue
            fields = Path(proc, "stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            continue
    return total / os.sysconf("SC_CLK_TCK")


def pct(values: Any, q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def open_page(playwright: Any, url: str) -> tuple[Any, Any]:
    context = playwright.chromium.launch_persistent_context(
        tempfile.mkdtemp(prefix="gc-chromium-"),
        executable_path=chromium_path(),
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 1400, "height": 1300},
    )
    page = context.new_page()
    page.goto(url)
    page.wait_for_function("window.gcStats && window.gcStats.ready", timeout=60_000)
    return context, page


def latency(args: argparse.Namespace) -> None:
    clock = PacedClock()
    link = BlePodLink(virtual_pods(5, minutes=max(3.0, args.seconds / 60 + 1.5)), now_s=clock)
    app = LiveApp(link, ServerConfig(port=0), now_s=clock, record_dir=tempfile.mkdtemp())
    app.start_background()
    with sync_playwright() as playwright:
        context, page = open_page(playwright, app.server.url)
        page.wait_for_function("window.gcStats.points > 1000", timeout=120_000)
        page.evaluate("window.gcStats.latencies = []; window.gcStats.shownLatencies = []")
        app.server.send_ages_s.clear()
        app.runner.step_timing.clear()
        link_cpu0 = link.thread_cpu_s()
        cpu0, chrome0, wall0, load0 = time.process_time(), chromium_cpu_s(), time.monotonic(), 0.0
        page.wait_for_timeout(args.seconds * 1000)
        wall = time.monotonic() - wall0
        cpu, chrome = (time.process_time() - cpu0) / wall, (chromium_cpu_s() - chrome0) / wall
        link_cpu = (link.thread_cpu_s() - link_cpu0) / wall
        load0 = os.getloadavg()[0]
        stats = page.evaluate(PAGE_STATS)
        context.close()
    app.stop()
    received = np.asarray(stats["latencies"]) * 1000
    shown = np.asarray(stats["shown"]) * 1000
    ages = np.asarray(app.server.send_ages_s) * 1000
    timing = np.asarray(app.runner.step_timing) * 1000
    print(
        f"{args.seconds} s of five virtual pods at 120 Hz in real time over the BLE link code "
        f"(bleak, Bumble backend, MTU {link.sessions[0x0101].state.mtu}), {received.size} samples"
    )
    print("                          median     p95     max   (ms)")
    for name, values in (
        ("acquisition -> received", received),
        ("acquisition -> drawn", shown),
        ("server share (age at send)", ages),
        ("pipeline step lateness", timing[:, 0]),
        ("pipeline step duration", timing[:, 1]),
    ):
        print(f"  {name:27s} {np.median(values):6.1f} {pct(values, 95):7.1f} {values.max():7.1f}")
    verdict = "met" if pct(received, 95) <= 100 else "NOT met"
    print(f"  target p95 acquisition -> received <= 100 ms: {verdict}")
    print(
        f"  frames received {stats['frames']} ({stats['frames'] / args.seconds:.1f}/s), "
        f"drawn {stats['draws']} ({stats['draws'] / args.seconds:.1f}/s)"
    )
    print(
        f"  CPU: server process {100 * cpu:.0f}% of a core (of which the link thread: virtual "
        f"pods, Bumble and bleak, {100 * link_cpu:.0f}%), Chromium {100 * chrome:.0f}%; "
        f"machine load average {load0:.1f} on {os.cpu_count()} cores"
    )


def memory(args: argparse.Namespace) -> None:
    loop = SimulatedTimeLoop()
    link = BlePodLink(
        virtual_pods(5, minutes=args.minutes + 1.0), now_s=loop.time, loop_factory=lambda: loop
    )
    clock = loop.time
    app = LiveApp(
        link, ServerConfig(port=0), now_s=clock, record_dir=tempfile.mkdtemp(), interval_s=0.005
    )
    app.start_background()
    rows: list[tuple[float, float, float, float, int, float]] = []
    started = time.monotonic()
    with sync_playwright() as playwright:
        context, page = open_page(playwright, app.server.url)
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        minute = 1
        while minute <= args.minutes:
            while clock() < minute * 60.0:
                page.wait_for_timeout(200)
                if app.runner.error is not None:
                    raise RuntimeError(app.error())
            cdp.send("HeapProfiler.collectGarbage")
            metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
            stats = page.evaluate(PAGE_STATS)
            sim_minutes = clock() / 60.0
            rows.append(
                (
                    sim_minutes,
                    rss_mb(),
                    metrics["JSHeapUsedSize"] / 2**20,
                    metrics["Nodes"],
                    int(stats["strides"]),
                    (time.monotonic() - started) / 60.0,
                )
            )
            print(
                f"  sim {sim_minutes:5.1f} min  server RSS {rows[-1][1]:6.1f} MB  "
                f"JS heap {rows[-1][2]:6.1f} MB  DOM nodes {rows[-1][3]:5.0f}  "
                f"strides {rows[-1][4]:5d}  wall {rows[-1][5]:4.1f} min",
                flush=True,
            )
            print(
                f"    page frames {stats['frames']}  page errors {stats['errors']} "
                f"{stats['lastError'] or ''}  server frames {app.server.frames_sent}  "
                f"clients {app.hub.clients}  pipeline strides {app.pipeline.strides_total}",
                flush=True,
            )
            minute += 1 if minute < 5 else args.every
        context.close()
    app.stop()
    pipeline = app.pipeline
    print(
        f"{args.minutes} min of five pods at 120 Hz in {rows[-1][5]:.1f} min of wall time "
        f"({args.minutes / rows[-1][5]:.1f}x real time)"
    )
    first = next(r for r in rows if r[0] >= 5.0)
    last = rows[-1]
    print(
        f"  server RSS {first[1]:.1f} MB at {first[0]:.0f} min -> {last[1]:.1f} MB at "
        f"{last[0]:.0f} min; JS heap {first[2]:.1f} -> {last[2]:.1f} MB; DOM nodes "
        f"{first[3]:.0f} -> {last[3]:.0f}; strides {last[4]}"
    )
    print(f"  journal off; pods {len(pipeline.pods)}, strides in pipeline {pipeline.strides_total}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    lat = commands.add_parser("latency")
    lat.add_argument("--seconds", type=int, default=60)
    lat.set_defaults(run=latency)
    mem = commands.add_parser("memory")
    mem.add_argument("--minutes", type=int, default=30)
    mem.add_argument("--every", type=int, default=5, help="minutes between rows after the 5th")
    mem.set_defaults(run=memory)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
