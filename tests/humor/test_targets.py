"""Training targets: percentiles within template, exposure corrections."""

import numpy as np
import pytest

from dank.models.humor import targets
from dank.models.humor.metrics import spearman


def test_percentile_is_within_template():
    # Template "a" has far more votes than "b"; each still spans 0..1.
    up = [100, 200, 300, 1, 2, 3]
    groups = ["a", "a", "a", "b", "b", "b"]
    got = targets.compute_target("percentile", up, [10] * 6, groups)
    np.testing.assert_allclose(got, [0, 0.5, 1, 0, 0.5, 1])


def test_percentile_ties_share_mean_rank():
    got = targets.percentile_target([10, 10, 0], [0, 0, 0])
    np.testing.assert_allclose(got, [0.75, 0.75, 0.0])


def test_residual_prefers_votes_from_less_exposure():
    # Same votes, 100x fewer views: the first caption did better.
    up = [10, 10, 0, 5]
    views = [100, 10_000, 50, 1000]
    got = targets.compute_target("residual", up, views, [0] * 4)
    assert got[0] > got[1]
    res = targets.vote_residuals(up, views, [0] * 4)
    assert abs(res.sum()) < 1e-9  # Least squares with intercept: residuals sum to 0.


def test_residual_without_slope_is_centred_log_votes():
    res = targets.vote_residuals([0, 3], [5, 5], [0, 0])
    np.testing.assert_allclose(res, [-np.log(4) / 2, np.log(4) / 2])


def test_smoothed_rate_shrinks_rarely_seen_captions():
    # 1 vote from 1 view is a rate of 1.0, but with a 100-view prior it stays
    # near the template's mean rate, below 50 votes from 100 views.
    up, views = [1, 50, 1], [1, 100, 1000]
    rates = targets.smoothed_rates(up, views, [0, 0, 0], prior_views=100)
    mean = 52 / 1101
    np.testing.assert_allclose(rates[0], (1 + 100 * mean) / 101)
    assert rates[1] > rates[0] > rates[2]
    got = targets.compute_target("smoothed_rate", up, views, [0, 0, 0], 100)
    np.testing.assert_allclose(got, [0.5, 1.0, 0.0])


def test_smoothed_rate_default_prior_is_median_views():
    up, views = [1, 50, 1], [1, 100, 1000]
    np.testing.assert_allclose(
        targets.smoothed_rates(up, views, [0] * 3),
        targets.smoothed_rates(up, views, [0] * 3, prior_views=100),
    )


def test_compute_target_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown humour target"):
        targets.compute_target("likes", [1], [1], [0])
    with pytest.raises(ValueError, match="differ in length"):
        targets.compute_target("residual", [1, 2], [1], [0, 0])


def test_spearman():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3], [2, 1, 3]) == pytest.approx(0.5)
    assert np.isnan(spearman([1, 1, 1], [1, 2, 3]))
