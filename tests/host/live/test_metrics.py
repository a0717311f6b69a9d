"""Stride metrics, asymmetry, the bounded fatigue trend and verdict files."""

import json
import math
from pathlib import Path

import pytest
from gaitchain.gait.summary import asymmetry as asymmetry_offline
from gaitchain.gait.summary import medians
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
        asymmetry.add("left", {"stride_time_s": value})
    asymmetry.add("right", {"stride_time_s": 3.0})
    shown = asymmetry.shown()["stride_time_s"]
    assert shown == {"kind": "SI", "value": pytest.approx(100.0 * (1.0 - 3.0) / 2.0), "unit": "%"}


def test_asymmetry_of_angles_is_the_difference_in_degrees_as_offline() -> None:
    """Eversion at contact near 0 deg: +0.5 left, -0.5 right would be a symmetry index of 200 %;
    the panel shows the 1.0 deg difference instead. Times keep the index; shares of the cycle
    are a difference in percentage points. The numbers are `gait.summary.asymmetry`'s (what
    `gaitchain analyze` writes) on the medians, so one outlying stride does not move them."""
    asymmetry = Asymmetry(last_n=5)
    left = [(0.4, 1.10, 61.0), (0.5, 1.12, 62.0), (0.6, 1.08, 60.0), (30.0, 1.10, 61.0)]
    for eversion, stride, stance in left:
        asymmetry.add(
            "left",
            {"eversion_at_contact_deg": eversion, "stride_time_s": stride, "stance_pct": stance},
        )
    for eversion, stride, stance in [(-0.5, 1.00, 60.0), (-0.4, 1.00, 60.0), (-0.6, 1.0, 60.0)]:
        asymmetry.add(
            "right",
            {"eversion_at_contact_deg": eversion, "stride_time_s": stride, "stance_pct": stance},
        )
    shown = asymmetry.shown()
    assert shown["eversion_at_contact_deg"] == {
        "kind": "L-R",
        "value": pytest.approx(1.05),
        "unit": "deg",
    }
    assert shown["stance_pct"] == {"kind": "L-R", "value": pytest.approx(1.0), "unit": "% pts"}
    assert shown["stride_time_s"]["kind"] == "SI"
    offline = asymmetry_offline(
        medians([{"stride_time_s": v} for _, v, _ in left]), {"stride_time_s": 1.0}
    )
    assert shown["stride_time_s"]["value"] == pytest.approx(
        offline["stride_time_s"]["symmetry_index_pct"]
    )


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
