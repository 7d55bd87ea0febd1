"""The fast generalised cross-validation scores (lnp_neuro.tasks._gcv) against sklearn's,
and the readouts they choose against the exhaustive fits they replace, bit for bit."""

import numpy as np
import pytest
from sklearn.linear_model import RidgeCV

from lnp_neuro.tasks._gcv import MARGIN, gcv_scores, undecided
from lnp_neuro.tasks.forecast import (_RIDGE_ALPHAS, ForecastSplit, _fit_ridge,
                                      reservoir_states, select_trace_tau)


def sklearn_scores(x, y, alphas):
    model = RidgeCV(alphas=alphas, gcv_mode="svd", store_cv_results=True).fit(x, y)
    errors = model.cv_results_.reshape(x.shape[0], -1, len(alphas))
    return np.array([np.mean(-errors[..., a]) for a in range(len(alphas))])


@pytest.mark.parametrize("shape", [(300, 40), (30, 60), (80, 500)])   # more samples; more features
def test_scores_equal_sklearns_up_to_rounding(shape):
    rng = np.random.default_rng(0)
    x = (rng.random(shape) < 0.2) * rng.random(shape) * 3
    x[:, 3] = 0.0                         # a neuron that never fires
    x[:, 4] = 2 * x[:, 5]                 # two that fire together
    y = x[:, :3] @ rng.standard_normal((3, 2)) + 0.1 * rng.standard_normal((shape[0], 2))
    np.testing.assert_allclose(gcv_scores(x, y, _RIDGE_ALPHAS),
                               sklearn_scores(x, y, _RIDGE_ALPHAS), rtol=1e-9)
    np.testing.assert_allclose(gcv_scores(x, y[:, 0], _RIDGE_ALPHAS),
                               sklearn_scores(x, y[:, 0], _RIDGE_ALPHAS), rtol=1e-9)


def test_undecided_keeps_the_candidates_near_the_best_in_order():
    assert undecided([-3.0, -1.0, -2.0]).tolist() == [1]
    assert undecided([-1.0, -3.0, -1.0 * (1 + MARGIN / 2)]).tolist() == [0, 2]
    assert undecided([-1.0, np.nan]).tolist() == [0, 1]


@pytest.mark.parametrize("n_samples, n_neurons", [(400, 30), (170, 150)])  # p < n; p > n
def test_readouts_equal_the_exhaustive_fits_bit_for_bit(n_samples, n_neurons):
    rng = np.random.default_rng(1)
    spikes = rng.random((n_samples * 4, n_neurons)) < 0.2
    y = np.cumsum(rng.standard_normal((n_samples, 2)), axis=0)
    split = ForecastSplit(n_samples)
    taus = (5e-3, 20e-3, 50e-3)
    best = None
    for tau in taus:                       # what select_trace_tau did before the scores
        states = reservoir_states(spikes, 4, 1e-3, tau)
        model = _fit_ridge(states, y, split)
        if best is None or model.best_score_ > best[2].best_score_:
            best = (tau, states, model)
    tau, states, model = select_trace_tau(spikes, 4, 1e-3, y, split, taus=taus)
    assert tau == best[0]
    np.testing.assert_array_equal(states, best[1])
    for name in ("coef_", "intercept_", "alpha_", "best_score_"):
        assert np.asarray(getattr(model, name)).tobytes() == \
            np.asarray(getattr(best[2], name)).tobytes(), name
