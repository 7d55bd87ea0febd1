"""What a deployment measures besides energy: stability at the operating point, activity,
and the task the drive defines (one-step and closed-loop forecasts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .._util.parallel import map_blocks
from ..dynamics.operating_point import operating_lambda_max
from ..engines.simulator import simulate
from ..model.network import SpikingNetwork
from ..tasks.closed_loop import (ESNForecaster, PersistenceForecaster, SpikingForecaster,
                                 closed_loop_vpt, teacher_forced_run)
from ..tasks.closed_loop import vpt_starts as spread_starts
from ..engines.base import DeployedNetwork
from ..engines.fixed_point import quantize
from ..tasks.deployed_readout import METHOD as DEPLOYED_READOUT
from ..tasks.deployed_readout import (READOUT, DeployedReadout, deployed_scale,
                                      fit_deployed_readout, readout_of_graph,
                                      score_deployed_readout)
from ..tasks.forecast import (ESN_MIN_UNITS, ForecastSplit, check_scorable, input_code_nrmse,
                              one_step_nrmse, reference_forecasts, select_trace_tau)
from ..tasks.memory import (SeriesTask, TaskSplit, per_delay, score_states, select_task_tau,
                            task_references)

__all__ = ["stability", "activity", "score_task", "unpruned_blocks", "score_deployed_forecast",
           "score_memory_task", "no_recurrence",
           "DEFAULT_SPECTRUM", "VPT_HORIZON"]

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


def no_recurrence(net: SpikingNetwork) -> SpikingNetwork:
    """The no-recurrence control of ``net``: the same neurons, input projection and
    parameters with every recurrent synapse removed (masked), so that a readout of it
    scores what the coded input and the neurons' own filtering give without the
    recurrence (issue 28: the task score against this is what the recurrence
    contributes). The task scorers read it out exactly like the network: its own trace
    time constant chosen on the training samples, then a ridge penalty by generalised
    cross-validation. (Reading it out with the network's time constant instead is
    cheaper but unfair to it: on x-only Lorenz it doubled the control's NRMSE,
    docs/results.md "Regime sweep".)"""
    return net.copy(synapse_active=np.zeros(net.weights.nnz, dtype=bool))


#: Samples each closed-loop forecast runs for (Lorenz-63: 3 model time units, 2.7
#: Lyapunov times; a run that never leaves the tolerance gives a lower bound).
VPT_HORIZON = 300


@dataclass(frozen=True, eq=False)
class _ForecastBlocks:
    """The independent pieces of :func:`score_task`: ``score(net)`` (a network's one-step
    and closed-loop forecasts), ``control(net)`` (its no-recurrence control) and
    ``references()``, and the split and closed-loop starts they share."""

    split: ForecastSplit
    horizon: int
    starts: np.ndarray | None
    vpt_args: dict
    score: Callable[[SpikingNetwork], dict]
    control: Callable[[SpikingNetwork], dict]
    references: Callable[[], tuple]


def unpruned_blocks(net0: SpikingNetwork, encoded, mode: str, input_info: dict,
                    vpt_starts: int = 0) -> list[Callable[[], object]]:
    """The blocks of :func:`score_task` that need only the unpruned network: its score,
    its no-recurrence control and the references, to run while the network is pruned
    and be handed to :func:`score_task` as ``unpruned`` (their results, in this order).
    A degenerate task is refused here, before any of them runs."""
    blocks = _forecast_blocks(net0, encoded, mode, input_info, vpt_starts)
    return [lambda: blocks.score(net0), lambda: blocks.control(net0), blocks.references]


def score_task(net0: SpikingNetwork, net1: SpikingNetwork, encoded, mode: str,
               input_info: dict, log: Callable[..., None], vpt_starts: int = 0,
               on_chip: bool = True, unpruned: Callable[[], list] | None = None
               ) -> tuple[dict, tuple]:
    """One-step forecast NRMSE of the unpruned and the pruned network on the whole encoded
    series (:mod:`lnp_neuro.tasks.forecast`), run on the native engine in the target's
    arithmetic, with the references on the same split; with ``vpt_starts``, the valid
    prediction time of closed-loop forecasts from that many test samples
    (:mod:`lnp_neuro.tasks.closed_loop`), for both networks, the ESN and persistence.

    With ``on_chip`` the task's figures (``unpruned``, ``pruned``, the no-recurrence
    controls) are those of the readout as an output population
    (:mod:`lnp_neuro.tasks.deployed_readout`: ``readout`` "deployed"), and the float64
    off-chip ridge readout's are kept beside them (``offchip_readout``); otherwise the
    off-chip readout's (``readout`` "ridge"). Returns the task record and the two fitted
    on-chip readouts (unpruned, pruned), which :func:`~lnp_neuro.tasks.deployed_readout.
    with_readout` appends to the networks as they are deployed. ``unpruned``: when the
    blocks of :func:`unpruned_blocks` run elsewhere, a function that returns their
    results (called once the pruned network's blocks are done).
    ``references.input_code``: the input code's own floor, the off-chip readout of the
    input spike trains alone (:func:`lnp_neuro.tasks.forecast.input_code_nrmse`).
    """
    blocks = _forecast_blocks(net0, encoded, mode, input_info, vpt_starts)
    series, split, starts, horizon = encoded.series, blocks.split, blocks.starts, blocks.horizon
    log(f"scoring the one-step forecast on {series.shape[0]} samples "
        f"({encoded.spikes.shape[0]} steps, native engine, {mode})")
    out = {"name": input_info["kind"], "metric": "nrmse",
           "readout": "deployed" if on_chip else "ridge", **split.as_dict(),
           "engine": f"native {mode}"}
    # The networks, their no-recurrence controls and the references are scored
    # independently, one per core (each result is computed exactly as in a serial run:
    # same calls, single-threaded BLAS).
    if unpruned is None:
        jobs = [lambda: blocks.score(net0), lambda: blocks.score(net1),
                lambda: blocks.control(net0), lambda: blocks.control(net1), blocks.references]
        scored0, scored1, control0, control1, (esn, refs, code_tau) = map_blocks(
            lambda b: jobs[b](), len(jobs))
    else:
        scored1, control1 = map_blocks(lambda b: (blocks.score, blocks.control)[b](net1), 2)
        scored0, control0, (esn, refs, code_tau) = unpruned()
    vpt_args = blocks.vpt_args
    figure = "deployed" if on_chip else "ridge"

    def value(scores: dict, key: str = figure) -> float:
        return scores[key]["nrmse"] if key == "deployed" else scores[key]

    closed = {}
    for label, scores in (("unpruned", scored0), ("pruned", scored1)):
        out[f"{label}_trace_tau"] = scores["trace_tau"]
        out[label] = value(scores)
        out[f"{label}_paper_readout"] = scores["paper"]
        if "closed" in scores:
            closed[label] = scores["closed"]
    out["persistence"] = refs["persistence"]
    refs["no_recurrence"] = value(control0)
    out["references"] = refs
    out["pruned_no_recurrence"] = value(control1)
    details = {}
    for label, scores in (("unpruned", scored0), ("pruned", scored1)):
        details[label] = {k: v for k, v in scores["deployed"].items() if k != "nrmse"}
    out["deployed_readout"] = {"method": DEPLOYED_READOUT, "details": details}
    if on_chip:
        out["deployed_readout"].update(
            population=READOUT,
            decode={"equation": "y = mean + std * v (v: the population's membrane at the "
                                "first step of the next sample)",
                    "mean": scored1["readout"].mean.tolist(),
                    "std": scored1["readout"].std.tolist()})
        out["offchip_readout"] = {
            "readout": "ridge", "method": "ridge (float64, off-chip) on the exponential "
                                          "traces of every spike (lnp_neuro.tasks.forecast)",
            "unpruned": value(scored0, "ridge"), "pruned": value(scored1, "ridge"),
            "no_recurrence": value(control0, "ridge"),
            "pruned_no_recurrence": value(control1, "ridge")}
    else:
        out["deployed_readout"].update(unpruned=value(scored0, "deployed"),
                                       pruned=value(scored1, "deployed"))
    out["input_code_trace_tau"] = code_tau
    if starts is not None:
        log(f"closed-loop forecasts from {len(starts)} test samples, {horizon} samples each")
        closed["esn"] = closed_loop_vpt(esn, series, starts, horizon, **vpt_args).as_dict()
        closed["persistence"] = closed_loop_vpt(PersistenceForecaster(), series, starts,
                                                horizon, **vpt_args).as_dict()
        out["closed_loop"] = {"metric": "vpt", "epsilon": 0.1, "horizon": horizon,
                              "readout": "ridge (off-chip)",
                              "starts": [int(s) for s in starts], **closed}
    return out, (scored0["readout"], scored1["readout"])


def _forecast_blocks(net0: SpikingNetwork, encoded, mode: str, input_info: dict,
                     vpt_starts: int) -> _ForecastBlocks:
    """:class:`_ForecastBlocks` of the task; a degenerate task is refused before any
    network runs: a constant series has no defined NRMSE, and the echo-state reference
    has as many units as ``net0`` has neurons."""
    series, k = encoded.series, encoded.steps_per_sample
    split = ForecastSplit(series.shape[0])
    check_scorable(series, split)
    if net0.n_active_neurons < ESN_MIN_UNITS:
        raise ValueError(f"the network has {net0.n_active_neurons} active neuron(s); the "
                         f"task's echo-state reference needs at least {ESN_MIN_UNITS} "
                         f"(raise --neurons, or use --input poisson: no task)")
    horizon = min(VPT_HORIZON, split.test.size - 1)
    starts = spread_starts(split.test, series.shape[0], horizon, vpt_starts) \
        if vpt_starts else None
    vpt_args = {"dt": input_info.get("dt_model"), "lambda_max": input_info.get("lambda_max")}

    def read_out(net: SpikingNetwork, spikes) -> dict:
        """Both readouts of ``net``'s raster: the off-chip ridge and the on-chip
        population (its trace time constant chosen for the ridge)."""
        active = np.flatnonzero(net.neuron_active)
        tau, states, ridge = select_trace_tau(spikes, k, net.dt, series, split,
                                              neurons=active)
        scores = {"trace_tau": tau, "ridge_model": ridge, "states": states,
                  "ridge": one_step_nrmse(states, series, split, "ridge", model=ridge)}
        readout = fit_deployed_readout(spikes, series, split, k, net.dt, tau, active)
        scores["readout"] = readout
        scores["deployed"] = score_deployed_readout(
            readout, spikes, series, split, k, net.dt, mode,
            deployed_scale(net) if mode == "fixed" else None)
        return scores

    def score(net: SpikingNetwork) -> dict:
        if starts is None:
            spikes = simulate(net, encoded.spikes, mode=mode).spikes
        else:   # with the engine states the closed loop starts from
            spikes, engine_states = teacher_forced_run(net, encoded, mode, starts - 1)
        scores = read_out(net, spikes)
        scores["paper"] = one_step_nrmse(scores["states"], series, split, "paper", net=net)
        if starts is not None:
            checkpoints = {n: (state, scores["states"][n - 1])
                           for n, state in engine_states.items()}
            forecaster = SpikingForecaster(net, encoded, scores["ridge_model"],
                                           scores["trace_tau"], mode, checkpoints)
            scores["closed"] = closed_loop_vpt(forecaster, series, starts, horizon,
                                               **vpt_args).as_dict()
        return scores

    def control(net: SpikingNetwork) -> dict:
        control_net = no_recurrence(net)
        return read_out(control_net, simulate(control_net, encoded.spikes, mode=mode).spikes)

    def references():
        esn = ESNForecaster(series, split.train, net0.n_active_neurons, seed=0)
        refs = reference_forecasts(series, split, esn_units=net0.n_active_neurons, seed=0,
                                   esn=esn)
        floor = input_code_nrmse(encoded, split, net0.dt)
        refs["input_code"] = floor["nrmse"]
        return esn, refs, floor["trace_tau"]

    return _ForecastBlocks(split, horizon, starts, vpt_args, score, control, references)


def score_deployed_forecast(task: dict, deployed: DeployedNetwork, fitted: DeployedReadout,
                            encoded, mode: str) -> dict:
    """``task`` (:func:`score_task`) with its pruned figure read from the deployed graph
    itself: the graph as read back from ``network.nir`` runs the encoded series on the
    native engine in the target's arithmetic, and its readout population (as read back,
    decoded with the ``fitted`` readout's mean and deviation) is run on its reservoir's
    raster (:mod:`lnp_neuro.tasks.deployed_readout`: the same ``v`` as inside the graph).
    ``pruned_before_hand_over`` keeps the figure of the network before it was written."""
    layout, k = deployed.layout, encoded.steps_per_sample
    readout = readout_of_graph(layout.graph, fitted)
    reservoir = next(name for name in layout.graph.populations if name != READOUT)
    spikes = layout.split(simulate(deployed.network, encoded.spikes, mode=mode).spikes)
    scale = quantize(deployed.network).scale if mode == "fixed" else None
    scores = score_deployed_readout(readout, spikes[reservoir], encoded.series,
                                    ForecastSplit(encoded.series.shape[0]), k,
                                    deployed.network.dt, mode, scale)
    out = dict(task)
    out["pruned_before_hand_over"] = out["pruned"]
    out["pruned"] = scores["nrmse"]
    out["engine"] = (f"native {mode}: the deployed graph, its readout population "
                     f"{READOUT!r} run on its reservoir's raster")
    return out


def score_memory_task(net0: SpikingNetwork, net1: SpikingNetwork, encoded, task: SeriesTask,
                      mode: str, log: Callable[..., None]) -> dict:
    """The score of a memory task (:mod:`lnp_neuro.tasks.memory`: memory capacity,
    NARMA-10, x-only Lorenz) of the unpruned and the deployed network and of their
    no-recurrence controls (:func:`no_recurrence`), each run on the native engine in the
    target's arithmetic and read out the same way, with the task's references on the
    same split."""
    if net0.n_active_neurons < ESN_MIN_UNITS:
        raise ValueError(f"the network has {net0.n_active_neurons} active neuron(s); the "
                         f"task's echo-state reference needs at least {ESN_MIN_UNITS} "
                         f"(raise --neurons, or use --input poisson: no task)")
    k = encoded.steps_per_sample
    split = TaskSplit(task.inputs.shape[0])
    log(f"scoring {task.name} ({task.metric}) on {task.inputs.shape[0]} samples "
        f"({encoded.spikes.shape[0]} steps, native engine, {mode})")

    def score(net: SpikingNetwork) -> dict:
        spikes = simulate(net, encoded.spikes, mode=mode).spikes
        tau, states, model = select_task_tau(spikes, k, net.dt, task, split,
                                             neurons=np.flatnonzero(net.neuron_active))
        out = {"trace_tau": tau, "score": score_states(states, task, split, model)}
        if task.metric == "memory_capacity":
            out["per_delay"] = per_delay(states, task, split, model)
        return out

    # As score_task: the networks, their controls and the references, one per core.
    blocks = [lambda: score(net0), lambda: score(net1),
              lambda: score(no_recurrence(net0)), lambda: score(no_recurrence(net1)),
              lambda: task_references(task, split, net0.n_active_neurons, seed=0)]
    unpruned, pruned, ctrl0, ctrl1, refs = map_blocks(lambda b: blocks[b](), len(blocks))
    refs["no_recurrence"] = ctrl0["score"]
    out = {"name": task.name, "metric": task.metric,
           "higher_is_better": task.higher_is_better, "readout": "ridge",
           **split.as_dict(), "horizon": task.info.get("horizon"),
           "engine": f"native {mode}",
           "unpruned_trace_tau": unpruned["trace_tau"], "unpruned": unpruned["score"],
           "pruned_trace_tau": pruned["trace_tau"], "pruned": pruned["score"],
           "persistence": refs["persistence"], "references": refs,
           "pruned_no_recurrence": ctrl1["score"],
           "definition": task.info["definition"], "source": task.info["source"]}
    if task.metric == "memory_capacity":
        out["delays"] = task.info["delays"]
        out["per_delay"] = {"unpruned": unpruned["per_delay"], "pruned": pruned["per_delay"],
                            "no_recurrence": ctrl0["per_delay"]}
    if task.null_reasons:
        out["null_reasons"] = dict(task.null_reasons)
    return out
