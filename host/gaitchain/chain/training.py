"""Fitting and evaluating the driver classifier on simulated cohorts.

Each subject of a cohort gives one row: its walking summary (simulated walk analysed by
`gaitchain analyze`, cached by `cohort_cache`) and its battery (simulated test recordings
measured by `chain.measure`). The model is fitted on the training cohort (seed `TRAIN_SEED`)
with every subject also mirrored left to right, so it is symmetric by construction; evaluation
cohorts use other seeds (benchmarks/drivers_bench.py).

    .venv/bin/python -m gaitchain.chain.training [--n 240] [--minutes 0.5]

rewrites `host/gaitchain/chain/driver_model.json`.
"""

import argparse
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from ..sim.battery import battery_truth, simulate_battery
from ..sim.cohort import Subject
from ..sim.walk import DRIVERS
from .battery import SIDES, Battery, BatteryResult
from .cohort_cache import WalkSummary, cached_summaries
from .features import FEATURE_SETS, inputs, mirror_names, vector
from .measure import measure_test
from .model import fit_softmax
from .store import CLASSES, MODEL_PATH, MODEL_SCHEMA, MODEL_VERSION

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
TRAIN_SEED: Final = 1000


def simulated_battery(subject: Subject, variation: float = 1.0) -> Battery:
    """The subject's battery: its test recordings simulated, then measured."""
    truth = battery_truth(subject.faulted(), subject.driver, subject.side, subject.seed, variation)
    results: dict[tuple[str, str], BatteryResult] = {}
    for test in simulate_battery(truth, subject.seed):
        results[(test.key, test.side)] = measure_test(
            test.key, test.side, test.pods, test.alignment
        )
    return Battery(results, {s: truth.sides[s].foot for s in SIDES}, truth.symptoms)


@dataclass
class Rows:
    """Feature rows per feature set, labels (class indices) and subject ids."""

    x: dict[str, FloatArray]
    y: IntArray
    subjects: list[str]


def subject_values(
    subject: Subject, summary: WalkSummary, variation: float
) -> dict[str, float | None]:
    battery = simulated_battery(subject, variation)
    return inputs(summary["median"], summary["missing"], battery).values


def rows_of(pairs: Iterable[tuple[Subject, WalkSummary]], variation: float = 1.0) -> Rows:
    """Rows of every subject with all features measured (others are left out and counted)."""
    x: dict[str, list[FloatArray]] = {name: [] for name in FEATURE_SETS}
    y: list[int] = []
    ids: list[str] = []
    for subject, summary in pairs:
        values = subject_values(subject, summary, variation)
        vectors = {name: vector(values, names) for name, names in FEATURE_SETS.items()}
        if any(v is None for v in vectors.values()):
            continue
        for name, v in vectors.items():
            assert v is not None
            x[name].append(v)
        y.append(CLASSES.index(subject.driver_name))
        ids.append(subject.subject_id)
    return Rows({k: np.array(v) for k, v in x.items()}, np.array(y, dtype=np.int64), ids)


def mirrored_labels(y: IntArray) -> IntArray:
    swap = {"left": "right", "right": "left"}
    out: list[int] = []
    for label in y:
        name = CLASSES[int(label)]
        side, _, driver = name.partition("-")
        out.append(int(label) if name == "healthy" else CLASSES.index(f"{swap[side]}-{driver}"))
    return np.array(out, dtype=np.int64)


def normal_ranges(x: FloatArray, y: IntArray, names: tuple[str, ...]) -> dict[str, list[float]]:
    """Per feature: the healthy training subjects' 5th and 95th percentiles, mean and SD."""
    healthy = x[y == 0]
    out: dict[str, list[float]] = {}
    for i, name in enumerate(names):
        values = healthy[:, i]
        low, high = np.percentile(values, [5, 95])
        out[name] = [float(low), float(high), float(values.mean()), float(values.std())]
    return out


