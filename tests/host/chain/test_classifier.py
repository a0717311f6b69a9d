"""The driver classifier on a small simulated cohort (seeds disjoint from training and the
benchmark), its refusal to guess without enough data, its evidence, and `analyze --json`."""

from functools import cache
from pathlib import Path

import numpy as np
import pytest
from gaitchain.chain.battery import BatteryResult
from gaitchain.chain.classifier import NOT_ENOUGH, DriverClassifier
from gaitchain.chain.cohort_cache import cached_summaries
from gaitchain.chain.features import inputs
from gaitchain.chain.store import load_models
from gaitchain.chain.training import Rows, rows_of, score, simulated_battery
from gaitchain.gait.analysis import analyze
from gaitchain.io.recording import Recording
from gaitchain.sim.cohort import make_cohort
from gaitchain.sim.walk import simulate_walk

TEST_SEED = 424242
N_SUBJECTS = 40


@cache
def _rows(cache_dir: str) -> Rows:
    return rows_of(cached_summaries(N_SUBJECTS, TEST_SEED, minutes=0.5, cache_dir=cache_dir))


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> Rows:
    return _rows(str(tmp_path_factory.mktemp("drivers")))


def test_small_cohort_driver_side_and_healthy_within_loose_bounds(rows: Rows) -> None:
    # The benchmark's bars (500 subjects) are 0.90, 0.95, 0.05 and 0.10; a 40-subject cohort
    # gets looser bounds that a broken model or feature pipeline still fails.
    assert rows.y.size >= N_SUBJECTS - 2
    model, _ = load_models()["battery+walking"]
    scores = score(model.proba(rows.x["battery+walking"]), rows.y)
    assert scores.driver_balanced_accuracy >= 0.75
    assert scores.side_accuracy >= 0.85
    assert scores.healthy_flagged <= 0.3
    assert scores.ece <= 0.2
    walking, _ = load_models()["walking"]
    walking_scores = score(walking.proba(rows.x["walking"]), rows.y)
    assert walking_scores.driver_balanced_accuracy >= 0.5


@cache
def _subject_inputs() -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    subject = make_cohort(3, TEST_SEED + 1)[0]
    walk = simulate_walk(subject.walk_config(0.5))
    doc = analyze(walk.recording()).to_json()
    return doc["summary"]["median"], doc["quality"]["missing"]


def test_evidence_names_measurements_ranges_and_what_to_retest() -> None:
    subject = next(s for s in make_cohort(20, TEST_SEED + 2) if s.driver == "hip-ir-deficit")
    walk = simulate_walk(subject.walk_config(0.5))
    doc = analyze(walk.recording()).to_json()
    data = inputs(doc["summary"]["median"], doc["quality"]["missing"], simulated_battery(subject))
    result = DriverClassifier().classify(data)
    assert result.status_ == "ok" and result.model_ == "battery+walking"
    drivers = result.to_json()
    assert len(drivers) == 11
    assert sum(d["probability"] for d in drivers) == pytest.approx(1.0)
    top = drivers[0]
    assert (top["driver"], top["side"]) == ("hip-ir-deficit", subject.side)
    hip = next(e for e in top["evidence"] if e["measure"] == "hip_ir.hip_ir_deg")
    assert hip["value"] < hip["normal_low"] and hip["out_of_range"] < 0
    assert hip["clinical_norm"].startswith("35-45")
    assert hip["log_odds_vs_healthy"] > 0
    assert "tibial" in top["downstream"] and top["retest"]


def test_walking_alone_uses_the_walking_model() -> None:
    median, missing = _subject_inputs()
    result = DriverClassifier().classify(inputs(median, missing, None))
    assert result.status_ == "ok" and result.model_ == "walking"
    assert "no assessment battery" in result.missing_


def test_missing_pods_or_an_invalid_test_give_not_enough_data() -> None:
    median, missing = _subject_inputs()
    no_pelvis = DriverClassifier().classify(
        inputs(median, {**missing, "pelvis": "pelvic drop"}, None)
    )
    assert no_pelvis.status_ == NOT_ENOUGH
    entry = no_pelvis.to_json()[0]
    assert entry["driver"] == NOT_ENOUGH and entry["probability"] is None
    assert any("pelvis" in reason for reason in entry["evidence"])

    subject = make_cohort(3, TEST_SEED + 1)[0]
    battery = simulated_battery(subject)
    battery.results[("lunge", "left")] = BatteryResult("lunge", "left", {}, ("held 0.4 s",))
    result = DriverClassifier().classify(inputs(median, missing, battery))
    assert result.status_ == NOT_ENOUGH
    assert any("Weight-bearing lunge (left): invalid" in m for m in result.missing_)
    del battery.foot["right"]
    result = DriverClassifier().classify(inputs(median, missing, battery))
    assert "foot structure (right): not entered" in result.missing_


def test_analyze_json_has_the_drivers_list(tmp_path: Path) -> None:
    subject = make_cohort(3, TEST_SEED + 1)[0]
    recording = simulate_walk(subject.walk_config(0.5)).recording()
    drivers = analyze(recording).to_json()["drivers"]
    assert {"driver", "side", "probability", "evidence"} <= set(drivers[0])
    assert np.isclose(sum(d["probability"] for d in drivers), 1.0)
    subset = Recording([p for p in recording.pods if p.name != "left_foot"], recording.extra)
    drivers = analyze(subset).to_json()["drivers"]
    assert drivers[0]["driver"] == NOT_ENOUGH
    assert "walking: no left_foot pod" in drivers[0]["evidence"]
