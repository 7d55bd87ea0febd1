"""Pruning stage of a deployment: LNP, or a baseline matched to LNP's result."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..model import FlatLayout, flatten
from ..model.network import SpikingNetwork
from ..prune.baselines import (APBudget, activity_prune_on_task, drive_sops,
                               random_network_at_sops, random_network_like)
from ..prune.graph import lnp_graph
from ..prune.pipeline import lnp
from .options import DeployOptions
from .targets import load_target

__all__ = ["prune_network", "prune_graph", "activity_prune_on_input", "drive_targets"]

#: The drive-defined task AP retrains on (see :func:`drive_targets`): each channel's spike
#: rate over the next ``_TARGET_HORIZON`` steps (one Lorenz sample of 10 steps).
_TARGET_HORIZON = 10
_AP_FRACTION = 0.1


def drive_targets(inputs: np.ndarray, horizon: int = _TARGET_HORIZON) -> np.ndarray:
    """The task AP is scored on when the drive is all there is: ``y[t, c]`` = channel
    ``c``'s mean spike count over the next ``horizon`` steps, ``(t, t + horizon]``, a
    window wholly in the future of the network state at ``t``; NaN where it runs off the
    end. Defined for any drive: a Lorenz drive is predictable from the network's memory of
    it, a Poisson one is not (its NRMSE stays near 1 and AP is judged on how little it
    loses).
    """
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim != 2 or not 0 < horizon < x.shape[0]:
        raise ValueError(f"inputs must be [T, C] with T > horizon={horizon}, got {x.shape}")
    csum = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
    y = np.full(x.shape, np.nan)
    t = np.arange(x.shape[0] - horizon)
    y[t] = (csum[t + 1 + horizon] - csum[t + 1]) / horizon
    return y


def _arithmetic(options: DeployOptions) -> str:
    """The simulator mode of the target's arithmetic: baselines measure SOPs in it."""
    return "fixed" if load_target(options.target).mode == "fixed" else "float"


def prune_network(options: DeployOptions, net: SpikingNetwork, inputs: np.ndarray,
                  log: Callable[..., None]) -> tuple[SpikingNetwork, list[dict]]:
    """The pruned network and its history. For the baselines, ``metadata["baseline_budget"]``
    of the result says what they were matched to (written to report.json)."""

    def run_lnp() -> tuple[SpikingNetwork, list[dict]]:
        return lnp(net, n_iter=options.iterations, seed=options.seed,
                   target_density=options.target_density, progress=options.progress)

    if options.prune == "none":
        return net.copy(), []
    if options.prune == "lnp":
        log(f"pruning with LNP: {options.iterations} iteration(s), steps I-IV")
        return run_lnp()
    if options.prune == "random":
        log(f"random baseline: LNP ({options.iterations} iteration(s)) for the counts, then the "
            f"starting network rewired at random (G(n, m), Dale's law, its weight distribution)")
        reference, history = run_lnp()
        lnp_counts = {"neurons": reference.n_active_neurons,
                      "synapses": reference.n_active_synapses}
        rule = ("the starting network's neurons (E/I split kept) rewired as an Erdos-Renyi "
                "G(n, m) graph with LNP's neuron and synapse counts, couplings drawn from "
                "the starting network's per presynaptic type (Dale's law)")
        if options.random_budget == "counts":
            pruned = random_network_like(net, lnp_counts["neurons"], lnp_counts["synapses"],
                                         seed=options.seed)
            pruned.metadata["baseline_budget"] = {"kind": "lnp-counts", "target": lnp_counts,
                                                  "rule": rule}
        else:
            mode = _arithmetic(options)
            target = drive_sops(reference, inputs, mode)
            log(f"random baseline matched to LNP's SOPs on the drive: <= {target}")
            pruned = random_network_at_sops(
                net, lnp_counts["neurons"], lnp_counts["synapses"],
                lambda candidate: drive_sops(candidate, inputs, mode), target,
                seed=options.seed)
            info = pruned.metadata["random_at_sops"]
            pruned.metadata["baseline_budget"] = {
                "kind": "lnp-sops", "target": target, "lnp_counts": lnp_counts,
                "synapses": info["synapses"], "sops": info["cost"],
                "rule": rule + "; then a random subset of its synapses (the prefix of a random "
                               "order found by bisection) whose SOPs on the drive are <= "
                               "LNP's"}
            log(f"random baseline: {info['synapses']} of {info['full_synapses']} synapses, "
                f"{info['cost']:.0f} SOPs (LNP's counts: {info['full_cost']:.0f})")
        # The random network copies LNP's counts, not its dynamics: keep only the counts.
        counts = [{"iteration": h["iteration"], "neurons": h["neurons"],
                   "synapses": h["synapses"]} for h in history if isinstance(h, dict)]
        return pruned, counts
    return activity_prune_on_input(net, inputs, options, log, lnp_reference=run_lnp)


