"""Constructors of the paper's two starting networks (design section 1).

- :func:`hrsnn` — heterogeneous recurrent SNN (Chakraborty & Mukhopadhyay, Front.
  Neurosci. 2023; ICLR 2024 Sec. 3 "Models"): LIF neurons whose membrane time constants
  are drawn from one gamma distribution, sparse random (Erdos-Renyi) recurrent wiring,
  80/20 excitatory/inhibitory split obeying Dale's law.
- :func:`chrsnn` — clustered HRSNN (ICLR 2024 Sec. 3): C clusters, each with its own
  gamma distribution of time constants, wired as a stochastic block model that is dense
  inside a cluster and sparse between clusters. With ``inter_density << intra_density``
  that graph is small-world (high clustering, short paths through the inter-cluster
  links); this is the interpretation design section 1 allows in place of Watts-Strogatz.
- :func:`build_network` — either of the two by name (:data:`MODELS`), from one set of
  settings that describes both; what ``lnp-deploy`` and ``lnp-experiment`` build.

Weights are drawn as half-normal magnitudes with the sign of the presynaptic neuron
(Dale's law); inhibitory magnitudes are ``inhibition_ratio`` times larger (4 balances an
80/20 split on average). Scale: ``gain`` and ``input_scale`` are set on the *rate
coupling* ``G = diag(g) W`` (:meth:`SpikingNetwork.rate_coupling`, ``g_i = (tau_syn/dt)
(tau_mem_i/dt) (RATE_UNIT_HZ dt) / v_threshold``: thresholds of drive per unit
presynaptic rate, rates in units of 50 Hz), the coupling that both the spiking dynamics and the rate surrogate of
design section 2 see. ``G`` is scaled so that its bulk spectral radius
``sqrt(N * density * E[G^2])`` equals ``gain`` (``gain > 1``: chaotic rate surrogate,
Sompolinsky et al. 1988; ``gain < 1``: stable), and the spiking weights are
``W = diag(1/g) G``. Setting the gain on ``W`` itself would ignore that a neuron
integrates its synaptic current over ``tau_syn`` and ``tau_mem`` and leave the spiking
network about ``g`` (~5 with the defaults) times more or less strongly coupled than
its surrogate. Measured with the Lorenz drive of ``lnp-deploy`` (N = 1000): gain 1 gives
about 29 Hz, input-driven; gain 2 about 175 Hz, recurrently amplified.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from .._util.validation import check_fraction, check_int, check_positive
from .network import RATE_UNIT_HZ, SpikingNetwork

#: Default probability of a synapse inside a CHRSNN cluster.
CHRSNN_INTRA_DENSITY = 0.2
#: Default probability of a synapse between two CHRSNN clusters.
CHRSNN_INTER_DENSITY = 0.01

__all__ = ["MODELS", "build_network", "hrsnn", "chrsnn", "random_sparse_mask", "expected_synapses",
           "CHRSNN_INTRA_DENSITY", "CHRSNN_INTER_DENSITY"]

#: Names of the starting networks :func:`build_network` builds.
MODELS = ("hrsnn", "chrsnn")


def random_sparse_mask(n_post: int, n_pre: int, prob, rng: np.random.Generator,
                       no_self: bool = False) -> sp.csr_matrix:
    """Bernoulli connectivity without densifying: row i keeps each column with ``prob[i, j]``.

    ``prob`` is a scalar or a callable ``prob(i) -> array (n_pre,)`` of per-column
    probabilities for row ``i``. Returns a CSR pattern with data = 1.
    """
    rows: list[np.ndarray] = []
    counts = np.zeros(n_post, np.int64)
    for i in range(n_post):
        if callable(prob):
            p_row = np.asarray(prob(i), dtype=np.float64)
            hit = np.flatnonzero(rng.random(n_pre) < p_row)
        else:
            k = rng.binomial(n_pre - (1 if no_self and i < n_pre else 0), prob)
            if no_self and i < n_pre:
                cols = rng.choice(n_pre - 1, size=k, replace=False)
                cols[cols >= i] += 1
            else:
                cols = rng.choice(n_pre, size=k, replace=False)
            hit = np.sort(cols)
        if no_self:
            hit = hit[hit != i]
        rows.append(hit.astype(np.int32))
        counts[i] = hit.size
    indptr = np.concatenate([[0], np.cumsum(counts)])
    indices = np.concatenate(rows) if rows else np.zeros(0, np.int32)
    return sp.csr_matrix((np.ones(indices.size), indices, indptr), shape=(n_post, n_pre))


def _dale_weights(pattern: sp.csr_matrix, excitatory: np.ndarray, gain: float,
                  inhibition_ratio: float, rng: np.random.Generator) -> sp.csr_matrix:
    w = pattern.copy()
    mag = np.abs(rng.standard_normal(w.nnz))
    pre_exc = excitatory[w.indices]
    w.data = np.where(pre_exc, mag, -inhibition_ratio * mag)
    n = w.shape[0]
    density = w.nnz / float(n * n)
    if w.nnz:
        radius = np.sqrt(n * density * np.mean(w.data ** 2))
        w.data *= gain / radius
    return w


def _rate_gain(tau_mem: np.ndarray, tau_syn: float, dt: float, v_threshold: float) -> np.ndarray:
    # the same expression as SpikingNetwork.rate_gain, before the network exists
    return (tau_syn / dt) * (tau_mem / dt) * (RATE_UNIT_HZ * dt) / v_threshold


def _to_spiking_units(coupling: sp.csr_matrix, gain_per_neuron: np.ndarray) -> sp.csr_matrix:
    """``W = diag(1/g) G``: divide row (postsynaptic neuron) i of ``G`` by ``g_i``."""
    w = coupling.copy()
    w.data = w.data / np.repeat(gain_per_neuron, np.diff(w.indptr))
    return w


def _input_weights(n: int, n_inputs: int, input_density: float, input_scale: float,
                   rng: np.random.Generator) -> sp.csr_matrix:
    pattern = random_sparse_mask(n, n_inputs, input_density, rng)
    # Every neuron should hear the input when n_inputs is small: give empty rows one link.
    empty = np.flatnonzero(np.diff(pattern.indptr) == 0)
    if empty.size:
        extra = sp.csr_matrix((np.ones(empty.size), (empty, rng.integers(0, n_inputs, empty.size))),
                              shape=pattern.shape)
        pattern = (pattern + extra).tocsr()
        pattern.data[:] = 1.0
    pattern.data = input_scale * rng.uniform(0.5, 1.0, pattern.nnz)
    return pattern


def _per_cluster(value, c: int, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(c, float(arr))
    if arr.shape != (c,):
        raise ValueError(f"{name} must be a number or one value per cluster ({c}), "
                         f"got {arr.size} values")
    if not np.all(np.isfinite(arr) & (arr > 0)):
        raise ValueError(f"{name} must be positive, got {arr.tolist()}")
    return arr


def _gamma_tau(shape: float, scale: float, size: int, dt: float,
               rng: np.random.Generator) -> np.ndarray:
    return np.maximum(rng.gamma(shape, scale, size), 2.0 * dt)


def hrsnn(n_neurons: int = 1000, density: float = 0.1, seed: int | None = 0, *,
          n_inputs: int = 3, input_density: float = 0.3, input_scale: float = 1.0,
          frac_excitatory: float = 0.8, tau_mem_shape: float = 5.0,
          tau_mem_scale: float = 4e-3, tau_syn: float = 5e-3, dt: float = 1e-3,
          v_threshold: float = 1.0, bias: float = 0.0, gain: float = 1.0,
          inhibition_ratio: float = 4.0) -> SpikingNetwork:
    """Heterogeneous recurrent SNN: gamma(k, theta) membrane time constants, ER wiring.

    Parameters
    ----------
    n_neurons : recurrent neurons N.
    density : probability p of each recurrent synapse (no autapses), in (0, 1].
    seed : seed of the numpy Generator; same seed, same network bit for bit.
    tau_mem_shape, tau_mem_scale : gamma shape k and scale theta (seconds) of tau_mem;
        samples are clipped to >= 2*dt (design section 1). Default mean 20 ms.
    tau_syn : synaptic time constant (seconds), the same for every neuron.
    gain : bulk spectral radius of the rate coupling (see module docstring).
    input_scale : input coupling, in thresholds per unit input rate (rates in 50 Hz units).
    """
    n = check_int(n_neurons, "n_neurons", 2)
    density = check_fraction(density, "density", allow_zero=False, allow_one=True)
    n_inputs = check_int(n_inputs, "n_inputs")
    input_density = check_fraction(input_density, "input_density", allow_zero=False, allow_one=True)
    frac_excitatory = check_fraction(frac_excitatory, "frac_excitatory", allow_one=True)
    for name, val in (("tau_mem_shape", tau_mem_shape), ("tau_mem_scale", tau_mem_scale),
                      ("tau_syn", tau_syn), ("dt", dt), ("v_threshold", v_threshold),
                      ("gain", gain), ("inhibition_ratio", inhibition_ratio),
                      ("input_scale", input_scale)):
        check_positive(val, name)
    if tau_syn < dt:
        raise ValueError(f"tau_syn must be >= dt={dt}, got {tau_syn}")
    rng = np.random.default_rng(seed)
    excitatory = np.zeros(n, bool)
    excitatory[: int(round(frac_excitatory * n))] = True
    excitatory = rng.permutation(excitatory)
    tau_mem = _gamma_tau(tau_mem_shape, tau_mem_scale, n, dt, rng)
    pattern = random_sparse_mask(n, n, density, rng, no_self=True)
    g = _rate_gain(tau_mem, tau_syn, dt, v_threshold)
    weights = _to_spiking_units(_dale_weights(pattern, excitatory, gain, inhibition_ratio, rng), g)
    w_in = _to_spiking_units(_input_weights(n, n_inputs, input_density, input_scale, rng), g)
    return SpikingNetwork(
        weights=weights, input_weights=w_in, tau_mem=tau_mem, tau_syn=np.full(n, tau_syn),
        v_threshold=np.full(n, v_threshold), bias=np.full(n, bias), dt=dt,
        excitatory=excitatory,
        metadata={"model": "hrsnn", "seed": seed, "density": density, "gain": gain,
                  "tau_mem_dist": [{"shape": tau_mem_shape, "scale": tau_mem_scale}]},
    )


def chrsnn(n_neurons: int = 1000, n_clusters: int = 4, seed: int | None = 0, *,
           intra_density: float = CHRSNN_INTRA_DENSITY,
           inter_density: float = CHRSNN_INTER_DENSITY,
           tau_mem_shape: float | Sequence[float] = 5.0,
           tau_mem_scale: float | Sequence[float] | None = None,
           n_inputs: int = 3, input_density: float = 0.3, input_scale: float = 1.0,
           frac_excitatory: float = 0.8, tau_syn: float = 5e-3, dt: float = 1e-3,
           v_threshold: float = 1.0, bias: float = 0.0, gain: float = 1.0,
           inhibition_ratio: float = 4.0) -> SpikingNetwork:
    """Clustered HRSNN: per-cluster gamma time constants, small-world block wiring.

    Neurons are split into ``n_clusters`` near-equal clusters (labels in ``cluster``).
    Cluster c draws tau_mem from gamma(``tau_mem_shape[c]``, ``tau_mem_scale[c]``); by
    default the cluster means are spaced geometrically from 5 ms to 80 ms so that the
    clusters have distinct timescales. A synapse inside a cluster exists with probability
    ``intra_density``, between clusters with ``inter_density``.
    """
    n = check_int(n_neurons, "n_neurons", 2)
    c = check_int(n_clusters, "n_clusters")
    if c > n:
        raise ValueError(f"n_clusters ({c}) must not exceed n_neurons ({n})")
    intra_density = check_fraction(intra_density, "intra_density", allow_zero=False, allow_one=True)
    inter_density = check_fraction(inter_density, "inter_density", allow_one=True)
    frac_excitatory = check_fraction(frac_excitatory, "frac_excitatory", allow_one=True)
    n_inputs = check_int(n_inputs, "n_inputs")
    input_density = check_fraction(input_density, "input_density", allow_zero=False, allow_one=True)
    shapes = _per_cluster(tau_mem_shape, c, "tau_mem_shape")
    if tau_mem_scale is None:
        # cluster mean time constants spaced geometrically from 5 ms to 80 ms
        means = np.geomspace(5e-3, 80e-3, c) if c > 1 else np.array([20e-3])
        scales = means / shapes
    else:
        scales = _per_cluster(tau_mem_scale, c, "tau_mem_scale")
    for name, val in (("tau_syn", tau_syn), ("dt", dt), ("v_threshold", v_threshold),
                      ("gain", gain), ("inhibition_ratio", inhibition_ratio),
                      ("input_scale", input_scale)):
        check_positive(val, name)
    if tau_syn < dt:
        raise ValueError(f"tau_syn must be >= dt={dt}, got {tau_syn}")
    rng = np.random.default_rng(seed)
    cluster = np.repeat(np.arange(c), np.diff(np.linspace(0, n, c + 1).round().astype(int)))
    excitatory = np.zeros(n, bool)
    excitatory[: int(round(frac_excitatory * n))] = True
    excitatory = rng.permutation(excitatory)
    tau_mem = np.empty(n)
    for k in range(c):
        idx = np.flatnonzero(cluster == k)
        tau_mem[idx] = _gamma_tau(shapes[k], scales[k], idx.size, dt, rng)
    pattern = random_sparse_mask(
        n, n, lambda i: np.where(cluster == cluster[i], intra_density, inter_density), rng,
        no_self=True)
    g = _rate_gain(tau_mem, tau_syn, dt, v_threshold)
    weights = _to_spiking_units(_dale_weights(pattern, excitatory, gain, inhibition_ratio, rng), g)
    w_in = _to_spiking_units(_input_weights(n, n_inputs, input_density, input_scale, rng), g)
    return SpikingNetwork(
        weights=weights, input_weights=w_in, tau_mem=tau_mem, tau_syn=np.full(n, tau_syn),
        v_threshold=np.full(n, v_threshold), bias=np.full(n, bias), dt=dt,
        excitatory=excitatory, cluster=cluster,
        metadata={"model": "chrsnn", "seed": seed, "n_clusters": c, "gain": gain,
                  "intra_density": intra_density, "inter_density": inter_density,
                  "tau_mem_dist": [{"shape": float(a), "scale": float(b)}
                                   for a, b in zip(shapes, scales)]},
    )


#: Settings only one of the two models has (:func:`build_network` drops the other's).
_MODEL_ONLY = {"hrsnn": ("density",),
               "chrsnn": ("n_clusters", "intra_density", "inter_density")}


def build_network(model: str, n_neurons: int, seed: int | None = 0, **settings
                  ) -> SpikingNetwork:
    """The starting network ``model`` (``"hrsnn"`` or ``"chrsnn"``) of ``n_neurons``.

    ``settings`` are keyword arguments of :func:`hrsnn` / :func:`chrsnn`. A comparison
    across both models describes them with one set of settings, so the settings only the
    other model has are dropped: ``density`` when building a CHRSNN; ``n_clusters``,
    ``intra_density`` and ``inter_density`` when building an HRSNN. A setting given as
    None takes the constructor's default.
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}; got {model!r}")
    other = _MODEL_ONLY["chrsnn" if model == "hrsnn" else "hrsnn"]
    kwargs = {k: v for k, v in settings.items() if k not in other and v is not None}
    constructor = hrsnn if model == "hrsnn" else chrsnn
    return constructor(n_neurons, seed=seed, **kwargs)


def expected_synapses(model: str, neurons: int, density: float, clusters: int) -> int:
    """Expected recurrent synapse count of a built network (design section 1).

    HRSNN: Erdos-Renyi with ``density`` over the ``N (N - 1)`` ordered pairs; CHRSNN:
    :func:`chrsnn`'s default intra- (0.2) and inter-cluster (0.01)
    probabilities over equal clusters, so a run's memory can be checked before building.
    """
    pairs = float(neurons) * max(neurons - 1, 0)
    if model == "hrsnn":
        return int(math.ceil(density * pairs))
    if model == "chrsnn":
        intra, inter = CHRSNN_INTRA_DENSITY, CHRSNN_INTER_DENSITY
        k = max(min(clusters, neurons), 1)
        return int(math.ceil(pairs * (intra / k + inter * (1 - 1 / k))))
    raise ValueError(f"model must be 'hrsnn' or 'chrsnn', got {model!r}")
