"""What norse 1.1.0 exports, read with ``source="norse"`` (lnp_neuro.nir.source): its
time constants are written as ``dt`` times the true ones and its current-based cell adds
its input to the current whole; read that way, the imported graph's float raster equals
norse's own forward pass of the model, up to the latency alignment (one step per hop).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import norse_classifier

from lnp_neuro.engines.simulator import simulate
from lnp_neuro.model import flatten
from lnp_neuro.nir import graph_from_nir

pytest.importorskip("norse")
T = 300


def _drive(seed=1):
    return np.random.default_rng(seed).random((T, 8)) < 0.3


@pytest.mark.parametrize("kind", ["cuba", "box"])
def test_norse_export_matches_norse_forward(kind):
    run, nir_graph = norse_classifier(kind)
    x = _drive()
    ref1, ref2 = run(x)
    graph = graph_from_nir(nir_graph, source="norse")
    assert graph.dt == 1e-3 and graph.metadata["nir_import"]["source"] == "norse"
    names = list(graph.populations)
    kinds = [graph.populations[n].kind for n in names]
    assert kinds == (["cuba_lif", "cuba_lif"] if kind == "cuba" else ["lif", "li"])
    layout = flatten(graph)
    result = simulate(layout.network, x, mode="float", record_state=True)
    lat = [layout.latency[n] for n in names]
    horizon = T - max(lat)
    first = layout.split(result.spikes)[names[0]][lat[0]:lat[0] + horizon]
    assert ref1[:horizon].sum() > 100, "the first layer hardly spikes: the case tests nothing"
    np.testing.assert_array_equal(first, ref1[:horizon] > 0)
    a, b = layout.offsets[names[1]]
    if kind == "cuba":
        second = result.spikes[lat[1]:lat[1] + horizon, a:b]
        assert ref2[:horizon].sum() > 50
        np.testing.assert_array_equal(second, ref2[:horizon] > 0)
    else:   # the LI readout's membrane: float32 parameters, float64 arithmetic
        np.testing.assert_allclose(result.v[lat[1]:lat[1] + horizon, a:b], ref2[:horizon],
                                   rtol=1e-5, atol=1e-6)


def test_norse_time_constants_need_the_source():
    """Read as plain NIR, norse's file has r = 1 and no dt (refused), and with dt given its
    time constants are below dt (refused): the convention is not guessed."""
    _, nir_graph = norse_classifier("cuba")
    with pytest.raises(ValueError, match="dt cannot be inferred"):
        graph_from_nir(nir_graph)
    with pytest.raises(ValueError, match="tau_mem must be >= dt"):
        flatten(graph_from_nir(nir_graph, dt=1e-3))
    assert graph_from_nir(nir_graph, source="norse", dt=2e-3).dt == 2e-3
