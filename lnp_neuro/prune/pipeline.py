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
operating point (:mod:`lnp_neuro.dynamics.operating_point`): row i of ``W`` is scaled by the
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
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from .._util.parallel import beside, one_thread
from .._util.validation import check_fraction
from ..dynamics.lyapunov import network_spectrum
from ..dynamics.operating_point import OperatingPointMemo, operating_lambda_max
from ..model.network import SpikingNetwork
from .betweenness import betweenness_prune
from .delocalize import mean_ipr
# Steps I and III on a network; re-exported, callers import them from here.
from .network_steps import (RESCALES, delocalize_network, input_power_factors,
                            noise_prune_network)
from .timescales import LyapunovObjective, optimize_timescales

__all__ = ["lnp", "noise_prune_network", "delocalize_network", "STEPS"]

STEPS = ("noise", "nodes", "delocalize", "timescales")


def _child_seed(seq: np.random.SeedSequence) -> int:
    """One 64-bit seed drawn from ``seq``."""
    return int(seq.generate_state(1, dtype=np.uint64)[0])


def _mean_ipr(net: SpikingNetwork, ipr_k: int | None, seed: int) -> float:
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
        opts = dict(n_steps=200, k=8, progress=False)
        opts.update(options)
        opts["k"] = min(int(opts["k"]), net.n_active_neurons)
        spec = network_spectrum(net, seed=seed, **opts)
        return _Stability(spec.lambda_max, float("nan"), spec.neuron_exponents, spec.active,
                          net.rate_gain[spec.active])
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


@dataclass
class _LnpSettings:
    """The validated arguments of :func:`lnp` that the iteration's steps read."""
    n_iter: int
    steps: tuple
    keep_sched: list | None
    rho_sched: list | None
    target_density: float | None
    node_quantile: float
    delocalize_fraction: float
    bo_budget: int
    use_lyapunov_matrix: bool
    stability_margin: float
    covariance: str
    covariance_options: dict | None
    spectrum_options: dict
    betweenness_options: dict
    timescale_options: dict
    ipr_k: int | None
    min_neurons: int
    rescale: str
    measure: str


@dataclass
class _LnpState:
    """The network being pruned and the measurement the next step I may reuse."""
    current: SpikingNetwork
    spectrum: object
    measure_seed: int
    memo: object
    start_weights: sp.csr_matrix | None
    spectrum_current: bool = True


def _schedule(value, name, check, n_iter):
    """``value`` as one checked value per iteration (a number repeated, or a sequence)."""
    if value is None:
        return None
    if np.ndim(value) == 0:
        return [check(value, name)] * n_iter
    vals = list(value)
    if len(vals) != n_iter:
        raise ValueError(f"{name} must be a number or one value per iteration ({n_iter}), "
                         f"got {len(vals)}")
    return [check(v, name) for v in vals]


def _positive(v, name):
    """``v`` as a float, raising unless it is finite and > 0."""
    v = float(v)
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a positive number, got {v}")
    return v


def _check_lnp_arguments(net, n_iter, *, synapse_keep, target_density, rho, node_quantile,
                         delocalize_fraction, bo_budget, steps, use_lyapunov_matrix,
                         stability_margin, covariance, covariance_options, spectrum_options,
                         betweenness_options, timescale_options, ipr_k, min_neurons,
                         rescale, measure) -> _LnpSettings:
    """Validate the arguments of :func:`lnp` and expand the per-iteration schedules."""
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
    keep_sched = _schedule(synapse_keep, "synapse_keep",
                           lambda v, n: check_fraction(v, n, allow_zero=False, allow_one=True),
                           n_iter)
    rho_sched = _schedule(rho, "rho", _positive, n_iter)
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
    return _LnpSettings(
        n_iter=n_iter, steps=steps, keep_sched=keep_sched, rho_sched=rho_sched,
        target_density=target_density, node_quantile=node_quantile,
        delocalize_fraction=delocalize_fraction, bo_budget=bo_budget,
        use_lyapunov_matrix=use_lyapunov_matrix, stability_margin=stability_margin,
        covariance=covariance, covariance_options=covariance_options,
        spectrum_options=dict(spectrum_options or {}),
        betweenness_options=dict(betweenness_options or {}),
        timescale_options=dict(timescale_options or {}),
        ipr_k=ipr_k, min_neurons=min_neurons, rescale=rescale, measure=measure)


def _ipr_beside(pool, net: SpikingNetwork, cfg: _LnpSettings, seed: int):
    """The history's mean IPR of ``net`` (:func:`_mean_ipr`), a future on ``pool``: only
    the history reads it, so it is computed on one thread while the next steps run."""
    return pool.submit(one_thread, _mean_ipr, net, cfg.ipr_k, seed)


