"""Chain metrics and the chain-driver verdict of the live session, with the offline definitions.

The pipeline keeps the last `window_s` of every aligned pod's fused samples (`LiveChain.add`:
host times, SI readings, the streaming 6D orientation, the pod's live alignment). Every `every_s`
it hands that window to `chain_job` on a worker process (one window at a time; not a thread of
the pipeline's process, whose interpreter lock it would hold, so sample delivery is not delayed).
There the window becomes a `Recording` whose pods carry the live orientation,
`gait.kinematics.common_kinematics` puts the pods in one heading frame and finds the walking
direction (`fusion.heading.CommonHeading`, over the window), and `gait.analysis.analyze_kinematics`
finds events and strides and measures every stride exactly as `gaitchain analyze` does (names,
units and signs of docs/analysis.md). Strides whose initial contact is later than the newest one
already taken (by `same_event_s`) are new rows for the table.

The verdict: the last `keep_strides` straight strides per side go through the walk-only
classifier that `analyze` uses for its `drivers` key (`chain.classifier.walking_drivers` on their
medians), once each side has `min_strides`; until then the panel says how many it has. A
verdict naming another driver or side than the one shown, with no more than half the
probability, is shown once two windows in a row name it (`LiveChain._confirmed`).
"""

import math
import multiprocessing
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import numpy as np
from numpy.typing import NDArray

from ..chain.classifier import NOT_ENOUGH, walking_drivers
from ..gait.analysis import analyze_kinematics, missing_pods
from ..gait.angles import SIDES
from ..gait.kinematics import FusedPod, common_kinematics
from ..gait.summary import Row, medians
from ..io.recording import PodRecording, Recording
from .verdict import Verdict

FloatArray = NDArray[np.float64]
T = TypeVar("T")

TABLE_COLUMNS: Final = (
    "stride_time_s",
    "stance_pct",
    "cadence_spm",
    "pelvic_drop_deg",
    "hip_rotation_range_deg",
    "hip_internal_rotation_peak_stance_deg",
    "tibial_rotation_loading_deg",
    "eversion_at_contact_deg",
    "pronation_excursion_deg",
    "pronated_stance_pct",
    "ankle_dorsiflexion_peak_stance_deg",
    "heel_off_stance_pct",
    "heel_rise_stance_pct",
)
"""The per-stride columns the dashboard shows (all of docs/analysis.md are computed)."""
COMPACT_PARTS: Final = 64
"""The newest this many sample parts of a pod are merged into one."""


@dataclass(frozen=True)
class PodWindow:
    """One pod's recent samples as the pipeline fused them: parts of (host times, specific force,
    angular rate, 6D orientation w,x,y,z sensor -> the pod's earth frame), oldest first."""

    segment: str
    side: str
    sensor_to_segment: FloatArray
    alignment_quality: float
    parts: tuple[tuple[FloatArray, FloatArray, FloatArray, FloatArray], ...]


@dataclass(frozen=True)
class ChainResult:
    """What one window gave: the new strides (rows as in `analyze`, plus `side` and `index`),
    the straight rows the verdict now rests on per side, and the verdict state."""

    rows: list[Row]
    history: dict[str, list[Row]]
    verdict: Verdict | None
    message: str
    drivers: list[dict[str, Any]]
    analysis_s: float


def window_recording(pods: dict[str, PodWindow]) -> tuple[Recording, dict[str, FusedPod]]:
    """The window as a recording plus each pod's live orientation and alignment."""
    fused: dict[str, FusedPod] = {}
    for name, window in pods.items():
        if not window.parts:
            continue
        t, acc, gyr, quat = (np.concatenate([p[k] for p in window.parts]) for k in range(4))
        if t.shape[0] < 2 or t[-1] <= t[0]:
            continue
        pod = PodRecording(f"{name}.live", window.segment, window.side, t, acc, gyr)
        fused[name] = (pod, quat, window.sensor_to_segment, window.alignment_quality)
    return Recording([pod for pod, *_ in fused.values()]), fused


def new_strides(
    rows_by_side: dict[str, list[Row]], taken_s: dict[str, float], same_s: float
) -> list[Row]:
    """Rows whose initial contact is later than the newest taken one of their side by `same_s`."""
    out: list[Row] = []
    for side in SIDES:
        for row in rows_by_side.get(side, []):
            ic = float(row["initial_contact_s"])
            if ic > taken_s.get(side, -math.inf) + same_s:
                out.append({"side": side} | row)
    return sorted(out, key=lambda r: float(r["initial_contact_s"]))


