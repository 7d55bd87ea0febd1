"""models.build_network: either starting network by name, from one set of settings."""

import numpy as np
import pytest

from lnp_neuro.model.build import build_network, chrsnn, hrsnn


def _same(a, b):
    assert (a.weights != b.weights).nnz == 0 and (a.input_weights != b.input_weights).nnz == 0
    np.testing.assert_array_equal(a.tau_mem, b.tau_mem)
    assert a.metadata == b.metadata


def test_build_network_is_the_named_constructor_with_its_own_settings():
    settings = dict(density=0.2, n_clusters=3, intra_density=0.4, inter_density=0.05,
                    n_inputs=6, gain=1.5, input_scale=0.1, v_threshold=0.8)
    _same(build_network("hrsnn", 30, seed=4, **settings),
          hrsnn(30, 0.2, seed=4, n_inputs=6, gain=1.5, input_scale=0.1, v_threshold=0.8))
    _same(build_network("chrsnn", 30, seed=4, **settings),
          chrsnn(30, 3, seed=4, intra_density=0.4, inter_density=0.05, n_inputs=6, gain=1.5,
                 input_scale=0.1, v_threshold=0.8))
    # None takes the constructor's default
    _same(build_network("chrsnn", 30, seed=4, n_clusters=None, density=0.5), chrsnn(30, seed=4))


def test_build_network_refuses_unknown_models_and_settings():
    with pytest.raises(ValueError, match="model must be one of hrsnn, chrsnn"):
        build_network("lsm", 30)
    with pytest.raises(TypeError, match="no_such_setting"):
        build_network("hrsnn", 30, no_such_setting=1)
