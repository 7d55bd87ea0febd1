"""What a deployment measures besides energy: stability at the operating point, activity,
and the task the drive defines (one-step and closed-loop forecasts)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from .._util.parallel import map_blocks
from ..dynamics.operating_point import operating_lambda_max
from ..engines.simulator import simulate
from ..model.network import SpikingNetwork
from ..tasks.closed_loop import (ESNForecaster, PersistenceForecaster, SpikingForecaster,
                                 closed_loop_vpt)
from ..tasks.closed_loop import vpt_starts as spread_starts
from ..tasks.forecast import (ESN_MIN_UNITS, ForecastSplit, check_scorable, one_step_nrmse,
                              reference_forecasts, select_trace_tau)

__all__ = ["stability", "activity", "score_task", "DEFAULT_SPECTRUM", "VPT_HORIZON"]

# Lyapunov spectra shown in the report (paper A.7): leading exponents of the linear rate
# dynamics at the operating point (lnp_neuro.dynamics.operating_point), over four Poisson drives.
DEFAULT_SPECTRUM = {"n_drives": 4, "n_steps": 1000, "k": 20}


def stability(net: SpikingNetwork, seed: int):
    """``lambda_max`` (mean, standard error over drives) and the spectrum of the first drive."""
    opts = dict(DEFAULT_SPECTRUM)
    opts["k"] = min(opts["k"], net.n_active_neurons)
    return operating_lambda_max(net, seed=seed, **opts)


def activity(spikes: np.ndarray, net: SpikingNetwork) -> dict:
    """Fraction of the deployed (active) neurons that fire, and their mean rate (Hz)."""
    s = np.asarray(spikes)[:, net.neuron_active]
    if s.size == 0:
        return {"fraction_firing": 0.0, "rate_hz": 0.0}
    return {"fraction_firing": float(np.mean(s.any(axis=0))),
            "rate_hz": float(s.mean() / net.dt)}


#: Samples each closed-loop forecast runs for (Lorenz-63: 3 model time units, 2.7
#: Lyapunov times; a run that never leaves the tolerance gives a lower bound).
VPT_HORIZON = 300


def score_task(net0: SpikingNetwork, net1: SpikingNetwork, encoded, mode: str,
               input_info: dict, log: Callable[..., None], vpt_starts: int = 0) -> dict:
    """One-step forecast NRMSE of the unpruned and the deployed network on the whole
    encoded series (:mod:`lnp_neuro.tasks.forecast`), run on the native engine in the
    target's arithmetic, with the references on the same split; with ``vpt_starts``,
    the valid prediction time of closed-loop forecasts from that many test samples
    (:mod:`lnp_neuro.tasks.closed_loop`), for both networks, the ESN and persistence."""

    series, k = encoded.series, encoded.steps_per_sample
    # Degenerate tasks are refused before any network runs: a constant series has no
    # defined NRMSE, and the echo-state reference has as many units as net0 has neurons.
    split = ForecastSplit(series.shape[0])
    check_scorable(series, split)
    if net0.n_active_neurons < ESN_MIN_UNITS:
        raise ValueError(f"the network has {net0.n_active_neurons} active neuron(s); the "
                         f"task's echo-state reference needs at least {ESN_MIN_UNITS} "
                         f"(raise --neurons, or use --input poisson: no task)")
    log(f"scoring the one-step forecast on {series.shape[0]} samples "
        f"({encoded.spikes.shape[0]} steps, native engine, {mode})")
    out = {"name": input_info["kind"], "metric": "nrmse", "readout": "ridge",
           **split.as_dict(), "engine": f"native {mode}"}
    horizon = min(VPT_HORIZON, split.test.size - 1)
    starts = spread_starts(split.test, series.shape[0], horizon, vpt_starts) \
        if vpt_starts else None
    vpt_args = {"dt": input_info.get("dt_model"), "lambda_max": input_info.get("lambda_max")}
    def score(net: SpikingNetwork) -> dict:
        spikes = simulate(net, encoded.spikes, mode=mode).spikes
        tau, states, ridge = select_trace_tau(spikes, k, net.dt, series, split,
                                              neurons=np.flatnonzero(net.neuron_active))
        scores = {"trace_tau": tau,
                  "ridge": one_step_nrmse(states, series, split, "ridge", model=ridge),
                  "paper": one_step_nrmse(states, series, split, "paper", net=net)}
        if starts is not None:
            forecaster = SpikingForecaster(net, encoded, ridge, tau, mode)
            scores["closed"] = closed_loop_vpt(forecaster, series, starts, horizon,
                                               **vpt_args).as_dict()
        return scores

    # The two networks are scored independently, one per core (each result is computed
    # exactly as in a serial run: same calls, single-threaded BLAS).
    nets = (("unpruned", net0), ("pruned", net1))
    closed = {}
    for (label, _), scores in zip(nets, map_blocks(lambda b: score(nets[b][1]), 2)):
        out[f"{label}_trace_tau"] = scores["trace_tau"]
        out[label] = scores["ridge"]
        out[f"{label}_paper_readout"] = scores["paper"]
        if "closed" in scores:
            closed[label] = scores["closed"]
    esn = ESNForecaster(series, split.train, net0.n_active_neurons, seed=0)
    refs = reference_forecasts(series, split, esn_units=net0.n_active_neurons, seed=0, esn=esn)
    out["persistence"] = refs["persistence"]
    out["references"] = refs
    if starts is not None:
        log(f"closed-loop forecasts from {len(starts)} test samples, {horizon} samples each")
        closed["esn"] = closed_loop_vpt(esn, series, starts, horizon, **vpt_args).as_dict()
        closed["persistence"] = closed_loop_vpt(PersistenceForecaster(), series, starts,
                                                horizon, **vpt_args).as_dict()
        out["closed_loop"] = {"metric": "vpt", "epsilon": 0.1, "horizon": horizon,
                              "starts": [int(s) for s in starts], **closed}
    return out


