"""Walking summaries of simulated cohort subjects, cached per subject on disk.

Simulating and analysing a 2-minute walk costs about 1.5 s of CPU, so fitting and evaluating the
classifier on hundreds of subjects reads each subject's summary from a cache directory (by default
`.cache/drivers/` in the checkout, which git ignores) once it has been computed. A cache entry is
keyed by the cohort seed, variation, walk length and subject index, and holds only what the
classifier reads: the per-side medians, the fatigue drifts and the quality notes.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..gait.analysis import analyze
from ..sim.cohort import Subject, make_cohort
from ..sim.walk import simulate_walk

WalkSummary = dict[str, Any]


def walk_summary(analysis_json: dict[str, Any]) -> WalkSummary:
    """The part of an `analyze` document the classifier uses."""
    summary = analysis_json["summary"]
    quality = analysis_json["quality"]
    return {
        "median": summary["median"],
        "fatigue_drift": summary["fatigue_drift"],
        "straight_strides": summary["straight_strides"],
        "step_count": summary["step_count"],
        "missing": sorted(quality["missing"]),
        "dropped": sorted(quality["dropped"]),
    }


def subject_walk_summary(subject: Subject, minutes: float) -> WalkSummary:
    walk = simulate_walk(subject.walk_config(minutes))
    return walk_summary(analyze(walk.recording()).to_json(drivers=False))


def cohort_key(seed: int, variation: float, minutes: float) -> str:
    return f"walk-s{seed}-v{variation:g}-m{minutes:g}"


def cached_summaries(
    n: int,
    seed: int,
    *,
    variation: float = 1.0,
    minutes: float = 2.0,
    healthy_fraction: float = 0.2,
    cache_dir: Path | str = ".cache/drivers",
    only_cached: bool = False,
) -> Iterator[tuple[Subject, WalkSummary]]:
    """Each subject of `make_cohort(n, seed, ...)` with its walking summary, computed once and
    then read from `cache_dir` (`only_cached`: skip subjects not computed yet)."""
    folder = Path(cache_dir) / cohort_key(seed, variation, minutes)
    folder.mkdir(parents=True, exist_ok=True)
    cohort = make_cohort(n, seed, variation=variation, healthy_fraction=healthy_fraction)
    for subject in cohort:
        path = folder / f"{subject.subject_id}-{subject.driver_name}.json"
        if path.exists():
            summary: WalkSummary = json.loads(path.read_text())
        elif only_cached:
            continue
        else:
            summary = subject_walk_summary(subject, minutes)
            partial = path.with_suffix(".part")
            partial.write_text(json.dumps(summary))
            partial.replace(path)
        yield subject, summary
