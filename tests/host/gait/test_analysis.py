"""`gaitchain analyze` on simulated walks (sensor errors, random mounting) against their truth,
on pod subsets, on the gaitmap example, and through the command line."""

import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from gaitchain.cli import main
from gaitchain.gait.analysis import Analysis, analyze
from gaitchain.gait.strides import Stride, temporal_metrics
from gaitchain.io.recording import Recording
from gaitchain.sim.analysis_truth import StrideErrors, stride_errors, truth_events
from gaitchain.sim.params import ImuErrors
from gaitchain.sim.walk import DEFAULT_PODS, SimulatedWalk, WalkConfig, simulate_walk, write_walk

GAITMAP = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "gaitmap_example"
THIGHS = (("thigh", "left"), ("thigh", "right"))


@cache
def _walk(driver: str, seed: int, thighs: bool = False) -> SimulatedWalk:
    pods = DEFAULT_PODS + (THIGHS if thighs else ())
    return simulate_walk(
        WalkConfig(minutes=3, seed=seed, driver=driver, errors=ImuErrors(), pods=pods)
    )


@cache
def _scored(driver: str, seed: int, thighs: bool = False) -> tuple[Analysis, StrideErrors]:
    walk = _walk(driver, seed, thighs)
    analysis = analyze(walk.recording())
    return analysis, stride_errors(walk, analysis)


@pytest.mark.parametrize(("driver", "seed"), [("healthy", 21), ("left-hip-ir-deficit", 22)])
def test_every_straight_stride_is_found_with_events_within_10_ms(driver: str, seed: int) -> None:
    _, errors = _scored(driver, seed)
    for side in ("left", "right"):
        assert errors.strides[side] > 100
        assert errors.matched[side] == errors.strides[side], side
        for name, values in (
            ("initial contact", errors.initial_contact_s[side]),
            ("final contact", errors.final_contact_s[side]),
        ):
            assert abs(values.mean()) <= 0.010, f"{side} {name} bias {values.mean() * 1e3:.1f} ms"
            assert np.abs(values).max() <= 0.030, f"{side} {name} worst {values.max() * 1e3:.1f}"


@pytest.mark.parametrize(("driver", "seed"), [("healthy", 21), ("left-hip-ir-deficit", 22)])
def test_chain_metrics_meet_the_accuracy_bars(driver: str, seed: int) -> None:
    # with a hip rotation deficit the shank on that side turns more about its own axis and swings
    # in a plane turned out: its heading comes from its stride displacement, which that does not
    # bias (the principal axis of its acceleration missed by several degrees; issue 6)
    _, errors = _scored(driver, seed)
    bars = {
        "hip_rotation_range_deg": 3.0,
        "hip_internal_rotation_peak_stance_deg": 3.0,
        "tibial_rotation_loading_deg": 2.0,
        "tibial_progression_loading_deg": 2.0,
        "pronation_excursion_deg": 2.0,
        "eversion_at_contact_deg": 2.0,
        "peak_pronation_stance_pct": 3.0,
        "pelvic_drop_deg": 1.0,
        "pelvic_obliquity_range_deg": 1.0,
    }
    for metric, bar in bars.items():
        assert errors.rmse(metric) <= bar, f"{metric}: RMSE {errors.rmse(metric):.2f} > {bar}"


def test_thigh_pods_give_hip_rotation_itself() -> None:
    analysis, errors = _scored("healthy", 23, thighs=True)
    rows = analysis.straight_rows("left")
    assert {row["hip_rotation_source"] for row in rows} == {"thigh"}
    assert errors.rmse("hip_rotation_range_deg") <= 3.0
    assert errors.rmse("hip_internal_rotation_peak_stance_deg") <= 3.0


def _left_minus_right(analysis: Analysis, errors: StrideErrors, key: str) -> tuple[float, float]:
    """Measured and true left-minus-right mean of a stride metric over the straight strides
    (every one matched to a true stride: the truth is the estimate minus its error)."""
    measured: dict[str, float] = {}
    true: dict[str, float] = {}
    for side in ("left", "right"):
        values = [float(row[key]) for row in analysis.straight_rows(side)]
        assert len(values) == errors.metrics[key][side].size
        measured[side] = float(np.mean(values))
        true[side] = measured[side] - float(np.mean(errors.metrics[key][side]))
    return measured["left"] - measured["right"], true["left"] - true["right"]