def _measure_start(net, cfg: _LnpSettings, start_seqs, pool) -> tuple[_LnpState, dict]:
    """Measure the starting network: the state the iterations begin from and history[0]
    (its ``mean_ipr`` a future on ``pool``)."""
    current = net.copy()
    start_weights = net.effective_weights() if "delocalize" in cfg.steps else None
    t0 = time.perf_counter()
    # Every measurement uses the same seed: with the operating-point measure, the same
    # drives (common random numbers), so the history's changes are not drive noise.
    measure_seed = _child_seed(start_seqs[0])
    # Step IV measures the network it hands over on the history's drives, and the
    # closing measurement measures it again: the operating points are computed once
    # (a deterministic function of the network and the drive, recognised by content).
    memo = OperatingPointMemo()
    spectrum = _spectrum(current, cfg.spectrum_options, measure_seed, cfg.measure, memo)
    entry = {
        "iteration": 0, "neurons": current.n_active_neurons,
        "synapses": current.n_active_synapses,
        "lambda_max": spectrum.lambda_max, "lambda_max_stderr": spectrum.stderr,
        "mean_ipr": _ipr_beside(pool, current, cfg, _child_seed(start_seqs[1])),
        "seconds": time.perf_counter() - t0, "step_seconds": {},
        "synapses_removed": 0, "synapses_added": 0, "neurons_removed": 0,
    }
    state = _LnpState(current=current, spectrum=spectrum, measure_seed=measure_seed,
                      memo=memo, start_weights=start_weights)
    return state, entry


def _noise_step(state: _LnpState, cfg: _LnpSettings, it: int, entry: dict, seq) -> None:
    """Step I: noise pruning of synapses, keeping the scheduled share (or ``rho``)."""
    current = state.current
    before = current.n_active_synapses
    n_keep = None
    r = None
    if cfg.rho_sched is not None:
        r = cfg.rho_sched[it - 1]
    elif cfg.target_density is not None:
        n_act = current.n_active_neurons
        goal = cfg.target_density * n_act ** 2
        remaining = cfg.n_iter - it + 1
        n_keep = before * min(1.0, (goal / before) ** (1.0 / remaining)) if before else 0
    else:
        n_keep = cfg.keep_sched[it - 1] * before
    if not state.spectrum_current:
        # The network changed since the last measurement (reordered steps).
        state.spectrum = _spectrum(current, cfg.spectrum_options, state.measure_seed,
                                   cfg.measure, state.memo)
    spectrum = state.spectrum
    exps = spectrum.neuron_exponents if cfg.use_lyapunov_matrix else None
    current, info = noise_prune_network(
        current, n_keep, rho=r, neuron_exponents=exps,
        stability_margin=cfg.stability_margin, covariance=cfg.covariance,
        seed=_child_seed(seq), covariance_options=cfg.covariance_options,
        rescale=cfg.rescale, row_gain=spectrum.row_gain)
    entry["noise"] = info.to_dict()
    if not info.skipped:
        # Neurons that did not respond on the drive whose gains step I used.
        entry["noise"]["silent_neurons"] = spectrum.silent_rows
    entry["synapses_removed"] += before - current.n_active_synapses
    state.current = current


def _nodes_step(state: _LnpState, cfg: _LnpSettings, entry: dict, seq) -> None:
    """Step II: mask the active neurons of lowest betweenness centrality."""
    before_s = state.current.n_active_synapses
    state.current, info = betweenness_prune(state.current, cfg.node_quantile,
                                            seed=_child_seed(seq),
                                            min_neurons=cfg.min_neurons,
                                            **cfg.betweenness_options)
    entry["neurons_removed"] += info.n_removed
    entry["synapses_removed"] += before_s - state.current.n_active_synapses


def _delocalize_step(state: _LnpState, cfg: _LnpSettings, entry: dict, seq) -> None:
    """Step III: add ``delocalize_fraction`` of the removed synapses in 2-hop neighbourhoods."""
    n_new = int(round(cfg.delocalize_fraction * entry["synapses_removed"]))
    state.current, info = delocalize_network(state.current, n_new, seed=_child_seed(seq),
                                             fallback_weights=state.start_weights,
                                             keep_input_power=cfg.rescale == "variance")
    entry["synapses_added"] += info.n_added


def _timescales_step(state: _LnpState, cfg: _LnpSettings, entry: dict, seq) -> None:
    """Step IV: Bayesian optimisation of the tau_mem distributions."""
    opts = dict(cfg.timescale_options)
    opts.setdefault("objective", _step_iv_objective(cfg.measure, state.measure_seed,
                                                    cfg.spectrum_options, state.memo))
    state.current, result = optimize_timescales(state.current, budget=int(cfg.bo_budget),
                                                seed=_child_seed(seq), progress=False,
                                                **opts)
    entry["timescales"] = {
        "best_value": float(result.best_value), "accepted": result.accepted,
        "current_value": float(result.current_value),
        "best_params": np.asarray(result.best_params).tolist(),
        "lambda_before": result.lambda_before, "lambda_after": result.lambda_after}


def _run_steps(state: _LnpState, cfg: _LnpSettings, it: int, entry: dict, seqs) -> None:
    """Run the iteration's steps in the order of ``cfg.steps``, timing each."""
    state.spectrum_current = True
    for step in cfg.steps:
        t_step = time.perf_counter()
        if step == "noise":
            _noise_step(state, cfg, it, entry, seqs[0])
        elif step == "nodes":
            _nodes_step(state, cfg, entry, seqs[1])
        elif step == "delocalize":
            _delocalize_step(state, cfg, entry, seqs[2])
        elif step == "timescales":
            _timescales_step(state, cfg, entry, seqs[3])
        entry["step_seconds"][step] = time.perf_counter() - t_step
        state.spectrum_current = False