def fit_models(rows: Rows, *, l2: float = 0.01) -> dict[str, Any]:
    """Both models (walking only; battery and walking) fitted on `rows` and their mirror."""
    models: dict[str, Any] = {}
    y_all = np.concatenate([rows.y, mirrored_labels(rows.y)])
    groups = np.concatenate([np.arange(rows.y.size), np.arange(rows.y.size)])
    for name, names in FEATURE_SETS.items():
        source, sign = mirror_names(names)
        x = rows.x[name]
        x_all = np.vstack([x, x[:, source] * sign])
        model = fit_softmax(x_all, y_all, names, CLASSES, l2=l2, groups=groups)
        models[name] = {
            **model.to_json(),
            "normal": normal_ranges(x_all, y_all, names),
        }
    return models


@dataclass(frozen=True)
class Scores:
    driver_balanced_accuracy: float
    side_accuracy: float
    side_accuracy_driver_right: float
    ece: float
    healthy_flagged: float
    subjects: int


def driver_of(label: int) -> tuple[str, str]:
    name = CLASSES[label]
    if name == "healthy":
        return "healthy", "none"
    side, _, driver = name.partition("-")
    return driver, side


def expected_calibration_error(proba: FloatArray, y: IntArray, bins: int = 10) -> float:
    """Top-label ECE: the share-weighted gap between confidence and accuracy over `bins` equal
    confidence bins."""
    confidence: FloatArray = proba.max(axis=1)
    correct: FloatArray = (proba.argmax(axis=1) == y).astype(float)
    edges: FloatArray = np.linspace(0.0, 1.0, bins + 1)
    index: NDArray[np.intp] = np.searchsorted(edges[1:-1], confidence, side="right")
    ece = 0.0
    for b in range(bins):
        inside: NDArray[np.bool_] = index == b
        if np.any(inside):
            gap = abs(float(np.mean(confidence[inside])) - float(np.mean(correct[inside])))
            ece += float(np.mean(inside)) * gap
    return ece


def score(proba: FloatArray, y: IntArray) -> Scores:
    """Driver balanced accuracy (mean recall over the 5 drivers and healthy), side accuracy on
    faulted subjects (overall, and where the driver was right), ECE over all classes, share of
    healthy subjects given a driver."""
    predicted = proba.argmax(axis=1)
    truth = [driver_of(int(v)) for v in y]
    guess = [driver_of(int(v)) for v in predicted]
    recalls: list[float] = []
    for driver in ("healthy", *DRIVERS):
        members = [i for i, t in enumerate(truth) if t[0] == driver]
        if members:
            recalls.append(float(np.mean([guess[i][0] == driver for i in members])))
    faulted = [i for i, t in enumerate(truth) if t[0] != "healthy"]
    right_driver = [i for i in faulted if guess[i][0] == truth[i][0]]
    healthy = [i for i, t in enumerate(truth) if t[0] == "healthy"]

    def share(members: list[int], test: list[bool]) -> float:
        return float(np.mean(test)) if members else float("nan")

    return Scores(
        driver_balanced_accuracy=float(np.mean(recalls)),
        side_accuracy=share(faulted, [guess[i][1] == truth[i][1] for i in faulted]),
        side_accuracy_driver_right=share(
            right_driver, [guess[i][1] == truth[i][1] for i in right_driver]
        ),
        ece=expected_calibration_error(proba, y),
        healthy_flagged=share(healthy, [guess[i][0] != "healthy" for i in healthy]),
        subjects=int(y.size),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="fit the driver classifier")
    parser.add_argument("--n", type=int, default=240)
    parser.add_argument("--minutes", type=float, default=0.5)
    parser.add_argument("--cache", default=".cache/drivers")
    parser.add_argument("--out", default=str(MODEL_PATH))
    parser.add_argument("--only-cached", action="store_true", help="skip uncached subjects")
    args = parser.parse_args()
    pairs = cached_summaries(
        args.n, TRAIN_SEED, minutes=args.minutes, cache_dir=args.cache, only_cached=args.only_cached
    )
    rows = rows_of(pairs)
    doc = {
        "schema": MODEL_SCHEMA,
        "version": MODEL_VERSION,
        "training": {
            "cohort_seed": TRAIN_SEED,
            "subjects": args.n,
            "used": int(rows.y.size),
            "walk_minutes": args.minutes,
            "variation": 1.0,
            "mirrored": True,
            "l2": 0.01,
        },
        "models": fit_models(rows),
    }
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
    print(f"fitted on {rows.y.size} subjects (and their mirror images): {args.out}")


if __name__ == "__main__":
    main()
