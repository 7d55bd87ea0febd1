"""Lyapunov Noise Pruning, the whole iteration (Chakraborty et al., ICLR 2024, Sec. 3.1,
Algorithm 1; design section 3).

One LNP iteration runs, in the order given by ``steps`` (default the paper's I-IV), each
step a function ``(network, ...) -> (network, info)``::

    "noise"       step I   synapse noise pruning with the Lyapunov matrix
                           noise_prune_network -> NoisePruneInfo (noise.py)
    "nodes"       step II  masking the neurons of lowest betweenness
                           betweenness_prune -> BetweennessPruneInfo (betweenness.py)
    "delocalize"  step III adding synapses inside 2-hop neighbourhoods
                           delocalize_network -> DelocalizeInfo (delocalize.py)
    "timescales"  step IV  Bayesian optimisation of the tau_mem distributions
                           optimize_timescales -> TimescaleResult (timescales.py)

Any step may be dropped or reordered, so the ablation points of the paper's Suppl. B.5
(A: start, B: after I, C: after II, D: after III, E: after IV; D' = I, III, IV; E'' = I, IV)
are ``steps=()``, ``("noise",)``, ``("noise", "nodes")``, ``("noise", "nodes",
"delocalize")``, the default, ``("noise", "delocalize", "timescales")`` and ``("noise",
"timescales")``. The task is never consulted.

Linearised network of step I (the interpretation this module fixes, design sections 2-3).
With the default ``measure="operating_point"`` the network is linearised at its measured
operating point (:mod:`lnp_neuro.operating_point`): row i of ``W`` is scaled by the
neuron's gain ``kappa_i / (du_i v_th,i)``, giving the effective coupling ``M``, and the
continuous-time network is ``dr/dt = D (M - I) r`` with ``D = diag(1/tau_mem)``: leak ``D``
and coupling ``W_lin = D M``. With ``measure="rate_surrogate"`` the row scale is
``rate_gain`` (the autonomous tanh surrogate's slope-1 gain, ``G = diag(rate_gain) W``).
Noise pruning acts on ``W_lin``; a row scale does not change which synapses exist, so a
kept synapse of ``W`` gets the same keep probability ``p`` and is then rescaled (``rescale``:
by default to the input power each neuron had before). The paper linearises "around
criticality": an unstable linearisation has no stationary covariance, so when the
spectral abscissa ``alpha`` of ``D (M - I)`` is not below ``-margin`` (``margin =
stability_margin * median(D)``) the leak is shifted uniformly by ``alpha + margin`` for the
covariance, placing the linear system just on the stable side of criticality. The shift
and the instability are recorded in the history (``linear_abscissa``, ``leak_shift``),
never hidden.

The Lyapunov matrix uses the per-neuron exponents of the same measurement (design section
2). The measurement at the end of an iteration (for its ``lambda_max``) is reused by the
next iteration's step I, since the network is the same; every measurement uses the same
drives.

Masks and indices: pruned neurons are masked (``neuron_active = False``), indices never
change. Synapses removed by step I disappear from ``weights``; stored synapses of
already-masked neurons are left as they are (inactive under the AND mask), so "before"
figures stay computable.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from ..network import SpikingNetwork
from .betweenness import betweenness_prune
from .covariance import spectral_abscissa
from .delocalize import DelocalizeInfo, dale_weight_sampler, delocalize
from .lyapunov_matrix import lyapunov_matrix as _lyapunov_matrix
from .noise import NoisePruneInfo, noise_prune
from ..validation import check_fraction

__all__ = ["lnp", "noise_prune_network", "delocalize_network", "STEPS"]

STEPS = ("noise", "nodes", "delocalize", "timescales")


def _child_seed(seq: np.random.SeedSequence) -> int:
    return int(seq.generate_state(1, dtype=np.uint64)[0])


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
    abscissa = spectral_abscissa(w_lin, leak, seed=0)
    margin = margin_frac * float(np.median(leak))
    shift = max(0.0, abscissa + margin)
    lam = None
    if neuron_exponents is not None:
        exps = np.asarray(neuron_exponents, dtype=np.float64)
        if exps.shape != (active.size,):
            raise ValueError(f"neuron_exponents must have one value per active neuron "
                             f"({active.size},), got {exps.shape}")
        lam = _lyapunov_matrix(w_act, exps, net.dt)
    _, info = noise_prune(w_lin, leak + shift, rho=rho, n_keep=n_keep, sigma=sigma,
                          lyapunov_matrix=lam, seed=seed, covariance=covariance,
                          **(covariance_options or {}))
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
    order = np.lexsort((cols_full, rows_full))
    weights = sp.csr_matrix((data_full[order], (rows_full[order], cols_full[order])),
                            shape=net.weights.shape)
    weights.sort_indices()
    out = net.copy(weights=weights, synapse_active=active_full[order])
    return out, replace(info, linear_abscissa=float(abscissa), leak_shift=float(shift))


RESCALES = ("unbiased", "variance", "none")


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


def _mean_ipr(net: SpikingNetwork, ipr_k: int | None, seed: int) -> float:
    from .delocalize import mean_ipr
    n = net.n_active_neurons
    if net.n_active_synapses == 0 or n < 4:
        return float("nan")
    k = None if ipr_k is None else min(int(ipr_k), n - 2)
    return float(mean_ipr(net.effective_weights(), k, neuron_active=net.neuron_active, seed=seed))


MEASURES = ("operating_point", "rate_surrogate")


class _Stability:
    """What one stability measurement of the current network gives the pipeline."""

    def __init__(self, lambda_max, stderr, neuron_exponents, active, row_gain,
                 silent_rows=0):
        self.lambda_max = float(lambda_max)
        self.stderr = float(stderr)
        self.neuron_exponents = neuron_exponents
        self.active = active
        # Row scale of W in the linearised network of step I (coupling per unit rate).
        self.row_gain = row_gain
        # Neurons that did not respond on the probe drive (floored gain).
        self.silent_rows = int(silent_rows)


#: Leading exponents the history measures at the operating point (and step IV with it).
_HISTORY_K = 8


def _spectrum(net: SpikingNetwork, options: dict, seed: int, measure: str,
              memo=None) -> _Stability:
    if measure == "rate_surrogate":
        from ..lyapunov import network_spectrum
        opts = dict(n_steps=200, k=8, progress=False)
        opts.update(options)
        opts["k"] = min(int(opts["k"]), net.n_active_neurons)
        spec = network_spectrum(net, seed=seed, **opts)
        return _Stability(spec.lambda_max, float("nan"), spec.neuron_exponents, spec.active,
                          net.rate_gain[spec.active])
    from ..operating_point import operating_lambda_max
    opts = dict(n_drives=2, n_steps=1000, k=_HISTORY_K)
    opts.update(options)
    opts["k"] = min(int(opts["k"]), net.n_active_neurons)
    est = operating_lambda_max(net, seed=seed, memo=memo, **opts)
    first = est.spectra[0]
    gains = est.operating_points[0].gains.copy()
    # A neuron that does not respond on the probe drive (silent, or saturated at one spike
    # per step) has gain 0: its inputs do not move the network, so step I removes them
    # first. A gain of exactly 0 would make them unsampleable, and a network with few
    # responsive neurons could then not keep the synapse count asked for, so they get
    # 1e-3 of the smallest measured gain (the surrogate's gain when none responds at all).
    silent = gains <= 0
    if silent.all():
        row_gain = net.rate_gain[first.active]
    else:
        gains[silent] = 1e-3 * gains[~silent].min()
        row_gain = gains / (net.du[first.active] * net.v_threshold[first.active])
    return _Stability(est.mean, est.stderr, first.neuron_exponents, first.active, row_gain,
                      silent_rows=silent.sum())


def _step_iv_objective(measure: str, seed: int, spectrum_options: dict, memo=None):
    """Step IV's objective on the same measure and drives as the history (sharing the
    history's operating points through ``memo``)."""
    from .timescales import LyapunovObjective
    opts = {k: v for k, v in spectrum_options.items()
            if k in ("n_drives", "n_steps", "n_transient")}
    if measure == "rate_surrogate":
        opts = {"n_steps": 100, "n_transient": 100, "n_drives": 1, **opts}
    else:
        # As many exponents as the history's measurement (_spectrum), so that the network
        # step IV hands over is measured once: the closing measurement finds its spectra
        # in ``memo``.
        opts["k"] = int(spectrum_options.get("k", _HISTORY_K))
    return LyapunovObjective(measure=measure, seed=int(seed), memo=memo, **opts)


