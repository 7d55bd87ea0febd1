"""LNP steps I and III on a :class:`~lnp_neuro.model.network.SpikingNetwork` (Chakraborty et
al., ICLR 2024, Sec. 3.1): the matrix-level :func:`~lnp_neuro.prune.noise.noise_prune`
and :func:`~lnp_neuro.prune.delocalize.delocalize` applied to the active part of a network,
with masks and stored synapses of masked neurons kept.

Kept apart from :mod:`lnp_neuro.prune.pipeline`, which sequences the steps: this module
changes when a step's effect on the network changes (linearisation, rescaling of kept
weights, input power of the new synapses), the pipeline when the iteration's order or its
history changes. The linearisation is described in the pipeline's module docstring.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from .._util.parallel import beside, one_thread
from ..model.network import SpikingNetwork
from .covariance import spectral_abscissa
from .delocalize import DelocalizeInfo, dale_weight_sampler, delocalize
from .lyapunov_matrix import lyapunov_matrix as _lyapunov_matrix
from .noise import NoisePruneInfo, _seed_rng, noise_prune, pruning_covariance

__all__ = ["noise_prune_network", "delocalize_network", "input_power_factors", "RESCALES"]


def _active_weights(net: SpikingNetwork) -> tuple[np.ndarray, sp.csr_matrix]:
    active = np.flatnonzero(net.neuron_active)
    sub = sp.csr_matrix(net.effective_weights()[active][:, active])
    sub.sort_indices()
    return active, sub


def noise_prune_network(net: SpikingNetwork, n_keep: float | None = None, *,
                        rho: float | None = None, neuron_exponents=None,
                        stability_margin: float = 0.1, covariance: str = "auto",
                        sigma: float = 1.0, seed=None, covariance_options: dict | None = None,
                        rescale: str = "variance", row_gain=None
                        ) -> tuple[SpikingNetwork, NoisePruneInfo]:
    """LNP step I on a :class:`SpikingNetwork` (linearisation in the module docstring).

    ``n_keep``: expected number of active synapses kept (or give ``rho``); when the
    network has at most ``n_keep`` active synapses nothing is sampled and it is returned
    unchanged.
    ``neuron_exponents``: per-neuron Lyapunov exponents (1/s) of the *active* neurons in
    index order, or None for the plain Moore-Chaudhuri rule (Lambda = 1).
    ``rescale``: how kept weights are rescaled (``RESCALES``, see :func:`lnp`).
    ``row_gain``: per active neuron, the coupling per unit presynaptic rate of row i of
    ``W`` in the linearised network (default ``net.rate_gain``, the autonomous rate
    surrogate's; :func:`lnp` passes the operating point's ``kappa / (du v_th)``).

    Returns the pruned network (new weights, synapse_active reset) and a
    :class:`NoisePruneInfo` over its active synapses, with ``linear_abscissa`` and
    ``leak_shift`` of the linearisation.
    """
    if rescale not in RESCALES:
        raise ValueError(f"rescale must be one of {RESCALES}, got {rescale!r}")
    if not isinstance(net, SpikingNetwork):
        raise ValueError(f"net must be a SpikingNetwork, got {type(net).__name__}")
    margin_frac = float(stability_margin)
    if not (np.isfinite(margin_frac) and margin_frac > 0):
        raise ValueError(f"stability_margin must be a positive number, got {stability_margin}")
    active, w_act = _active_weights(net)
    if w_act.nnz == 0 or (n_keep is not None and n_keep >= w_act.nnz):
        return net.copy(), NoisePruneInfo.nothing_sampled(w_act.nnz)
    leak = 1.0 / net.tau_mem[active]
    rows = np.repeat(np.arange(active.size), np.diff(w_act.indptr))
    # The surrogate's coupling is G = diag(rate_gain) W (SpikingNetwork.rate_coupling);
    # its continuous-time linearisation couples with D G.
    if row_gain is None:
        row_gain = net.rate_gain[active]
    row_gain = np.asarray(row_gain, dtype=np.float64)
    if row_gain.shape != (active.size,) or not np.all(np.isfinite(row_gain)):
        raise ValueError(f"row_gain must hold one finite value per active neuron "
                         f"({active.size},), got shape {row_gain.shape}")
    row_scale = leak * row_gain
    w_lin = w_act.copy()
    w_lin.data = w_lin.data * row_scale[rows]
    exps = None
    if neuron_exponents is not None:
        exps = np.asarray(neuron_exponents, dtype=np.float64)
        if exps.shape != (active.size,):
            raise ValueError(f"neuron_exponents must have one value per active neuron "
                             f"({active.size},), got {exps.shape}")
    rng = _seed_rng(seed)
    with beside("lnp-lyapunov-matrix") as pool:
        # The Lyapunov matrix needs neither the abscissa nor the covariance: it is
        # computed on a thread of its own while they are.
        lam = None if exps is None else pool.submit(one_thread, _lyapunov_matrix, w_act,
                                                    exps, net.dt)
        abscissa = spectral_abscissa(w_lin, leak, seed=0)
        margin = margin_frac * float(np.median(leak))
        shift = max(0.0, abscissa + margin)
        cov = pruning_covariance(w_lin, leak + shift, sigma, covariance, rng,
                                 **(covariance_options or {}))
        lam = None if lam is None else lam.result()
    _, info = noise_prune(w_lin, leak + shift, rho=rho, n_keep=n_keep, sigma=sigma,
                          lyapunov_matrix=lam, seed=rng, covariance=cov)
    kept = info.kept
    # Undo the row scale: kept w_ij / p_ij.
    new_data = w_act.data[kept] / info.keep_probability[kept]
    new_data = _rescale_kept(w_act.data, rows, kept, new_data, rescale)
    post_act = active[rows[kept]]
    pre_act = active[w_act.indices[kept]]
    # Stored synapses touching an already-masked neuron stay as they are.
    pre_all, post_all = net.synapse_pre_post()
    inactive_edge = ~(net.neuron_active[pre_all] & net.neuron_active[post_all])
    rows_full = np.concatenate([post_act, post_all[inactive_edge]])
    cols_full = np.concatenate([pre_act, pre_all[inactive_edge]])
    data_full = np.concatenate([new_data, net.weights.data[inactive_edge]])
    active_full = np.concatenate([np.ones(new_data.size, bool),
                                  net.synapse_active[inactive_edge]])
    order = _row_major_order(rows_full, cols_full, net.weights.shape[1])
    weights = sp.csr_matrix((data_full[order], (rows_full[order], cols_full[order])),
                            shape=net.weights.shape)
    weights.sort_indices()
    out = net.copy(weights=weights, synapse_active=active_full[order])
    return out, replace(info, linear_abscissa=float(abscissa), leak_shift=float(shift))


RESCALES = ("unbiased", "variance", "none")


def _row_major_order(rows: np.ndarray, cols: np.ndarray, n_cols: int) -> np.ndarray:
    """``np.lexsort((cols, rows))``: by row, then column, equal pairs in their order. One
    stable sort of the combined key gives the same permutation in a fraction of the time."""
    return np.argsort(rows.astype(np.int64) * int(n_cols) + cols, kind="stable")


def _rescale_kept(old: np.ndarray, rows: np.ndarray, kept: np.ndarray, new: np.ndarray,
                  rescale: str) -> np.ndarray:
    """Weights of the kept synapses under the chosen rescaling rule (see ``lnp``)."""
    if rescale == "unbiased":
        return new
    if rescale == "none":
        return old[kept]
    return new * input_power_factors(old, rows, new, rows[kept])


def input_power_factors(reference: np.ndarray, reference_rows: np.ndarray,
                        weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per-synapse factors that give ``weights`` the input power of ``reference``.

    For every postsynaptic neuron (``rows``) and presynaptic sign, the factor makes the
    sum of squared weights equal to that of ``reference`` (synapses ``reference_rows``),
    so each neuron keeps the variance of its excitatory and of its inhibitory input. A
    neuron/sign with no synapse left, or none before, keeps factor 1.
    """
    n_rows = int(max(reference_rows.max(initial=-1), rows.max(initial=-1))) + 1
    factor = np.ones(weights.size)
    for positive in (True, False):
        ref = (reference > 0) if positive else (reference < 0)
        cur = (weights > 0) if positive else (weights < 0)
        before = np.bincount(reference_rows[ref], reference[ref] ** 2, minlength=n_rows)
        after = np.bincount(rows[cur], weights[cur] ** 2, minlength=n_rows)
        scale = np.ones(n_rows)
        ok = (after > 0) & (before > 0)
        scale[ok] = np.sqrt(before[ok] / after[ok])
        factor[cur] = scale[rows[cur]]
    return factor


