"""Putting the live dashboard together: a link, the pipeline on its thread, the web server.

`LiveApp(link, ...)` is what `gaitchain live` and `gaitchain demo` run; tests and the benchmark
use it too. `PacedClock` is the clock the demo runs on: seconds since it was made, times `rate`
(1 = real time); tests that need simulated time run the pipeline on the link's simulated-time
loop instead (see `tests/host/live/test_pipeline.py`).
"""

import os
import sys
import time
import webbrowser
from collections.abc import Callable, Mapping
from pathlib import Path

from ..calibration_records import ImuCalibrationRecord
from .assessment import Replay
from .hub import LiveHub
from .link import PodLink
from .metrics import StrideMetricsProvider
from .pipeline import LivePipeline, LiveRunner
from .server import LiveServer, ServerConfig
from .verdict import VerdictSource


class PacedClock:
    """`start_s` + `rate` x (seconds since creation), on the monotonic clock."""

    def __init__(self, rate: float = 1.0, start_s: float = 0.0) -> None:
        if not rate > 0:
            raise ValueError(f"clock rate must be positive, got {rate}")
        self.rate = rate
        self.start_s = start_s
        self._origin = time.monotonic()

    def __call__(self) -> float:
        return self.start_s + self.rate * (time.monotonic() - self._origin)


GIL_SWITCH_S = 0.001
"""The link's loop, the pipeline and the server are threads of one process sharing the GIL:
handing it over every 1 ms instead of Python's 5 ms keeps a notification, a ping's echo or a
frame from waiting behind fusion (p95 acquisition to browser 384 -> 256 ms on the loaded
benchmark machine, same CPU). `LiveApp(gil_switch_s=None)` leaves the interpreter's setting."""


class LiveApp:
    """The pipeline on its thread plus the server (see the module docstring)."""

    def __init__(
        self,
        link: PodLink,
        server_config: ServerConfig,
        *,
        now_s: Callable[[], float],
        metrics: StrideMetricsProvider | None = None,
        verdicts: VerdictSource | None = None,
        record_dir: Path | str = "recordings",
        battery_replay: Replay | None = None,
        calibrations: Mapping[int, ImuCalibrationRecord] | None = None,
        interval_s: float = 0.01,
        gil_switch_s: float | None = GIL_SWITCH_S,
    ) -> None:
        if gil_switch_s is not None:
            sys.setswitchinterval(gil_switch_s)
        self.hub = LiveHub()
        self.pipeline = LivePipeline(
            link,
            self.hub,
            now_s=now_s,
            metrics=metrics,
            verdicts=verdicts,
            record_dir=record_dir,
            battery_replay=battery_replay,
            calibrations=calibrations,
        )
        self.runner = LiveRunner(self.pipeline, interval_s=interval_s)
        self.server = LiveServer(
            self.hub,
            server_config,
            now_s=now_s,
            on_record=lambda on: self.pipeline.request("record", on),
            on_battery=lambda value: self.pipeline.request("battery", value),
            error=self.error,
        )

    def error(self) -> str | None:
        error = self.runner.error
        if error is None and self.server.failure is not None:
            return f"the dashboard server stopped: {self.server.failure!r}"
        return None if error is None else f"{type(error).__name__}: {error}"

    def start_background(self) -> None:
        """Start the pipeline and the server on background threads (tests, benchmarks)."""
        self.runner.start()
        self.server.start_in_thread()

    def stop(self) -> None:
        self.server.stop()
        self.runner.stop()


def browser_available() -> bool:
    """True when a graphical browser can be opened from here."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return False
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True