def test_a_hip_internal_rotation_deficit_shows_on_its_side() -> None:
    # without thigh pods the proxy is hip plus knee rotation: on the faulty side the shank turns
    # inward more in stance, making up for part of the hip (the simulator's chain model), and
    # its rotation range and the tibia's rotation in loading are larger than the other side's.
    # The proxy's stance peak is not asserted here: on the faulty side the shank's functional
    # flexion axis sits about 2 deg off its anatomical one, which no single shank pod can tell
    # (the walk's per-stride errors stay within the bar, benchmarks/analysis_bench.py)
    for key in ("hip_rotation_range_deg", "tibial_rotation_loading_deg"):
        measured, true = _left_minus_right(*_scored("left-hip-ir-deficit", 22), key)
        assert true > 2.0, (key, true)
        assert measured > 1.5 and abs(measured - true) < 1.0, (key, measured, true)
        healthy, _ = _left_minus_right(*_scored("healthy", 21), key)
        assert abs(healthy) < 1.0, (key, healthy)


def _median(analysis: Analysis, side: str, key: str) -> float:
    values = [row.get(key) for row in analysis.straight_rows(side)]
    return float(np.median([v for v in values if isinstance(v, float) and np.isfinite(v)]))


def test_a_limited_ankle_raises_its_heel_early_and_heel_off_ignores_a_twisting_foot() -> None:
    # the limited ankle cannot let the shank roll on over the foot: once it reaches its limit
    # the heel is pulled up fast. Heel off itself (the onset of the toes-down rotation) stays
    # where it was; before it came from the end of the still stretch, which a foot twisting in
    # late stance (a hip short of rotation) ended a sixth of stance early.
    limited, errors = _scored("left-ankle-df-limit", 24)
    key = "heel_rise_stance_pct"
    gap = _median(limited, "left", key) - _median(limited, "right", key)
    assert gap < -4.0, gap
    for side in ("left", "right"):
        assert abs(float(np.nanmedian(errors.metrics[key][side]))) < 2.0, side
    for driver, seed in (("healthy", 21), ("left-hip-ir-deficit", 22), ("left-ankle-df-limit", 24)):
        analysis = _scored(driver, seed)[0]
        for side in ("left", "right"):
            assert 50.0 < _median(analysis, side, "heel_off_stance_pct") < 65.0, (driver, side)
        for metric, bar in (("heel_off_stance_pct", 1.0), (key, 1.5)):
            if driver == "left-ankle-df-limit" and metric == key:
                continue
            lr = _median(analysis, "left", metric) - _median(analysis, "right", metric)
            assert abs(lr) < bar, (driver, metric, lr)


def test_heel_off_share_of_stance_is_null_without_a_heel_off_inside_the_stance() -> None:
    def share(heel_off_s: float) -> float:
        stride = Stride("left", 0, 0, 10.0, 10.1, heel_off_s, 10.6, 11.0)
        return temporal_metrics(stride, None)["heel_off_stance_pct"]

    assert share(10.3) == pytest.approx(50.0)
    assert np.isnan(share(float("nan")))
    assert np.isnan(share(10.7)), "after final contact"


def test_the_document_has_the_stable_keys_and_is_strict_json() -> None:
    analysis, _ = _scored("healthy", 21)
    document = analysis.to_json()
    text = json.dumps(document, allow_nan=False)
    assert json.loads(text) == document
    assert {"events", "strides", "summary", "quality", "bouts"} <= document.keys()
    for side in ("left", "right"):
        events = document["events"][side]
        assert len(events["initial_contact_s"]) > 100
        assert len(events["final_contact_s"]) > 100
        assert events["source"] == f"{side}_foot"
    summary = document["summary"]
    truth = truth_events(_walk("healthy", 21))
    true_steps = sum(
        int(((ev.initial_contact_s > 0) & (ev.initial_contact_s < 180)).sum())
        for ev in truth.values()
    )
    assert abs(summary["step_count"] - true_steps) <= 2
    gait = _walk("healthy", 21).walker.gait
    assert summary["cadence_spm"] == pytest.approx(gait.cadence_spm, rel=0.02)
    assert set(document["quality"]["pods"]) == {
        p.name for p in _walk("healthy", 21).recording().pods
    }
    assert set(document["quality"]["missing"]) == {"left_thigh", "right_thigh"}
    long_bouts = [b for b in document["bouts"] if b["strides"] >= 20]
    assert len(long_bouts) >= 0.8 * len(document["bouts"]) > 0