def delocalize_network(net: SpikingNetwork, n_new: int, *, seed=None, fallback_weights=None,
                       keep_input_power: bool = True, allow_fewer: bool = True,
                       **delocalize_options) -> tuple[SpikingNetwork, DelocalizeInfo]:
    """LNP step III on a :class:`SpikingNetwork`: add ``n_new`` synapses between active
    neurons with :func:`lnp_neuro.prune.delocalize.delocalize`.

    The new weights are drawn from the current active weights of the presynaptic sign
    (Dale's law, :func:`~lnp_neuro.prune.delocalize.dale_weight_sampler`); a sign pruning
    has emptied is drawn from ``fallback_weights`` (:func:`lnp` passes its starting
    network's, docs/design.md: "original"). ``keep_input_power``: each neuron's
    excitatory and inhibitory input is then scaled back to the input power it had before,
    so the new synapses change the wiring, not the drive. ``allow_fewer``: late in a long
    run the 2-hop neighbourhoods can be full, and the step adds what fits instead of
    raising. ``delocalize_options`` go to ``delocalize`` (``pool_size``, ``batch_size``,
    ...). Stored synapses touching masked neurons are kept as they are.

    Returns the new network and a :class:`~lnp_neuro.prune.delocalize.DelocalizeInfo`
    (``added`` in full-index ``(pre, post)`` rows).
    """
    if not isinstance(net, SpikingNetwork):
        raise ValueError(f"net must be a SpikingNetwork, got {type(net).__name__}")
    eff = net.effective_weights()
    # No sampler when nothing is added: it needs a stored weight of each sign to draw from.
    sampler = None if n_new == 0 else dale_weight_sampler(
        eff, net.neuron_active, net.excitatory, fallback_weights=fallback_weights)
    new_w, info = delocalize(eff, n_new, seed=seed, neuron_active=net.neuron_active,
                             weight_sampler=sampler, allow_fewer=allow_fewer,
                             **delocalize_options)
    if info.n_added == 0:
        return net.copy(), info
    if keep_input_power:
        new_w = _with_input_power_of(eff, new_w)
    return _replace_active_weights(net, new_w), info


