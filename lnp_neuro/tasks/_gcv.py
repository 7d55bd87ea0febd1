"""Generalised cross-validation scores of ridge penalties without the SVD, to choose
which exact fits to make.

The forecast's readouts (:func:`.forecast._fit_ridge`) are fitted by
:class:`sklearn.linear_model.RidgeCV` in its SVD mode: one SVD of the centred training
states, then, for every penalty ``alpha``, the leave-one-out errors (generalised
cross-validation, intercept fitted) and the coefficients; the penalty with the best score
(the mean of minus the squared errors) is kept. The SVD costs about three times what
:func:`gcv_scores` does, and the choices it serves (the penalty; the trace time constant,
:func:`.forecast.select_trace_tau`, among whose candidates only the winner's readout is
used) are discrete: so the scores here decide them, and the exact fit is made only for
what they chose, with the penalties they leave undecided, which gives the same readout,
bit for bit, for a fraction of the SVDs.

:func:`gcv_scores` computes the same scores from the eigendecomposition of the states'
covariance ``Xc' Xc = V diag(lam) V'`` (``Xc``: the centred states; with more features
than samples, from the Gram matrix ``Xc Xc'``, which has the same nonzero eigenvalues),
cheaper than the SVD of ``Xc``: with ``Z = Xc V``, the hat matrix of penalty ``alpha`` is
``H = Z diag(1 / (lam + alpha)) Z'``, the leave-one-out error of sample ``i`` is ``(y -
H y)_i / (1 - H_ii - 1 / n)`` (the centred targets; ``1 / n``: the intercept) and the
score its mean square, negated. They equal sklearn's up to rounding (tests/tasks/test_gcv.py; the
agreement on the default deployment's states is in docs/results.md, "Default deploy
time"), far below the gaps between the penalties' or the time constants' scores. Where
two candidates' scores are within :data:`MARGIN` (relative) of each other, these scores
do not decide between them: :func:`undecided` keeps both for the exact scores to choose,
as before.
"""

from __future__ import annotations

import numpy as np

__all__ = ["gcv_scores", "undecided", "MARGIN"]

#: Relative distance from the best score within which a candidate stays undecided
#: (a million times the rounding differences between these scores and sklearn's).
MARGIN = 1e-6


def gcv_scores(x: np.ndarray, y: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """``RidgeCV(alphas, gcv_mode="svd").fit(x, y)``'s score of every penalty (module
    docstring): ``x [n, p]``, ``y [n]`` or ``[n, d]``; NaN where they cannot be computed."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(x.shape[0], -1)
    alphas = np.asarray(alphas, dtype=np.float64)
    n = x.shape[0]
    xc = x - x.mean(axis=0)
    yc = y - y.mean(axis=0)
    if x.shape[1] <= n:
        lam, v = np.linalg.eigh(xc.T @ xc)
        z = xc @ v
    else:
        # More features than samples (a large network's states): the nonzero
        # eigenvalues of Xc' Xc are those of the Gram matrix Xc Xc' = U diag(lam) U',
        # and Z = Xc V = U diag(sqrt(lam)) on them; the other directions have Z = 0 and
        # add nothing to H. An n x n eigendecomposition instead of a p x p one.
        lam, u = np.linalg.eigh(xc @ xc.T)
        # Eigenvalues at the rounding level of the largest are zeros (the centring's
        # constant direction at least): their directions are left out of Z exactly.
        lam = np.where(lam > lam.max(initial=0.0) * n * np.finfo(float).eps, lam, 0.0)
        z = u * np.sqrt(lam)
    inverse = 1.0 / (np.maximum(lam, 0.0)[:, None] + alphas[None, :])     # [p, alphas]
    leverage = (z * z) @ inverse                                          # [n, alphas]
    zty = z.T @ yc                                                        # [p, d]
    fitted = z @ (inverse[:, :, None] * zty[:, None, :]).reshape(lam.size, -1)
    residual = yc[:, None, :] - fitted.reshape(n, alphas.size, -1)        # [n, alphas, d]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        looe = residual / (1.0 - leverage - 1.0 / n)[:, :, None]
        scores = -np.mean(looe ** 2, axis=(0, 2))
    return np.where(np.isfinite(scores), scores, np.nan)


def undecided(scores) -> np.ndarray:
    """Indices of the candidates the ``scores`` (higher is better) do not rule out: those
    within :data:`MARGIN` of the best, in their order; all of them when a score is NaN."""
    s = np.asarray(scores, dtype=np.float64)
    if s.size == 0 or not np.all(np.isfinite(s)):
        return np.arange(s.size)
    best = s.max()
    return np.flatnonzero(s >= best - MARGIN * abs(best))