def lnp(net: SpikingNetwork, n_iter: int = 10, seed: int | None = 0, *,
        synapse_keep: float | Sequence[float] = 0.9, target_density: float | None = None,
        rho: float | Sequence[float] | None = None, node_quantile: float = 0.02,
        delocalize_fraction: float = 0.1, bo_budget: int = 4,
        steps: Sequence[str] = STEPS, use_lyapunov_matrix: bool = True,
        stability_margin: float = 0.1, covariance: str = "auto",
        covariance_options: dict | None = None, spectrum_options: dict | None = None,
        betweenness_options: dict | None = None, timescale_options: dict | None = None,
        ipr_k: int | None = 20, min_neurons: int = 10, progress: bool = True,
        rescale: str = "variance", measure: str = "operating_point"
        ) -> tuple[SpikingNetwork, list[dict]]:
    """Run ``n_iter`` LNP iterations on ``net`` (see the module docstring).

    Parameters
    ----------
    net : the starting (dense, random) network; not modified.
    n_iter : number of iterations (paper: 100).
    seed : same seed, same result bit for bit.
    synapse_keep : expected fraction of the active synapses that step I keeps, a number or
        one per iteration. Ignored when ``target_density`` or ``rho`` is given.
    target_density : density (active synapses / active neurons^2) to reach after
        ``n_iter`` iterations; step I keeps the geometric share of the remaining way each
        iteration (nothing is removed once the density is at or below the target).
    rho : the noise-pruning density parameter itself, a number or one per iteration.
    node_quantile : fraction of the active neurons step II masks per iteration.
    delocalize_fraction : step III adds this fraction of the synapses step I removed.
    bo_budget : objective evaluations of step IV per iteration.
    steps : the steps of one iteration, in order (any subset of STEPS).
    use_lyapunov_matrix : False gives plain Moore-Chaudhuri noise pruning in step I.
    stability_margin, covariance, covariance_options : step I linearisation/covariance.
    spectrum_options : options of the stability measure: for ``"operating_point"``
        :func:`lnp_neuro.operating_point.operating_lambda_max` (default ``n_drives=2,
        n_steps=1000, k=8``), for ``"rate_surrogate"`` ``network_spectrum`` (default
        ``n_steps=200, k=8``).
    betweenness_options : passed to ``betweenness_prune`` (``exact``, ``n_pivots``).
    timescale_options : passed to ``optimize_timescales``.
    ipr_k : eigenvectors for the mean IPR of the history (None: all, dense).
    min_neurons : step II never leaves fewer active neurons.
    progress : tqdm bar over iterations.
    rescale : how step I rescales a kept weight: ``"variance"`` (default; ``w/p``, then each
        neuron's excitatory and inhibitory inputs scaled so that their sums of squared
        weights equal those before pruning), ``"unbiased"`` (``w/p``, the paper's and
        Moore & Chaudhuri's rule) or ``"none"`` (kept as they are). docs/design.md gives
        the measurement behind the default.
    measure : stability measure used for the history, the Lyapunov matrix, step I's
        linearisation and step IV: ``"operating_point"`` (default; the linear rate dynamics
        at the spiking network's measured rates and gains, :mod:`lnp_neuro.operating_point`)
        or ``"rate_surrogate"`` (the autonomous tanh surrogate of ``network_spectrum``).

    Returns
    -------
    pruned : the pruned network, ``metadata["lnp"]`` holding a history summary.
    history : list of dicts, ``history[0]`` the starting network (iteration 0), then one per
        iteration: iteration, neurons, synapses, lambda_max and lambda_max_stderr (the
        measure, on the same drives every time), mean_ipr, seconds, step_seconds,
        synapses_removed, synapses_added, neurons_removed, and step details (``noise``:
        :meth:`NoisePruneInfo.to_dict` plus silent_neurons; ``timescales``: accepted,
        current_value, best_value, best_params, lambda_before, lambda_after).
    """
    if not isinstance(net, SpikingNetwork):
        raise ValueError(f"net must be a SpikingNetwork, got {type(net).__name__}")
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 0:
        raise ValueError(f"n_iter must be a non-negative integer, got {n_iter!r}")
    steps = tuple(steps)
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise ValueError(f"steps must be taken from {STEPS}, got unknown {unknown}")
    if rescale not in RESCALES:
        raise ValueError(f"rescale must be one of {RESCALES}, got {rescale!r}")
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")

    def schedule(value, name, check):
        if value is None:
            return None
        if np.ndim(value) == 0:
            return [check(value, name)] * n_iter
        vals = list(value)
        if len(vals) != n_iter:
            raise ValueError(f"{name} must be a number or one value per iteration ({n_iter}), "
                             f"got {len(vals)}")
        return [check(v, name) for v in vals]

    def positive(v, name):
        v = float(v)
        if not (np.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a positive number, got {v}")
        return v

    keep_sched = schedule(synapse_keep, "synapse_keep",
                          lambda v, n: check_fraction(v, n, allow_zero=False, allow_one=True))
    rho_sched = schedule(rho, "rho", positive)
    if target_density is not None:
        target_density = check_fraction(target_density, "target_density", allow_zero=False,
                                         allow_one=True)
    node_quantile = check_fraction(node_quantile, "node_quantile")
    delocalize_fraction = float(delocalize_fraction)
    if not (np.isfinite(delocalize_fraction) and delocalize_fraction >= 0):
        raise ValueError(f"delocalize_fraction must be >= 0, got {delocalize_fraction}")
    if isinstance(bo_budget, bool) or not isinstance(bo_budget, (int, np.integer)) or bo_budget < 1:
        raise ValueError(f"bo_budget must be a positive integer, got {bo_budget!r}")
    if ipr_k is not None and (isinstance(ipr_k, bool) or not isinstance(ipr_k, (int, np.integer))
                              or ipr_k < 1):
        raise ValueError(f"ipr_k must be a positive integer or None, got {ipr_k!r}")
    spectrum_options = dict(spectrum_options or {})
    betweenness_options = dict(betweenness_options or {})
    timescale_options = dict(timescale_options or {})

    root = np.random.SeedSequence(seed)
    iter_seqs = root.spawn(n_iter + 1)
    start_seqs = iter_seqs[0].spawn(2)
    current = net.copy()
    start_weights = net.effective_weights() if "delocalize" in steps else None
    t0 = time.perf_counter()
    # Every measurement uses the same seed: with the operating-point measure, the same
    # drives (common random numbers), so the history's changes are not drive noise.
    measure_seed = _child_seed(start_seqs[0])
    # Step IV measures the network it hands over on the history's drives, and the
    # closing measurement measures it again: the operating points are computed once
    # (a deterministic function of the network and the drive, recognised by content).
    from ..operating_point import OperatingPointMemo
    memo = OperatingPointMemo()
    spectrum = _spectrum(current, spectrum_options, measure_seed, measure, memo)
    history = [{
        "iteration": 0, "neurons": current.n_active_neurons,
        "synapses": current.n_active_synapses,
        "lambda_max": spectrum.lambda_max, "lambda_max_stderr": spectrum.stderr,
        "mean_ipr": _mean_ipr(current, ipr_k, _child_seed(start_seqs[1])),
        "seconds": time.perf_counter() - t0, "step_seconds": {},
        "synapses_removed": 0, "synapses_added": 0, "neurons_removed": 0,
    }]
    from tqdm.auto import tqdm
    bar = tqdm(range(1, n_iter + 1), desc="LNP", disable=not progress)
    for it in bar:
        seqs = iter_seqs[it].spawn(6)
        t_iter = time.perf_counter()
        entry = {"iteration": it, "step_seconds": {}, "synapses_removed": 0,
                 "synapses_added": 0, "neurons_removed": 0}
        spectrum_current = True
        for step in steps:
            t_step = time.perf_counter()
            if step == "noise":
                before = current.n_active_synapses
                n_keep = None
                r = None
                if rho_sched is not None:
                    r = rho_sched[it - 1]
                elif target_density is not None:
                    n_act = current.n_active_neurons
                    goal = target_density * n_act ** 2
                    remaining = n_iter - it + 1
                    n_keep = before * min(1.0, (goal / before) ** (1.0 / remaining)) if before else 0
                else:
                    n_keep = keep_sched[it - 1] * before
                if not spectrum_current:
                    # The network changed since the last measurement (reordered steps).
                    spectrum = _spectrum(current, spectrum_options, measure_seed, measure, memo)
                exps = spectrum.neuron_exponents if use_lyapunov_matrix else None
                current, info = noise_prune_network(
                    current, n_keep, rho=r, neuron_exponents=exps,
                    stability_margin=stability_margin, covariance=covariance,
                    seed=_child_seed(seqs[0]), covariance_options=covariance_options,
                    rescale=rescale, row_gain=spectrum.row_gain)
                entry["noise"] = info.to_dict()
                if not info.skipped:
                    # Neurons that did not respond on the drive whose gains step I used.
                    entry["noise"]["silent_neurons"] = spectrum.silent_rows
                entry["synapses_removed"] += before - current.n_active_synapses
            elif step == "nodes":
                before_s = current.n_active_synapses
                current, info = betweenness_prune(current, node_quantile,
                                                  seed=_child_seed(seqs[1]),
                                                  min_neurons=min_neurons, **betweenness_options)
                entry["neurons_removed"] += info.n_removed
                entry["synapses_removed"] += before_s - current.n_active_synapses
            elif step == "delocalize":
                n_new = int(round(delocalize_fraction * entry["synapses_removed"]))
                current, info = delocalize_network(current, n_new, seed=_child_seed(seqs[2]),
                                                   fallback_weights=start_weights,
                                                   keep_input_power=rescale == "variance")
                entry["synapses_added"] += info.n_added
            elif step == "timescales":
                from .timescales import optimize_timescales
                opts = dict(timescale_options)
                opts.setdefault("objective", _step_iv_objective(measure, measure_seed,
                                                                spectrum_options, memo))
                current, result = optimize_timescales(current, budget=int(bo_budget),
                                                      seed=_child_seed(seqs[3]), progress=False,
                                                      **opts)
                entry["timescales"] = {
                    "best_value": float(result.best_value), "accepted": result.accepted,
                    "current_value": float(result.current_value),
                    "best_params": np.asarray(result.best_params).tolist(),
                    "lambda_before": result.lambda_before, "lambda_after": result.lambda_after}
            entry["step_seconds"][step] = time.perf_counter() - t_step
            spectrum_current = False
        t_step = time.perf_counter()
        spectrum = _spectrum(current, spectrum_options, measure_seed, measure, memo)
        entry["lambda_max"] = spectrum.lambda_max
        entry["lambda_max_stderr"] = spectrum.stderr
        entry["mean_ipr"] = _mean_ipr(current, ipr_k, _child_seed(seqs[5]))
        entry["step_seconds"]["measure"] = time.perf_counter() - t_step
        entry["neurons"] = current.n_active_neurons
        entry["synapses"] = current.n_active_synapses
        entry["seconds"] = time.perf_counter() - t_iter
        history.append(entry)
        bar.set_postfix(neurons=entry["neurons"], synapses=entry["synapses"],
                        lambda_max=f"{entry['lambda_max']:.3g}")
    bar.close()
    metadata = json.loads(json.dumps(current.metadata))
    metadata["lnp"] = {
        "n_iter": int(n_iter), "seed": seed, "steps": list(steps),
        "use_lyapunov_matrix": bool(use_lyapunov_matrix),
        "synapse_keep": None if keep_sched is None else keep_sched[:1],
        "target_density": target_density, "node_quantile": node_quantile,
        "delocalize_fraction": delocalize_fraction, "bo_budget": int(bo_budget),
        "neurons": [h["neurons"] for h in history],
        "synapses": [h["synapses"] for h in history],
        "lambda_max": [float(h["lambda_max"]) for h in history],
        "mean_ipr": [None if not np.isfinite(h["mean_ipr"]) else float(h["mean_ipr"])
                     for h in history],
        "seconds": [float(h["seconds"]) for h in history],
    }
    return current.copy(metadata=metadata), history


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
    order = np.lexsort((cols, rows))
    weights = sp.csr_matrix((data[order], (rows[order], cols[order])), shape=net.weights.shape)
    weights.sort_indices()
    if weights.nnz != order.size:
        raise RuntimeError("delocalize returned a synapse that duplicates a masked one")
    return net.copy(weights=weights, synapse_active=flags[order])