def test_stride_length_and_speed_from_the_feet() -> None:
    analysis, _ = _scored("healthy", 21)
    gait = _walk("healthy", 21).walker.gait
    for side in ("left", "right"):
        medians = analysis.to_json()["summary"]["median"][side]
        assert medians["speed_mps"] == pytest.approx(gait.speed_mps, rel=0.05)
        assert medians["stride_length_m"] == pytest.approx(gait.speed_mps * gait.stride_s, rel=0.05)


def test_fatigue_of_a_weak_gluteus_medius_shows_as_drift_in_pelvic_drop() -> None:
    walk = simulate_walk(
        WalkConfig(minutes=10, seed=24, driver="left-glute-med", errors=ImuErrors())
    )
    drift = analyze(walk.recording()).to_json()["summary"]["fatigue_drift"]
    left = drift["left"]["pelvic_drop_deg"]
    right = drift["right"]["pelvic_drop_deg"]
    assert left["ci95_low"] > 0.0, left
    assert right["ci95_low"] < 0.0 < right["ci95_high"] or abs(right["slope_per_1000_steps"]) < (
        0.5 * left["slope_per_1000_steps"]
    )


def test_without_foot_or_pelvis_it_measures_what_it_can_and_says_what_is_missing() -> None:
    walk = _walk("healthy", 21)
    recording = walk.recording()
    keep = {"pelvis", "left_shank", "right_foot"}
    subset = Recording([p for p in recording.pods if p.name in keep], recording.extra)
    document = analyze(subset).to_json()
    assert document["events"]["left"]["source"] == "left_shank"
    assert set(document["quality"]["missing"]) >= {"left_foot", "right_shank"}
    truth = truth_events(walk)["left"].initial_contact_s
    found = np.array(document["events"]["left"]["initial_contact_s"])
    inside = truth[(truth > 12) & (truth < 170)]
    nearest = np.array([found[np.argmin(np.abs(found - t))] - t for t in inside])
    assert abs(float(np.median(nearest))) < 0.010
    assert np.mean(np.abs(nearest) < 0.03) >= 0.95, "the shank fallback missed contacts"
    left = document["strides"]["left"][5]
    assert "pelvic_drop_deg" in left and "hip_rotation_range_deg" in left
    assert "pronation_excursion_deg" not in left
    right = document["strides"]["right"][5]
    assert "pronation_excursion_deg" not in right and "stride_length_m" in right


def test_gaitmap_csv_through_the_command_line(tmp_path: Path) -> None:
    source = GAITMAP / "imu_sample_not_rotated.csv"
    if not source.is_file():
        pytest.skip(f"gaitmap example data not found at {GAITMAP} (needs ../shared/data)")
    out = tmp_path / "analysis.json"
    assert main(["analyze", str(source), "--rate-hz", "204.8", "--json", str(out)]) == 0
    document = json.loads(out.read_text())
    reference = np.genfromtxt(
        GAITMAP / "stride_events_sample.csv", delimiter=",", names=True, dtype=None, encoding=None
    )
    for side in ("left", "right"):
        found = np.array(document["events"][side]["initial_contact_s"])
        truth = reference[reference["foot"] == side]["ic"] / 204.8
        errors = np.array([found[np.argmin(np.abs(found - t))] - t for t in truth])
        assert abs(errors.mean()) <= 0.015 and errors.std() <= 0.012
    assert set(document["quality"]["dropped"]) == {"left_foot", "right_foot"}


