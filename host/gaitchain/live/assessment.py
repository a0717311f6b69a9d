"""The assessment battery on the live page, one test at a time, measured from the streaming pods.

The steps are `chain.battery.TESTS`, each per side where the test is per side. The page selects a
step, shows its instructions, and starts and stops it (`LiveBattery.command`, through the
pipeline's command queue). While a step runs, the raw samples of the pods it needs are kept and a
live readout of its measured quantity is shown: the same definitions as `chain.measure` on the
live orientation, relative to the first sample of the step (prone hip rotation and lunge are
absolute, from gravity). At stop the test is measured by `chain.measure.measure_test` on what was
kept, with each pod's live alignment, on a worker (never on the pipeline's thread); its validity
problems and its values against the test's normal range come back to the page, and valid results
are kept in a `chain.battery.Battery` (`battery`), written to `save_to` (when given) after each
one, in the format `gaitchain assess` and `gaitchain report --battery` read.

A step whose pods are not streaming is not started: the panel says which pod is missing (the
level-bar test needs a pod the wire protocol cannot name yet, so the live view never has it). With
`replay` (`gaitchain demo`, whose walker never stops walking: `live.demo_battery`) the step is
performed by the simulator: at stop its recording of the test is measured instead of the stream,
and the panel says so.
"""

import json
import math
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from ..chain.battery import SIDES, TESTS, Battery, BatteryResult, BatteryTest
from ..chain.measure import (
    START_S,
    hip_ir_angle_deg,
    measure_test,
    tibial_inclination_deg,
    up_in_segment,
)
from ..gait.angles import cardan_yxz_deg, side_sign
from ..io.recording import PodRecording

FloatArray = NDArray[np.float64]
Replay = Callable[[str, str], tuple[dict[str, PodRecording], dict[str, FloatArray]] | None]
"""(test key, side) -> a recording of the test (pods by name) and each pod's alignment."""
REPLAY_NOTE: Final = (
    "demo: the walking pods cannot do this test, so the simulator performs it for the demo "
    "walker; stop to measure its recording"
)
POD_NOTES: Final = {
    "bar": "the level-bar pod (a pod in the level bar's slot): protocol 1.x has no bar segment, "
    "so the live dashboard cannot take it; record the bar pod and use `gaitchain assess measure "
    "--test standing_pelvis --pod bar=FILE.csv`",
}
MAX_STEP_S: Final = 120.0
"""A step still running after this long is stopped and measured (bounded memory)."""


@dataclass(frozen=True)
class Step:
    test: BatteryTest
    side: str

    @property
    def pods(self) -> tuple[str, ...]:
        return tuple(p.format(side=self.side) for p in self.test.pods)

    @property
    def title(self) -> str:
        return self.test.name if self.side == "both" else f"{self.test.name} ({self.side})"


STEPS: Final = tuple(
    Step(test, side) for test in TESTS for side in (SIDES if test.per_side else ("both",))
)
READOUTS: Final = {
    "hip_ir": ("hip internal rotation", "deg"),
    "single_leg_stance": ("pelvic drop", "deg"),
    "single_leg_squat": ("shank forward inclination", "deg"),
    "standing_pelvis": ("bar tilt", "deg"),
    "lunge": ("tibial inclination", "deg"),
}


def readout_deg(key: str, side: str, rotation: FloatArray, start: FloatArray) -> float:
    """The test's live quantity at the newest of `rotation` ((n,3,3) segment to world), with
    `start` the segment's rotation at the step's start."""
    newest = rotation[-1:]
    up = up_in_segment(newest)
    if key == "hip_ir":
        return float(
            (hip_ir_angle_deg(up, side) - hip_ir_angle_deg(up_in_segment(start[None]), side))[0]
        )
    if key == "lunge":
        return float(tibial_inclination_deg(up)[0])
    relative = cardan_yxz_deg(start.T @ newest)[0]
    if key == "single_leg_stance":
        return float(side_sign(side) * relative[1])
    if key == "single_leg_squat":
        return float(relative[0])
    return float(np.degrees(np.arccos(np.clip(newest[0, 2, 2], -1.0, 1.0))))


