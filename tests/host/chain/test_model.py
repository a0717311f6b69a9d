"""The softmax model: fitting, calibration, explanation and storage; features and mirroring."""

import numpy as np
import pytest
from gaitchain.chain.features import FEATURE_SETS, mirror_names
from gaitchain.chain.model import SoftmaxModel, fit_softmax
from gaitchain.chain.store import CLASSES, load_models
from gaitchain.chain.training import expected_calibration_error, mirrored_labels


def _blobs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
    y = rng.integers(0, 3, n)
    return centres[y] + rng.normal(0, 1.0, (n, 2)), y


def test_fit_separates_classes_and_is_calibrated_on_new_data() -> None:
    x, y = _blobs(600, 1)
    model = fit_softmax(x, y, ("a_deg", "b_deg"), ("p", "q", "r"), l2=0.01)
    x_new, y_new = _blobs(2000, 2)
    proba = model.proba(x_new)
    assert np.allclose(proba.sum(axis=1), 1.0)
    accuracy = float(np.mean(proba.argmax(axis=1) == y_new))
    # Bayes accuracy of these blobs is about 0.90
    assert accuracy > 0.85
    assert expected_calibration_error(proba, y_new) < 0.04


def test_contributions_add_up_to_the_log_odds() -> None:
    x, y = _blobs(300, 3)
    model = fit_softmax(x, y, ("a_deg", "b_deg"), ("p", "q", "r"))
    row = x[7]
    logits = model.logits(row[None])[0]
    share = model.contributions(row, against=0)
    for k in range(3):
        intercepts = (model.intercept[k] - model.intercept[0]) / model.temperature
        assert share[k].sum() + intercepts == pytest.approx(logits[k] - logits[0])


def test_json_round_trip_gives_the_same_probabilities() -> None:
    x, y = _blobs(200, 4)
    model = fit_softmax(x, y, ("a_deg", "b_deg"), ("p", "q", "r"))
    again = SoftmaxModel.from_json(model.to_json())
    assert np.array_equal(again.proba(x), model.proba(x))


def test_ece_of_a_confident_wrong_model_is_large() -> None:
    proba = np.tile([0.95, 0.05], (100, 1))
    assert expected_calibration_error(proba, np.ones(100, dtype=np.int64)) == pytest.approx(0.95)
    assert expected_calibration_error(proba, np.zeros(100, dtype=np.int64)) == pytest.approx(0.05)


def test_mirroring_swaps_sides_and_negates_signed_pelvis_values() -> None:
    names = FEATURE_SETS["battery+walking"]
    source, sign = mirror_names(names)
    left = names.index("hip_ir.hip_ir_deg.left")
    right = names.index("hip_ir.hip_ir_deg.right")
    rotation = names.index("standing_pelvis.pelvic_rotation_deg")
    assert source[left] == right and source[right] == left and sign[left] == 1.0
    assert source[rotation] == rotation and sign[rotation] == -1.0
    labels = np.array([CLASSES.index(c) for c in ("healthy", "left-glute-med")])
    assert [CLASSES[i] for i in mirrored_labels(labels)] == ["healthy", "right-glute-med"]


def test_the_stored_model_is_symmetric_left_to_right() -> None:
    """Fitted on every subject and its mirror image: a mirrored input gives the mirrored
    ranking."""
    for name, (model, normal) in load_models().items():
        assert model.features == FEATURE_SETS[name]
        assert set(normal) == set(model.features)
        source, sign = mirror_names(model.features)
        x = model.mean + model.scale * np.random.default_rng(5).normal(0, 1, model.mean.size)
        p = model.proba(x)[0]
        q = model.proba(x[source] * sign)[0]
        swapped = mirrored_labels(np.arange(len(CLASSES), dtype=np.int64))
        assert np.allclose(q[swapped], p, atol=0.03)