def prune_graph(options: DeployOptions, layout: FlatLayout, log: Callable[..., None]
                ) -> tuple[FlatLayout, list[dict]]:
    """``--prune lnp`` (or ``none``) on a graph of several populations: LNP on each
    recurrent population (``--prune-populations``, default all), task-agnostic, through
    :func:`lnp_neuro.prune.graph.lnp_graph`; feed-forward projections and the readout are
    kept. Returns the pruned graph's flat layout (pruned neurons masked) and the history,
    one row per population and iteration.

    Reason: AP and the random control are defined on one recurrent layer (the drive's
    readout, the G(n, m) rewiring); on a graph they are refused (ValueError naming
    ``--prune``) rather than guessed.
    """
    if options.prune == "none":
        return layout, []
    if options.prune != "lnp":
        raise ValueError(f"--prune {options.prune} is not implemented for a graph of "
                         f"{len(layout.graph.populations)} populations (--network "
                         f"{options.network}); use --prune lnp or --prune none")
    names = (list(options.prune_populations) if options.prune_populations
             else layout.graph.recurrent_populations())
    if not names:
        raise ValueError(f"--prune lnp: --network {options.network} has no recurrent "
                         f"population (LNP prunes recurrent synapses); use --prune none")
    log(f"pruning with LNP: {options.iterations} iteration(s), steps I-IV, on population(s) "
        f"{', '.join(names)}")
    graph, history = lnp_graph(layout.graph, names, n_iter=options.iterations,
                               seed=options.seed, target_density=options.target_density,
                               progress=options.progress)
    return flatten(graph), history


def activity_prune_on_input(net: SpikingNetwork, inputs: np.ndarray, options: DeployOptions,
                            log: Callable[..., None] = print, *,
                            lnp_reference: Callable[[], tuple] | None = None
                            ) -> tuple[SpikingNetwork, list[dict]]:
    """AP (Rust et al. 1997) on this run's drive, through the one implementation
    :func:`lnp_neuro.prune.baselines.activity_prune_on_task`.

    Task: :func:`drive_targets` (each drive channel's rate over the next 10 steps), scored by the
    held-out NRMSE of a ridge readout (fitted on the first half of the steps, scored on
    the second). Activity and SOPs come from the native simulator in the target's
    arithmetic, so a matched SOP budget matches the SOPs the report counts. Budget
    (``options.ap_budget``): ``paper`` -- ``options.iterations`` rounds of 10 % or until
    the NRMSE exceeds the unpruned model's / 0.9; ``neurons`` -- prune to the neuron count
    LNP reaches on this network; ``sops`` -- prune until the SOPs on the drive are at most
    LNP's on the same drive. The matched budgets run LNP first (``lnp_reference``).
    """

    mode = _arithmetic(options)
    if options.ap_budget == "paper":
        budget = APBudget()
        log(f"activity pruning (AP): up to {options.iterations} round(s) of "
            f"{_AP_FRACTION:.0%} on the drive, stop below 90 % of the unpruned performance")
    else:
        if lnp_reference is None:
            raise ValueError(f"ap_budget={options.ap_budget!r} needs LNP's result to match")
        log(f"activity pruning (AP) matched to LNP's {options.ap_budget}: running LNP first")
        reference, _ = lnp_reference()
        target = reference.n_active_neurons if options.ap_budget == "neurons" else \
            drive_sops(reference, inputs, mode)
        budget = APBudget(options.ap_budget, target)
        log(f"AP budget: {options.ap_budget} <= {target} (LNP's)")
    pruned, history = activity_prune_on_task(
        net, inputs, drive_targets(inputs), task="regression", fraction=_AP_FRACTION,
        n_iter=options.iterations, budget=budget, mode=mode)
    info = pruned.metadata["activity_pruning"]
    pruned.metadata["baseline_budget"] = dict(
        budget.as_dict(), stopped=info["stopped"],
        min_performance_ratio=info["min_performance_ratio"],
        performance="NRMSE of a ridge readout predicting each drive channel's rate over "
                    f"the next {_TARGET_HORIZON} steps (lower is better)")
    return pruned, history