@dataclass
class _Capture:
    step: Step
    started_s: float
    parts: dict[str, list[tuple[FloatArray, FloatArray, FloatArray]]]
    start_rotation: dict[str, FloatArray] = field(default_factory=dict[str, FloatArray])
    readout: float = math.nan


@dataclass
class LiveBattery:
    """See the module docstring. `executor` runs the measurements (a worker thread by default)."""

    executor: Executor | None = None
    battery: Battery = field(default_factory=lambda: Battery({}, {}))
    selected: int = 0
    state: str = "ready"
    """`ready`, `running`, `measuring`."""
    message: str = ""
    save_to: Path | None = None
    """Where the battery file goes after each valid result (None: kept in memory only)."""
    replay: Replay | None = None
    """The demo's stand-in for a client doing the tests (see the module docstring)."""

    def __post_init__(self) -> None:
        self._capture: _Capture | None = None
        self._pending: Future[BatteryResult] | None = None
        self._shown: dict[tuple[str, str], BatteryResult] = {}
        self._alignment: dict[str, FloatArray] = {}
        self._streaming: set[str] = set()
        self._own_executor = self.executor is None
        if self.executor is None:
            self.executor = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="gaitchain-battery"
            )

    @property
    def step(self) -> Step:
        return STEPS[self.selected]

    def command(self, value: object, now_s: float) -> None:
        """`{"action": "select", "index": i}`, `{"action": "start"}`, `{"action": "stop"}`,
        `{"action": "cancel"}` from the page; anything else is ignored with a message."""
        fields: dict[str, Any] = (
            {str(k): v for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
            if isinstance(value, dict)
            else {}
        )
        action = fields.get("action")
        if action == "select" and self.state == "ready":
            index = fields.get("index")
            if isinstance(index, int) and 0 <= index < len(STEPS):
                self.selected, self.message = index, ""
        elif action == "start" and self.state == "ready":
            missing = self.missing_pods(self.step)
            if missing:
                self.message = "cannot start: needs " + "; ".join(missing)
                return
            self._capture = _Capture(self.step, now_s, {name: [] for name in self.step.pods})
            self.state, self.message = "running", REPLAY_NOTE if self.replay else ""
        elif action == "stop" and self.state == "running":
            self._measure()
        elif action == "cancel" and self.state == "running":
            self._capture, self.state, self.message = None, "ready", "cancelled"
        else:
            self.message = f"cannot {action!r} while {self.state}"

    def missing_pods(self, step: Step) -> list[str]:
        """The step's pods that are not streaming, in words (none with `replay`)."""
        if self.replay is not None:
            return []
        return [
            POD_NOTES.get(name, f"the {name.replace('_', ' ')} pod, which is not streaming")
            for name in step.pods
            if name not in self._streaming
        ]

    def add(
        self,
        name: str,
        t_s: FloatArray,
        acc_mps2: FloatArray,
        gyr_radps: FloatArray,
        quat_wxyz: FloatArray,
        sensor_to_segment: FloatArray | None,
    ) -> None:
        """Samples of pod `name` (`pelvis`, `left_shank`, ...) with its 6D orientation and, once
        known, its alignment."""
        self._streaming.add(name)
        if sensor_to_segment is not None:
            self._alignment[name] = sensor_to_segment
        capture = self._capture
        if capture is None or name not in capture.parts or t_s.shape[0] == 0:
            return
        capture.parts[name].append((t_s, acc_mps2, gyr_radps))
        rows = self._alignment.get(name, np.eye(3))
        rotation = Rotation.from_quat(quat_wxyz, scalar_first=True).as_matrix() @ rows.T
        if name not in capture.start_rotation:
            capture.start_rotation[name] = rotation[0]
        if name == capture.step.pods[0]:
            capture.readout = readout_deg(
                capture.step.test.key, capture.step.side, rotation, capture.start_rotation[name]
            )
        if float(t_s[-1]) - capture.started_s > MAX_STEP_S:
            self._measure()

    def _measure(self) -> None:
        capture = self._capture
        assert capture is not None and self.executor is not None
        step = capture.step
        if self.replay is not None:
            self._pending = self.executor.submit(_measure_replay, self.replay, step)
            self.state = "measuring"
            return
        pods: dict[str, PodRecording] = {}
        for name, parts in capture.parts.items():
            if len(parts) < 2:
                continue
            segment = name.split("_", 1)[-1]
            side = name.split("_", 1)[0] if "_" in name else "center"
            t, acc, gyr = (np.concatenate([p[k] for p in parts]) for k in range(3))
            pods[name] = PodRecording(f"{name}.live", segment, side, t, acc, gyr)
        self._pending = self.executor.submit(
            measure_test, step.test.key, step.side, pods, dict(self._alignment)
        )
        self.state = "measuring"

    def poll(self, now_s: float) -> None:
        """Take a finished measurement."""
        if self._pending is None or not self._pending.done():
            return
        future, self._pending = self._pending, None
        capture, self._capture = self._capture, None
        self.state = "ready"
        try:
            result = future.result()
        except Exception as error:  # a failed measurement is reported, the session goes on
            self.message = f"measurement failed: {type(error).__name__}: {error}"
            return
        self._shown[(result.key, result.side)] = result
        if result.valid:
            self.battery.results[(result.key, result.side)] = result
            self._save()
        if capture is not None:
            self.message = f"measured {now_s - capture.started_s:.0f} s"
            if self.replay is not None:
                self.message = "demo: measured the simulator's recording of the test"

    def _save(self) -> None:
        if self.save_to is None:
            return
        try:
            self.save_to.parent.mkdir(parents=True, exist_ok=True)
            partial = self.save_to.with_name(self.save_to.name + ".partial")
            partial.write_text(json.dumps(self.battery.to_json(), indent=1))
            partial.replace(self.save_to)
        except OSError as error:  # the results stay on the page and in memory
            self.message = f"cannot save the battery: {error}"

    def snapshot(self, now_s: float) -> dict[str, Any]:
        """What the battery panel shows (JSON-ready)."""
        steps: list[dict[str, Any]] = []
        for index, step in enumerate(STEPS):
            shown = self._shown.get((step.test.key, step.side))
            steps.append(
                {
                    "index": index,
                    "title": step.title,
                    "status": "todo" if shown is None else "valid" if shown.valid else "invalid",
                }
            )
        step = self.step
        capture = self._capture
        label, unit = READOUTS[step.test.key]
        shown = self._shown.get((step.test.key, step.side))
        return {
            "steps": steps,
            "selected": self.selected,
            "state": self.state,
            "message": self.message,
            "saved_to": None if self.save_to is None else str(self.save_to),
            "current": {
                "test": step.test.key,
                "side": step.side,
                "title": step.title,
                "pods": list(step.pods),
                "instructions": step.test.instructions,
                "start_still_s": START_S,
                "validity": step.test.validity,
                "measures": step.test.measures,
                "normal": step.test.normal,
                "source": step.test.source,
                "elapsed_s": None if capture is None else now_s - capture.started_s,
                "readout": {
                    "label": label,
                    "unit": unit,
                    "value": None
                    if capture is None or not math.isfinite(capture.readout)
                    else capture.readout,
                },
                "result": None
                if shown is None
                else {
                    "valid": shown.valid,
                    "values": {k: v for k, v in shown.values.items() if math.isfinite(v)},
                    "problems": list(shown.problems),
                },
            },
        }

    def close(self) -> None:
        if self._own_executor and self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)


def _measure_replay(replay: Replay, step: Step) -> BatteryResult:
    """The step measured on `replay`'s recording of it (on the worker: making it takes time)."""
    recorded = replay(step.test.key, step.side)
    if recorded is None:
        return BatteryResult(step.test.key, step.side, {}, ("the simulator has no such test",))
    pods, alignment = recorded
    return measure_test(step.test.key, step.side, pods, alignment)