def evidence_text(item: dict[str, Any], side: str) -> str:
    measure = str(item["measure"]).removeprefix("walk.")
    norm = f"normal {item['normal_low']:.1f} to {item['normal_high']:.1f}"
    if "clinical_norm" in item:
        norm += f"; clinical {item['clinical_norm']}"
    return (
        f"{side} {measure}: {item['value']:.1f} ({norm}), "
        f"{item['log_odds_vs_healthy']:+.2f} log-odds vs healthy"
    )


def verdict_of(
    history: dict[str, list[Row]], missing: dict[str, str], min_strides: int
) -> tuple[Verdict | None, str, list[dict[str, Any]]]:
    """The walk-only classifier on the medians of `history` (straight rows per side)."""
    counts = {side: len(history.get(side, [])) for side in SIDES}
    if min(counts.values()) < min_strides:
        have = ", ".join(f"{counts[s]} of {min_strides} straight strides {s}" for s in SIDES)
        return None, f"{NOT_ENOUGH} yet: {have}", []
    median = {side: medians(history[side]) for side in SIDES}
    drivers = walking_drivers(dict(median), missing)
    top = drivers[0]
    if top["driver"] == NOT_ENOUGH:
        return None, f"{NOT_ENOUGH}: {'; '.join(top['evidence'])}", drivers
    basis = f"from the last {counts['left']} left and {counts['right']} right straight strides"
    if top["driver"] == "healthy":
        runner = drivers[1]
        evidence = (
            f"next most likely: {runner['side']} {runner['driver']} "
            f"({float(runner['probability']):.2f})",
            basis,
        )
        return Verdict("no driver (healthy)", "", float(top["probability"]), evidence), "", drivers
    evidence = (*(evidence_text(e, str(top["side"])) for e in top["evidence"]), basis)
    verdict = Verdict(
        str(top["driver"]),
        str(top["side"]),
        float(top["probability"]),
        evidence,
        label=str(top.get("label", "")),
        downstream=str(top.get("downstream", "")),
    )
    return verdict, "", drivers


def chain_job(
    pods: dict[str, PodWindow],
    taken_s: dict[str, float],
    history: dict[str, list[Row]],
    *,
    same_event_s: float,
    keep_strides: int,
    min_strides: int,
    clock: Callable[[], float],
) -> ChainResult | None:
    """One window's analysis (runs on the worker); None when the window has no walking to put the
    pods in one heading frame."""
    began = clock()
    recording, fused = window_recording(pods)
    if not fused:
        return None
    try:
        kinematics = common_kinematics(fused)
    except ValueError:
        return None  # standing or turning only: no walking direction in this window
    analysis = analyze_kinematics(recording, kinematics)
    rows = new_strides({side: analysis.sides[side].rows for side in SIDES}, taken_s, same_event_s)
    updated = {side: list(history.get(side, [])) for side in SIDES}
    for row in rows:
        if row["straight"] is True:
            updated[str(row["side"])].append(row)
    updated = {side: rows_[-keep_strides:] for side, rows_ in updated.items()}
    verdict, message, drivers = verdict_of(updated, missing_pods(recording), min_strides)
    return ChainResult(rows, updated, verdict, message, drivers, clock() - began)


