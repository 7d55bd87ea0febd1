"""lnp_neuro.deploy.data: the samples of a data set scored in blocks on several threads
get the scores each gets alone."""

from __future__ import annotations

import numpy as np
import pytest

from lnp_neuro import models
from lnp_neuro.deploy.data import _scores
from lnp_neuro.engines.simulator import simulate


@pytest.mark.parametrize("mode", ["float", "fixed"])
@pytest.mark.parametrize("spiking", [True, False])
def test_scores_on_threads_equal_the_samples_run_one_by_one(mode, spiking):
    net = models.hrsnn(60, 0.1, seed=4, n_inputs=4)
    rng = np.random.default_rng(4)
    inputs = rng.random((21, 30, 4)) < 0.2
    columns, places, latency = np.arange(48, 60), np.arange(1, 13), 2
    pad = np.zeros((latency, 4), bool)
    expected = np.full((21, 14), -np.inf)
    for i, sample in enumerate(inputs):
        res = simulate(net, np.concatenate([sample, pad]), mode=mode, record_state=True)
        expected[i, places] = (res.spikes[:, columns].sum(axis=0) if spiking
                               else res.v[-1, columns])
    assert np.ptp(expected[:, places]) > 0          # the samples do differ
    for workers in (1, 3):
        got = _scores(net, columns, places, 14, spiking, inputs, latency, mode, workers)
        np.testing.assert_array_equal(got.view(np.int64), expected.view(np.int64))
