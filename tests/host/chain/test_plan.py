"""Phased plan targets and the comparison of sessions."""

from gaitchain.chain.plan import compare_sessions, phased_plan, plan_json


def test_plan_targets_read_the_measurements_and_say_whether_they_are_met() -> None:
    values: dict[str, float | None] = {
        "hip_ir.hip_ir_deg.left": 24.0,
        "single_leg_stance.pelvic_drop_deg.left": 1.0,
        "walk.pronation_excursion_deg.left": None,
    }
    phases = phased_plan("hip-ir-deficit", "left", values)
    assert [p.weeks for p in phases] == ["weeks 1-3", "weeks 3-6", "weeks 4-8", "ongoing"]
    assert "hip internal-rotation mobility" in phases[0].focus
    hip = {t.measure: t for t in phases[0].targets}
    assert hip["hip_ir.hip_ir_deg.left"].met is False
    assert hip["single_leg_stance.pelvic_drop_deg.left"].met is True
    assert all(t.measure.endswith(".left") for t in phases[0].targets)
    foot = {t.measure: t for t in phases[2].targets}
    assert foot["walk.pronation_excursion_deg.left"].met is None
    doc = plan_json(phases)
    assert doc[0]["targets"][0] == {
        "measure": "hip_ir.hip_ir_deg.left",
        "label": "prone hip internal rotation, deg (left)",
        "goal": ">= 35",
        "current": 24.0,
        "met": False,
    }


def test_healthy_plan_targets_both_sides() -> None:
    phases = phased_plan("healthy", "none", {})
    assert {t.measure.rsplit(".", 1)[1] for t in phases[0].targets} == {"left", "right"}


def test_sessions_are_compared_first_to_last() -> None:
    rows = compare_sessions(
        [("w0", {"a": 24.0, "b": None}), ("w3", {"a": 30.0}), ("w6", {"a": 36.5, "b": 2.0})],
        ["a", "b"],
    )
    assert rows[0] == {"measure": "a", "values": [24.0, 30.0, 36.5], "change": 12.5}
    assert rows[1]["change"] is None