class InlineExecutor(Executor):
    """Runs each job at once on the caller's thread: deterministic runs in tests."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> "Future[T]":
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # handed to whoever reads the future
            future.set_exception(error)
        return future


SURE_AT_ONCE: Final = 0.5
"""A new verdict with more than this probability is shown at once; a less certain one once the
next window agrees."""


@dataclass
class LiveChain:
    """The live side of the chain analysis (see the module docstring). Also the dashboard's
    verdict source: calling it gives the current `Verdict` or None, `message` says why not."""

    window_s: float = 40.0
    every_s: float = 3.0
    min_strides: int = 10
    keep_strides: int = 60
    same_event_s: float = 0.3
    executor: Executor | None = None
    clock: Callable[[], float] = time.perf_counter
    """Measures how long each window's analysis took (`analysis_s`)."""
    message: str = "waiting for the pods to align and the walk to start"
    error: str | None = None
    drivers: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])
    analysis_s: deque[float] = field(default_factory=lambda: deque[float](maxlen=100))

    def __post_init__(self) -> None:
        self._verdict: Verdict | None = None
        self._last_named: tuple[str, str] | None = None
        self._pods: dict[str, tuple[str, str, FloatArray, float]] = {}
        self._parts: dict[str, deque[tuple[FloatArray, FloatArray, FloatArray, FloatArray]]] = {}
        self._fresh: dict[str, int] = {}
        self._taken_s: dict[str, float] = {}
        self._history: dict[str, list[Row]] = {side: [] for side in SIDES}
        self._counts: dict[str, int] = dict.fromkeys(SIDES, 0)
        self._next_s = -math.inf
        self._pending: Future[ChainResult | None] | None = None
        self._own_executor = self.executor is None
        if self.executor is None:
            self.executor = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn")
            )

    def __call__(self) -> Verdict | None:
        return self._verdict

    def add(
        self,
        name: str,
        segment: str,
        side: str,
        sensor_to_segment: FloatArray,
        alignment_quality: float,
        samples: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    ) -> None:
        """Samples of an aligned pod: (host times, specific force, angular rate, quaternion)."""
        self._pods[name] = (segment, side, sensor_to_segment, alignment_quality)
        parts = self._parts.setdefault(name, deque())
        parts.append(samples)
        fresh = self._fresh.get(name, 0) + 1
        if fresh >= COMPACT_PARTS:  # a few large parts are cheap to hand to the worker
            merged = [parts.pop() for _ in range(fresh)][::-1]
            t, acc, gyr, quat = (np.concatenate([m[k] for m in merged]) for k in range(4))
            parts.append((t, acc, gyr, quat))
            fresh = 0
        self._fresh[name] = fresh
        newest = float(samples[0][-1])
        while parts and float(parts[0][0][-1]) < newest - self.window_s:
            parts.popleft()

    def step(self, now_s: float) -> list[Row]:
        """Collect a finished window (its new stride rows, numbered per side) and hand the next
        one to the worker when it is due and the worker is free."""
        out: list[Row] = []
        if self._pending is not None and self._pending.done():
            future, self._pending = self._pending, None
            try:
                result = future.result()
            except Exception as error:  # a bad window must not stop the live view
                self.error = f"chain analysis failed: {type(error).__name__}: {error}"
                result = None
            if result is not None:
                out = self._take(result)
        if self._pending is None and now_s >= self._next_s and self._parts:
            self._next_s = now_s + self.every_s
            pods = {
                name: PodWindow(*self._pods[name], tuple(parts))
                for name, parts in self._parts.items()
            }
            self._pending = self._submit(
                pods,
                dict(self._taken_s),
                {side: list(rows) for side, rows in self._history.items()},
                same_event_s=self.same_event_s,
                keep_strides=self.keep_strides,
                min_strides=self.min_strides,
                clock=self.clock,
            )
            if self._pending.done():  # an inline executor: take it now
                out += self.step(now_s)
        return out

    def _submit(self, *args: Any, **kwargs: Any) -> "Future[ChainResult | None]":
        assert self.executor is not None
        try:
            return self.executor.submit(chain_job, *args, **kwargs)
        except RuntimeError as error:  # a worker process that died (BrokenProcessPool) or none
            self.error = f"chain worker unavailable ({error}); analysing on a thread instead"
            self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gaitchain-chain")
            self._own_executor = True
            return self.executor.submit(chain_job, *args, **kwargs)

    def _take(self, result: ChainResult) -> list[Row]:
        self.error = None
        self.analysis_s.append(result.analysis_s)
        self._history = result.history
        self.drivers = result.drivers
        self._verdict, self.message = self._confirmed(result.verdict, result.message)
        out: list[Row] = []
        for row in result.rows:
            side = str(row["side"])
            self._taken_s[side] = float(row["initial_contact_s"])
            out.append(row | {"index": float(self._counts[side])})
            self._counts[side] += 1
        return out

    def _confirmed(self, verdict: Verdict | None, message: str) -> tuple[Verdict | None, str]:
        """The verdict to show: a driver and side other than the one shown, with no more than
        half the probability, waits until the next window names them too (the first window, on
        barely `min_strides` strides, can name another driver for a few seconds)."""
        named = None if verdict is None else (verdict.driver, verdict.side)
        previous, self._last_named = self._last_named, named
        shown = self._verdict
        if (
            verdict is None
            or verdict.confidence > SURE_AT_ONCE
            or named == previous
            or (shown is not None and named == (shown.driver, shown.side))
        ):
            return verdict, message
        waiting = f"{verdict.side} {verdict.driver} ({verdict.confidence:.2f}) in this window"
        return shown, f"{waiting}; shown once the next window agrees"

    def close(self) -> None:
        if self._own_executor and self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
