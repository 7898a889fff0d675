import numpy as np
import pytest

from dank.models.vision.calibrate import choose_threshold, error_rates, is_known


def test_threshold_separates_known_from_unknown():
    known = [0.9, 0.95, 0.8, 0.99]
    unknown = [0.1, 0.3, 0.5, 0.2]
    cal = choose_threshold(known, unknown)
    assert 0.5 < cal["threshold"] <= 0.8
    assert cal["known_recall"] == 1.0 and cal["unknown_rejection"] == 1.0
    assert is_known(np.array([0.85, 0.4]), cal).tolist() == [True, False]


def test_overlap_balances_both_errors():
    rng = np.random.default_rng(0)
    known = rng.normal(0.75, 0.1, 2000)
    unknown = rng.normal(0.35, 0.1, 2000)
    cal = choose_threshold(known, unknown)
    assert 0.5 < cal["threshold"] < 0.6
    assert cal["known_recall"] > 0.8 and cal["unknown_rejection"] > 0.8


def test_without_unknowns_keeps_almost_all_known():
    cal = choose_threshold(np.linspace(0.5, 1.0, 101), [])
    assert cal["known_recall"] >= 0.99
    assert cal["unknown_rejection"] is None


def test_needs_known_examples():
    with pytest.raises(ValueError):
        choose_threshold([], [0.1])


def test_rates_are_reported_on_the_held_out_half():
    # The threshold is chosen on the even examples; the odd ones are reported.
    known = [0.9, 0.55, 0.9, 0.55]
    unknown = [0.1, 0.2, 0.1, 0.2]
    cal = choose_threshold(known, unknown)
    assert cal["threshold"] == 0.9
    assert cal["known_recall"] == 0.0 and cal["unknown_rejection"] == 1.0
    assert cal["reported_on"] == "held-out half"


def test_error_rates():
    rates = error_rates(0.5, [0.9, 0.4, 0.6, 0.2], [0.1, 0.7])
    assert rates == {
        "false_reject": 0.5,
        "false_accept": 0.5,
        "n_known": 4,
        "n_unknown": 2,
    }
    assert error_rates(0.5, [0.9], [])["false_accept"] is None