def _measure_iteration(state: _LnpState, cfg: _LnpSettings, entry: dict, seq, pool) -> None:
    """Measure lambda_max and the mean IPR (a future on ``pool``) of the network an
    iteration leaves."""
    t_step = time.perf_counter()
    state.spectrum = _spectrum(state.current, cfg.spectrum_options, state.measure_seed,
                               cfg.measure, state.memo)
    entry["lambda_max"] = state.spectrum.lambda_max
    entry["lambda_max_stderr"] = state.spectrum.stderr
    entry["mean_ipr"] = _ipr_beside(pool, state.current, cfg, _child_seed(seq))
    entry["step_seconds"]["measure"] = time.perf_counter() - t_step
    entry["neurons"] = state.current.n_active_neurons
    entry["synapses"] = state.current.n_active_synapses


def _lnp_metadata(current, cfg: _LnpSettings, seed, history) -> dict:
    """The pruned network's metadata with the run's summary under ``"lnp"``."""
    metadata = json.loads(json.dumps(current.metadata))
    metadata["lnp"] = {
        "n_iter": int(cfg.n_iter), "seed": seed, "steps": list(cfg.steps),
        "use_lyapunov_matrix": bool(cfg.use_lyapunov_matrix),
        "synapse_keep": None if cfg.keep_sched is None else cfg.keep_sched[:1],
        "target_density": cfg.target_density, "node_quantile": cfg.node_quantile,
        "delocalize_fraction": cfg.delocalize_fraction, "bo_budget": int(cfg.bo_budget),
        "neurons": [h["neurons"] for h in history],
        "synapses": [h["synapses"] for h in history],
        "lambda_max": [float(h["lambda_max"]) for h in history],
        "mean_ipr": [None if not np.isfinite(h["mean_ipr"]) else float(h["mean_ipr"])
                     for h in history],
        "seconds": [float(h["seconds"]) for h in history],
    }
    return metadata


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
        :func:`lnp_neuro.dynamics.operating_point.operating_lambda_max` (default ``n_drives=2,
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
        at the spiking network's measured rates and gains, :mod:`lnp_neuro.dynamics.operating_point`)
        or ``"rate_surrogate"`` (the autonomous tanh surrogate of ``network_spectrum``).

    Returns
    -------
    pruned : the pruned network, ``metadata["lnp"]`` holding a history summary.
    history : list of dicts, ``history[0]`` the starting network (iteration 0), then one per
        iteration: iteration, neurons, synapses, lambda_max and lambda_max_stderr (the
        measure, on the same drives every time), mean_ipr (computed on a thread of its
        own while the next iteration runs, so not in its seconds), seconds, step_seconds,
        synapses_removed, synapses_added, neurons_removed, and step details (``noise``:
        :meth:`NoisePruneInfo.to_dict` plus silent_neurons; ``timescales``: accepted,
        current_value, best_value, best_params, lambda_before, lambda_after).
    """
    cfg = _check_lnp_arguments(
        net, n_iter, synapse_keep=synapse_keep, target_density=target_density, rho=rho,
        node_quantile=node_quantile, delocalize_fraction=delocalize_fraction,
        bo_budget=bo_budget, steps=steps, use_lyapunov_matrix=use_lyapunov_matrix,
        stability_margin=stability_margin, covariance=covariance,
        covariance_options=covariance_options, spectrum_options=spectrum_options,
        betweenness_options=betweenness_options, timescale_options=timescale_options,
        ipr_k=ipr_k, min_neurons=min_neurons, rescale=rescale, measure=measure)
    iter_seqs = np.random.SeedSequence(seed).spawn(n_iter + 1)
    with beside("lnp-ipr") as pool:
        state, start_entry = _measure_start(net, cfg, iter_seqs[0].spawn(2), pool)
        history = [start_entry]
        bar = tqdm(range(1, n_iter + 1), desc="LNP", disable=not progress)
        for it in bar:
            seqs = iter_seqs[it].spawn(6)
            t_iter = time.perf_counter()
            entry = {"iteration": it, "step_seconds": {}, "synapses_removed": 0,
                     "synapses_added": 0, "neurons_removed": 0}
            # Steps I-IV (noise, nodes, delocalize, timescales), then the measurement.
            _run_steps(state, cfg, it, entry, seqs)
            _measure_iteration(state, cfg, entry, seqs[5], pool)
            entry["seconds"] = time.perf_counter() - t_iter
            history.append(entry)
            bar.set_postfix(neurons=entry["neurons"], synapses=entry["synapses"],
                            lambda_max=f"{entry['lambda_max']:.3g}")
        bar.close()
        for entry in history:
            entry["mean_ipr"] = entry["mean_ipr"].result()
    return state.current.copy(metadata=_lnp_metadata(state.current, cfg, seed, history)), history


