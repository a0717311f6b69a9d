"""Where the dashboard's chain-driver verdict comes from.

A *verdict source* is any callable returning the current `Verdict` or None (nothing to say yet);
its optional `message` attribute says why there is none, its optional `error` what went wrong.
The default is `live.chain.LiveChain`: the walk-only classifier on the session's strides.
`JsonFileVerdicts` reads one from a JSON file whenever the file changes, so a classifier running
elsewhere can feed the dashboard by writing
``{"driver": "hip-ir-deficit", "side": "left", "confidence": 0.8, "evidence": ["..."]}``.
Without a source the panel says the classifier is not available.
"""

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Verdict:
    driver: str
    side: str
    confidence: float
    evidence: tuple[str, ...]
    label: str = ""
    """The driver in words (`chain.classifier.INFO`), when the source knows it."""
    downstream: str = ""
    """How the driver loads the plantar fascia further down the chain."""


VerdictSource = Callable[[], Verdict | None]


def parse_verdict(data: object) -> Verdict:
    """A `Verdict` from decoded JSON; ValueError naming what is missing or wrong."""
    if not isinstance(data, dict):
        raise ValueError("a verdict must be a JSON object with driver, side, confidence, evidence")
    fields: dict[str, Any] = {str(k): v for k, v in data.items()}  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    driver, side = fields.get("driver"), fields.get("side", "")
    confidence, evidence = fields.get("confidence", math.nan), fields.get("evidence", [])
    if not isinstance(driver, str) or not driver:
        raise ValueError("verdict: 'driver' must be a non-empty string")
    if not isinstance(side, str):
        raise ValueError("verdict: 'side' must be a string (left, right or empty)")
    if not isinstance(confidence, int | float):
        raise ValueError("verdict: 'confidence' must be a number from 0 to 1")
    if not isinstance(evidence, list) or not all(isinstance(e, str) for e in evidence):  # pyright: ignore[reportUnknownVariableType]
        raise ValueError("verdict: 'evidence' must be a list of strings")
    return Verdict(driver, side, float(confidence), tuple(str(e) for e in evidence))  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]


class JsonFileVerdicts:
    """A verdict source reading `path` when its modification time changes. A missing file means no
    verdict yet; a bad file keeps the last good verdict and sets `error`."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.error: str | None = None
        self._mtime_ns: int | None = None
        self._verdict: Verdict | None = None

    def __call__(self) -> Verdict | None:
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return self._verdict
        if mtime != self._mtime_ns:
            self._mtime_ns = mtime
            try:
                self._verdict = parse_verdict(json.loads(self.path.read_text()))
                self.error = None
            except (ValueError, OSError) as error:
                self.error = f"{self.path}: {error}"
        return self._verdict


def verdict_panel(source: VerdictSource | None) -> dict[str, Any]:
    """What the verdict panel shows (JSON-ready)."""
    if source is None:
        return {"available": False, "message": "classifier not available"}
    verdict = source()
    error = getattr(source, "error", None)
    message = getattr(source, "message", None)
    if verdict is None:
        return {"available": True, "verdict": None, "error": error, "message": message}
    return {
        "available": True,
        "verdict": {
            "driver": verdict.driver,
            "side": verdict.side,
            "confidence": verdict.confidence,
            "evidence": list(verdict.evidence),
            "label": verdict.label,
            "downstream": verdict.downstream,
        },
        "error": error,
        "message": message,
    }
