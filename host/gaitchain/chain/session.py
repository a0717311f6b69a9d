"""A client session: the walk, the battery, the verdict and the plan, as one document.

A session directory is a recording (the open format, `recording.json` and the pods' CSVs) with,
optionally, `battery.json` (schema `gaitchain-battery`, see `chain.battery`). `run_session`
analyses the walk, classifies and plans; `session.json` (written next to the report) keeps the
named measurements and the verdict so later sessions can be compared without analysing again.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ..gait.analysis import Analysis, analyze
from ..io.recording import read_recording
from .battery import Battery
from .classifier import DriverClassifier
from .features import Inputs, inputs
from .plan import Phase, phased_plan, plan_json

SESSION_FILE: Final = "session.json"
BATTERY_FILE: Final = "battery.json"


@dataclass
class Session:
    name: str
    analysis: Analysis
    analysis_json: dict[str, Any]
    battery: Battery | None
    inputs: Inputs
    classifier: DriverClassifier
    plan: list[Phase]

    @property
    def leading(self) -> tuple[str, str, float | None]:
        """The leading driver, its side and probability (`not enough data` when unclassified)."""
        if self.classifier.status_ != "ok":
            return "not enough data", "none", None
        top = self.classifier.drivers_[0]
        return str(top["driver"]), str(top["side"]), float(top["probability"])

    def summary_json(self) -> dict[str, Any]:
        driver, side, probability = self.leading
        return {
            "schema": "gaitchain-session",
            "version": 1,
            "name": self.name,
            "values": self.inputs.values,
            "missing": self.inputs.missing,
            "model": self.classifier.model_,
            "verdict": {"driver": driver, "side": side, "probability": probability},
            "drivers": self.classifier.to_json(),
            "plan": plan_json(self.plan),
        }


def read_battery(path: Path) -> Battery:
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error}); fix or remove the file") from error
    try:
        return Battery.from_json(doc)
    except (KeyError, TypeError) as error:
        raise ValueError(f"{path}: a battery entry lacks {error}; see docs/chain.md") from error


def run_session(directory: Path | str, battery_path: Path | str | None = None) -> Session:
    directory = Path(directory)
    recording = read_recording(directory)
    path = Path(battery_path) if battery_path is not None else directory / BATTERY_FILE
    battery = read_battery(path) if path.exists() else None
    if battery_path is not None and battery is None:
        raise OSError(f"battery file {path} does not exist")
    analysis = analyze(recording)
    doc = analysis.to_json()
    data = inputs(doc["summary"]["median"], doc["quality"]["missing"], battery)
    classifier = DriverClassifier().classify(data)
    session = Session(directory.name, analysis, doc, battery, data, classifier, [])
    driver, side, _ = session.leading
    session.plan = phased_plan(driver, side, data.values)
    return session


def earlier_values(directory: Path | str) -> tuple[str, dict[str, float | None]]:
    """An earlier session's name and named measurements, from its `session.json` if the report
    wrote one, else by analysing it again."""
    directory = Path(directory)
    stored = directory / SESSION_FILE
    if stored.exists():
        doc = json.loads(stored.read_text())
        return str(doc["name"]), dict(doc["values"])
    session = run_session(directory)
    return session.name, session.inputs.values