def _with_input_power_of(reference: sp.csr_matrix, weights: sp.csr_matrix) -> sp.csr_matrix:
    """``weights`` rescaled row- and sign-wise to the input power of ``reference``."""
    ref_rows = np.repeat(np.arange(reference.shape[0]), np.diff(reference.indptr))
    rows = np.repeat(np.arange(weights.shape[0]), np.diff(weights.indptr))
    out = weights.copy()
    out.data = out.data * input_power_factors(reference.data, ref_rows, weights.data, rows)
    return out


def _replace_active_weights(net: SpikingNetwork, new_effective: sp.csr_matrix) -> SpikingNetwork:
    """Weights = ``new_effective`` (active part) + stored synapses touching masked neurons."""
    pre_all, post_all = net.synapse_pre_post()
    inactive_edge = ~(net.neuron_active[pre_all] & net.neuron_active[post_all]
                      & net.synapse_active)
    coo = sp.csr_matrix(new_effective).tocoo()
    rows = np.concatenate([coo.row.astype(np.int64), post_all[inactive_edge]])
    cols = np.concatenate([coo.col.astype(np.int64), pre_all[inactive_edge]])
    data = np.concatenate([coo.data, net.weights.data[inactive_edge]])
    flags = np.concatenate([np.ones(coo.nnz, bool), net.synapse_active[inactive_edge]])
    order = _row_major_order(rows, cols, net.weights.shape[1])
    weights = sp.csr_matrix((data[order], (rows[order], cols[order])), shape=net.weights.shape)
    weights.sort_indices()
    if weights.nnz != order.size:
        raise RuntimeError("delocalize returned a synapse that duplicates a masked one")
    return net.copy(weights=weights, synapse_active=flags[order])
