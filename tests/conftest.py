"""Tiny population graphs shared by the model, NIR and engine tests.

Each builder returns a :class:`lnp_neuro.model.Graph` small enough for Lava to start in a
second, with weights strong enough that every population spikes on a 30 % drive.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from lnp_neuro.model import Graph, Population, Projection


def _weights(rng, shape, density, scale, sign=0.0):
    w = sp.random(*shape, density=density, random_state=rng,
                  data_rvs=lambda k: scale * (rng.random(k) + sign)).tocsr()
    return w


def chain_graph(seed: int = 0, reset: str = "zero") -> Graph:
    """input (6) -> A (cuba_lif, 12) -> B (lif, 5): a feed-forward chain."""
    rng = np.random.default_rng(seed)
    a = Population("A", "cuba_lif", 12, tau_mem=rng.uniform(4e-3, 20e-3, 12),
                   tau_syn=rng.uniform(1e-3, 5e-3, 12), v_threshold=1.0, reset=reset)
    b = Population("B", "lif", 5, tau_mem=10e-3, v_threshold=1.0, reset=reset)
    return Graph(inputs={"x": 6}, populations=[a, b],
                 projections=[Projection("x", "A", _weights(rng, (12, 6), 0.6, 0.9)),
                              Projection("A", "B", _weights(rng, (5, 12), 0.6, 0.8))],
                 outputs=["B"], dt=1e-3)


def recurrent_graph(seed: int = 1) -> Graph:
    """input (5) -> R (cuba_lif, 20, recurrent, subtract reset, bias) -> I (if, 4)
    -> O (li readout, 3)."""
    rng = np.random.default_rng(seed)
    r = Population("R", "cuba_lif", 20, tau_mem=rng.uniform(5e-3, 30e-3, 20),
                   tau_syn=rng.uniform(1e-3, 8e-3, 20), v_threshold=rng.uniform(0.8, 1.2, 20),
                   bias=rng.uniform(0.0, 0.02, 20), reset="subtract")
    i = Population("I", "if", 4, v_threshold=1.5, reset="zero")
    o = Population("O", "li", 3, tau_mem=20e-3)
    rec = _weights(rng, (20, 20), 0.2, 0.6, sign=-0.45)
    return Graph(inputs={"x": 5}, populations=[r, i, o],
                 projections=[Projection("x", "R", _weights(rng, (20, 5), 0.5, 0.8)),
                              Projection("R", "R", rec),
                              Projection("R", "I", _weights(rng, (4, 20), 0.5, 0.5)),
                              Projection("I", "O", _weights(rng, (3, 4), 0.8, 0.5, -0.5))],
                 outputs=["O"], dt=1e-3)


def drive(graph: Graph, steps: int = 150, p: float = 0.3, seed: int = 0) -> np.ndarray:
    """Bernoulli input spikes [steps, channels] for ``graph``."""
    return np.random.default_rng(seed).random((steps, graph.n_inputs)) < p


@pytest.fixture(params=["chain", "chain_subtract", "recurrent"])
def tiny_graph(request) -> Graph:
    return {"chain": lambda: chain_graph(),
            "chain_subtract": lambda: chain_graph(reset="subtract"),
            "recurrent": lambda: recurrent_graph()}[request.param]()
