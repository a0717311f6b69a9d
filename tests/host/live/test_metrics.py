"""Stride metrics, asymmetry, the bounded fatigue trend and verdict files."""

import json
import math
from pathlib import Path

import pytest
from gaitchain.live.metrics import Asymmetry, FatigueTrend, Stride, TimingMetrics, combine
from gaitchain.live.verdict import JsonFileVerdicts, parse_verdict, verdict_panel


def test_timing_metrics_and_combined_providers() -> None:
    stride = Stride("left", 0, 10.0, 11.2, 10.72)
    (row,) = combine(TimingMetrics(), lambda strides: [{"extra": 1.0} for _ in strides])([stride])
    assert row["stride_time_s"] == pytest.approx(1.2)
    assert row["stance_time_s"] == pytest.approx(0.72)
    assert row["stance_pct"] == pytest.approx(60.0)
    assert row["cadence_spm"] == pytest.approx(100.0)
    assert row["extra"] == 1.0
    missing = TimingMetrics()([Stride("right", 1, 0.0, 1.0, math.nan)])[0]
    assert math.isnan(missing["stance_time_s"])


def test_asymmetry_over_the_last_strides_per_side() -> None:
    asymmetry = Asymmetry(last_n=3)
    for value in (9.0, 1.0, 1.0, 1.0):  # the first left stride falls out of the window
        asymmetry.add("left", {"x": value})
    asymmetry.add("right", {"x": 3.0})
    assert asymmetry.percent()["x"] == pytest.approx(100.0 * (1.0 - 3.0) / 2.0)


def test_fatigue_trend_merges_bins_to_stay_bounded() -> None:
    trend = FatigueTrend(bin_s=30.0, max_bins=8)
    for k in range(600):  # 100 minutes, one stride every 10 s, stride time rising slowly
        trend.add("left", 10.0 * k, {"stride_time_s": 1.0 + k / 6000.0})
    centres, means = trend.series()["left_stride_time_s"]
    assert len(centres) <= 8 and trend.bin_s > 30.0
    assert means == sorted(means) and centres[-1] > 90.0


def test_verdict_sources(tmp_path: Path) -> None:
    assert verdict_panel(None) == {"available": False, "message": "classifier not available"}
    path = tmp_path / "verdict.json"
    source = JsonFileVerdicts(path)
    assert verdict_panel(source)["verdict"] is None, "no file yet: nothing to say"
    good = {"driver": "glute-med", "side": "right", "confidence": 0.6, "evidence": ["drop"]}
    path.write_text(json.dumps(good))
    assert verdict_panel(source)["verdict"]["driver"] == "glute-med"
    path.write_text("{not json")
    panel = verdict_panel(source)
    assert panel["verdict"]["driver"] == "glute-med", "a bad file keeps the last good verdict"
    assert "verdict.json" in panel["error"]
    with pytest.raises(ValueError, match="evidence"):
        parse_verdict({"driver": "x", "side": "left", "confidence": 1, "evidence": "no"})