def test_command_line_writes_json_and_refuses_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    walk = simulate_walk(WalkConfig(minutes=1, seed=25))
    write_walk(walk, tmp_path / "walk")
    out = tmp_path / "a.json"
    assert main(["analyze", str(tmp_path / "walk"), "--json", str(out)]) == 0
    assert json.loads(out.read_text())["summary"]["step_count"] > 50
    for argv, message in (
        (["analyze", str(tmp_path / "nope"), "--json", str(out)], "does not exist"),
        (["analyze", str(tmp_path / "walk"), "--pods", "pelvis,nose", "--json", str(out)], "nose"),
        (["analyze", str(tmp_path / "x.csv"), "--json", str(out)], "--rate-hz"),
    ):
        with pytest.raises(SystemExit) as stopped:
            main(argv)
        assert stopped.value.code == 2
        assert message in capsys.readouterr().err


def _write_xsens(path: Path, t_s: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> None:
    ticks = (np.round(t_s / 1e-4).astype(np.int64) + 2**32 - 30_000) % 2**32  # wraps early on
    lines = [
        "// Start Time: Unknown",
        "// Update Rate: 120.0Hz",
        "PacketCounter\tSampleTimeFine\tAcc_X\tAcc_Y\tAcc_Z\tGyr_X\tGyr_Y\tGyr_Z",
    ]
    for k in range(t_s.size):
        values = "\t".join(f"{v:.6f}" for v in (*acc[k], *gyr[k]))
        lines.append(f"{k % 65536}\t{ticks[k]}\t{values}")
    path.write_text("\n".join(lines) + "\n")


def test_xsens_mt_text_exports_read_through_recording_json(tmp_path: Path) -> None:
    walk = simulate_walk(WalkConfig(minutes=1, seed=27))
    recording = walk.recording()
    entries = []
    for pod in recording.pods:
        name = f"MT_{pod.name}.txt"
        _write_xsens(tmp_path / name, pod.t_s, pod.acc_mps2, pod.gyr_radps)
        entries.append(
            {"file": name, "segment": pod.segment, "side": pod.side, "format": "xsens-mt-text"}
        )
    index = {"format": "gaitchain-recording", "version": 1, "pods": entries}
    (tmp_path / "recording.json").write_text(json.dumps(index))
    out = tmp_path / "a.json"
    assert main(["analyze", str(tmp_path), "--json", str(out)]) == 0
    imported = json.loads(out.read_text())["events"]["left"]["initial_contact_s"]
    direct = analyze(recording).to_json()["events"]["left"]["initial_contact_s"]
    offset_s = (2**32 - 30_000) * 1e-4
    assert len(imported) == len(direct) > 40
    np.testing.assert_allclose(np.array(imported) - offset_s, direct, atol=2e-4)


def test_xsens_export_without_gyroscope_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.txt").write_text("// x\nPacketCounter\tSampleTimeFine\tAcc_X\tAcc_Y\tAcc_Z\n")
    entry = {"file": "a.txt", "segment": "foot", "side": "left", "format": "xsens-mt-text"}
    index = {"format": "gaitchain-recording", "version": 1, "pods": [entry]}
    (tmp_path / "recording.json").write_text(json.dumps(index))
    with pytest.raises(SystemExit):
        main(["analyze", str(tmp_path), "--json", str(tmp_path / "o.json")])
    assert "Gyr_X, Gyr_Y, Gyr_Z missing" in capsys.readouterr().err


def test_a_side_with_only_the_pelvis_gets_stride_times_from_it() -> None:
    # The simulated pelvis has no weight-acceptance dynamics, so the timing of pelvis contacts
    # cannot be judged here (README); the stride times and the stride count can.
    walk = _walk("healthy", 21)
    recording = walk.recording()
    subset = Recording([p for p in recording.pods if p.name in {"pelvis", "right_shank"}])
    document = analyze(subset).to_json()
    assert document["events"]["left"]["source"] == "pelvis"
    truth = truth_events(walk)["left"].initial_contact_s
    inside = truth[(truth > 12) & (truth < 170)]
    found = np.array(document["events"]["left"]["initial_contact_s"])
    assert abs(found[(found > 12) & (found < 170)].size - inside.size) <= 3
    rows = [r for r in document["strides"]["left"] if r["straight"]]
    assert len(rows) > 100
    stride_s = float(np.median([r["stride_time_s"] for r in rows]))
    assert stride_s == pytest.approx(walk.walker.gait.stride_s, rel=0.02)
