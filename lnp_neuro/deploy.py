"""The deployment job behind ``lnp-deploy``: network -> pruning -> target run -> report.

Steps (each logged, long ones with a progress bar):

1. resolve the target (``targets/``) and its hardware profile; refuse early when the target
   cannot run here or the output folder exists and ``force`` is not set;
2. load the network (``.nir`` through :mod:`lnp_neuro.nir_io`, ``.npz``) or build one
   (HRSNN / CHRSNN, design section 1);
3. build the drive: rate-encoded Lorenz-63 (design section 4, the on/off channel pair per
   dimension) or Poisson spikes;
4. prune: LNP (task-agnostic), AP (activity pruning on the drive, budget ``ap_budget``:
   the paper's rule, LNP's neuron count or LNP's SOPs), random (the starting network
   rewired as an Erdos-Renyi graph with the counts LNP reaches, or, with
   ``random_budget="sops"``, thinned at random until its SOPs on the drive reach LNP's),
   or none; one
   implementation of each baseline (:mod:`lnp_neuro.prune.baselines`);
5. compact the pruned network to its active neurons and synapses and write it as
   ``network.nir`` (the original neuron ids in its metadata); read that file back: the
   graph read from it is the hand-over, and every engine runs it
   (:class:`lnp_neuro.engines.DeployedNetwork`);
6. run the unpruned network on the native simulator (the SOP baseline, same input) and
   the deployed graph on the target's engine and on an independent reference engine
   (:mod:`lnp_neuro.engines`: numba against numpy, Lava and norse against native), and
   count the spike mismatches (``parity``, ``parity_reference``);
7. place the deployed network on cores (:mod:`lnp_neuro.mapping`) and price the run on
   every hardware profile (:mod:`lnp_neuro.energy`);
8. write ``run.npz``, ``analysis.npz``, ``report.json`` (a
   :class:`lnp_neuro.run_record.RunRecord`), ``report.html`` and ``report.md``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .io_utils import atomic_write
from .model import FlatLayout, flatten
from .network import SpikingNetwork
from .nir import read_graph, write_graph

__all__ = ["DeployOptions", "run_deploy", "DEFAULT_SPECTRUM", "OUTPUT_FILES",
           "check_build_size"]

# Lyapunov spectra shown in the report (paper A.7): leading exponents of the linear rate
# dynamics at the operating point (lnp_neuro.operating_point), over four Poisson drives.
DEFAULT_SPECTRUM = {"n_drives": 4, "n_steps": 1000, "k": 20}
_SERIES_INPUTS = ("lorenz", "rossler")
# Series code defaults per input (a flag given overrides them). Rossler: its z spends most
# of the time near zero and bursts rarely, so the z-score code clips it (unpruned HRSNN,
# seed 0: NRMSE 0.120 against persistence 0.041); and it is sampled about 4 x more finely
# than Lorenz-63 per Lyapunov time (467 samples against 110), so a sample's change is
# smaller and needs a longer count to resolve: unpruned HRSNN, seeds 0-4, mean NRMSE over
# mean persistence 0.63 at 20 steps per sample, 0.70 with 16 copies instead of 8, 0.44 at
# 40 steps (docs/results.md, "Rossler").
SERIES_CODE_DEFAULTS = {"rossler": {"scaling": "median", "steps_per_sample": 40}}
_CODE_DEFAULTS = {"scaling": "zscore", "steps_per_sample": 20}
#: What the random control copies of LNP's result (``--random-budget``).
RANDOM_BUDGETS = ("counts", "sops")


@dataclass
class DeployOptions:
    """Options of one deployment (the ``lnp-deploy`` flags)."""

    target: str = "loihi-sim"
    network: Path | None = None
    model: str = "hrsnn"
    neurons: int = 1000
    density: float = 0.1
    clusters: int = 4
    prune: str = "lnp"
    ap_budget: str = "paper"
    #: What the random control matches of LNP's result: its counts, or its SOPs.
    random_budget: str = "counts"
    iterations: int = 4
    target_density: float = 0.01
    input: str = "lorenz"
    rate: float = 0.05
    steps: int = 500
    copies: int = 8
    #: None: the input's default (``SERIES_CODE_DEFAULTS``, else zscore).
    scaling: str | None = None
    #: None: the input's default (``SERIES_CODE_DEFAULTS``, else 20).
    steps_per_sample: int | None = None
    task_samples: int = 3000
    vpt_starts: int = 5
    seed: int = 0
    out: Path = Path("lnp-out")
    force: bool = False
    progress: bool = True
    mapping: str = "partition"
    #: Time step (s) for a --network graph that stores none (NIR graphs of other tools).
    dt: float | None = None

    def __post_init__(self) -> None:
        from .models import MODELS
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}; got {self.model!r}")
        if self.prune not in ("lnp", "ap", "random", "none"):
            raise ValueError(f"prune must be one of lnp, ap, random, none; got {self.prune!r}")
        from .prune.baselines import AP_BUDGETS
        if self.ap_budget not in AP_BUDGETS:
            raise ValueError(f"ap_budget must be one of {', '.join(AP_BUDGETS)}; got "
                             f"{self.ap_budget!r}")
        if self.random_budget not in RANDOM_BUDGETS:
            raise ValueError(f"random_budget must be one of {', '.join(RANDOM_BUDGETS)}; "
                             f"got {self.random_budget!r}")
        self.input = str(self.input)
        for name, value in {**_CODE_DEFAULTS,
                            **SERIES_CODE_DEFAULTS.get(self.input, {})}.items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        from .tasks.encoding import SERIES_SCALINGS
        if self.scaling not in SERIES_SCALINGS:
            raise ValueError(f"scaling must be one of {', '.join(SERIES_SCALINGS)}; got "
                             f"{self.scaling!r}")
        if self.input not in _SERIES_INPUTS + ("poisson",) and not self.input.endswith(".csv"):
            raise ValueError(f"input must be 'lorenz', 'rossler', 'poisson' or a .csv file, "
                             f"got {self.input!r}")
        if self.input.endswith(".csv") and not Path(self.input).is_file():
            raise ValueError(f"input {self.input}: no such CSV file")
        for name in ("neurons", "clusters", "iterations", "steps", "copies",
                     "steps_per_sample", "task_samples"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(self.vpt_starts, bool) or not isinstance(self.vpt_starts,
                                                               (int, np.integer)) \
                or self.vpt_starts < 0:
            raise ValueError(f"vpt_starts must be a non-negative integer, got "
                             f"{self.vpt_starts!r}")
        for name in ("density", "rate", "target_density"):
            value = float(getattr(self, name))
            if not 0 < value <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {value}")
        from .mapping import STRATEGIES
        if self.mapping not in STRATEGIES:
            raise ValueError(f"mapping must be one of {', '.join(STRATEGIES)}; got "
                             f"{self.mapping!r}")
        self.out = Path(self.out)
        if self.network is not None:
            self.network = Path(self.network)
        if self.dt is not None:
            dt = float(self.dt)
            if not np.isfinite(dt) or dt <= 0:
                raise ValueError(f"dt (--dt) must be a positive number of seconds, got {self.dt!r}")
            if self.network is None or self.network.suffix != ".nir":
                raise ValueError("--dt applies only to a --network .nir graph (one that stores no dt)")
            self.dt = dt


# ----------------------------------------------------------------- network and input
def load_network(path: Path, dt: float | None = None) -> SpikingNetwork | FlatLayout:
    """A network from ``.nir`` (HDF5, via NIR; ``dt`` for a graph that stores none) or
    ``.npz`` (lnp_neuro's own format).

    A NIR graph of one recurrent population (the reservoir form) is read as a
    :class:`SpikingNetwork`, as it always was; a graph of several populations (a trained
    classifier, the NIR paper's Braille graphs) as a population graph, returned in its
    flat layout (:func:`lnp_neuro.model.flatten`).
    """
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such network file")
    if path.suffix == ".nir":
        from .nir_io import read_nir
        try:
            return read_nir(path, dt=dt)
        except ValueError as single:
            if "spiking populations" not in str(single):
                raise
        return flatten(read_graph(path, dt=dt))
    if path.suffix == ".npz":
        return SpikingNetwork.load(path)
    raise ValueError(f"{path}: a network file must end in .nir or .npz")


def build_network(options: DeployOptions, n_inputs: int) -> SpikingNetwork:
    """The starting network of ``--model`` (:func:`lnp_neuro.models.build_network`)."""
    from .models import build_network as build
    return build(options.model, options.neurons, seed=options.seed, n_inputs=n_inputs,
                 density=options.density, n_clusters=options.clusters)


def load_series(options: DeployOptions) -> tuple[np.ndarray, dict] | tuple[None, dict]:
    """The task series of ``--input`` (None for a Poisson drive): ``max(task_samples,
    steps / steps_per_sample)`` samples of Lorenz-63 or Rossler, or the CSV's rows (at
    most that many)."""
    if options.input == "poisson":
        return None, {"kind": "poisson", "rate_per_step": options.rate}
    # As many samples as the drive needs, and at least the ones the forecast is scored on.
    n = max(options.task_samples, -(-options.steps // options.steps_per_sample))
    if options.input in _SERIES_INPUTS:
        from .tasks import dynamical
        if options.input == "lorenz":
            data = dynamical.lorenz63(n_samples=n + 2, split=(n, 1, 1), seed=options.seed)
        else:
            data = dynamical.rossler(n_samples=7700 + n + 2, split=(n, 1, 1),
                                     seed=options.seed)
        return data.train[:n], {"kind": options.input, "source": "RK4 (design section 4)",
                                "dt_model": data.dt,
                                "lambda_max": (dynamical.LORENZ63_LAMBDA_MAX
                                               if options.input == "lorenz"
                                               else dynamical.ROSSLER_LAMBDA_MAX)}
    from .tasks.series import read_csv_columns
    values, columns = read_csv_columns(options.input, min_rows=200)
    values = values[:n]
    return values, {"kind": "csv", "source": str(options.input), "columns": list(columns)}


def series_inputs(series: np.ndarray | None, options: DeployOptions) -> int:
    """Input channels a built network needs for the drive (ON/OFF pairs x copies)."""
    return 6 if series is None else 2 * series.shape[1] * options.copies


def make_input(options: DeployOptions, net: SpikingNetwork, series: np.ndarray | None,
               info: dict):
    """The target's drive ``[steps, n_inputs]``, the encoded series (or None), and the
    drive's description for the report."""
    if series is None:
        rng = np.random.default_rng(np.random.SeedSequence([options.seed, 1]))
        spikes = rng.random((options.steps, net.n_inputs)) < options.rate
        return spikes, None, {**info, "channels": net.n_inputs}
    from .tasks.forecast import encode_series

    fit = max(2, int(0.7 * series.shape[0]))
    encoded = encode_series(series, net.n_inputs, dt=net.dt,
                            steps_per_sample=options.steps_per_sample, fit_samples=fit,
                            scaling=options.scaling)
    if encoded.spikes.shape[0] < options.steps:
        raise ValueError(f"--steps {options.steps} is longer than the series of --input "
                         f"{options.input} ({series.shape[0]} samples x --steps-per-sample "
                         f"{options.steps_per_sample} = {encoded.spikes.shape[0]} steps)")
    return encoded.spikes[: options.steps], encoded, {**info, **encoded.describe()}


# --------------------------------------------------------------------------- pruning
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
    from .targets_registry import load_target
    return "fixed" if load_target(options.target).mode == "fixed" else "float"


def prune_network(options: DeployOptions, net: SpikingNetwork, inputs: np.ndarray,
                  log: Callable[..., None]) -> tuple[SpikingNetwork, list[dict]]:
    """The pruned network and its history. For the baselines, ``metadata["baseline_budget"]``
    of the result says what they were matched to (written to report.json)."""
    from .prune.pipeline import lnp

    def run_lnp() -> tuple[SpikingNetwork, list[dict]]:
        return lnp(net, n_iter=options.iterations, seed=options.seed,
                   target_density=options.target_density, progress=options.progress)

    if options.prune == "none":
        return net.copy(), []
    if options.prune == "lnp":
        log(f"pruning with LNP: {options.iterations} iteration(s), steps I-IV")
        return run_lnp()
    if options.prune == "random":
        from .prune.baselines import random_network_like
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
            from .prune.baselines import drive_sops, random_network_at_sops
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
    from .prune.baselines import APBudget, activity_prune_on_task, drive_sops

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


# --------------------------------------------------------------------------- running


def _stability(net: SpikingNetwork, seed: int):
    """``lambda_max`` (mean, standard error over drives) and the spectrum of the first drive."""
    from .operating_point import operating_lambda_max
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
    from .simulator import simulate
    from .tasks.closed_loop import (ESNForecaster, PersistenceForecaster, SpikingForecaster,
                                    closed_loop_vpt, vpt_starts as spread_starts)
    from .tasks.forecast import (ForecastSplit, one_step_nrmse, reference_forecasts,
                                 select_trace_tau)

    series, k = encoded.series, encoded.steps_per_sample
    split = ForecastSplit(series.shape[0])
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
    from ._parallel import map_blocks
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


def hand_over(net: SpikingNetwork, path: Path):
    """Compact ``net`` to its active neurons and synapses, write it to ``path`` as NIR
    with the original neuron ids, and read it back: the
    :class:`~lnp_neuro.engines.DeployedNetwork` every engine runs."""
    from .engines import DeployedNetwork
    from .nir_io import write_nir
    compact, kept = net.compact()
    write_nir(compact, path, overwrite=True, neuron_ids=kept)
    deployed = DeployedNetwork.read(path)
    if (deployed.network.n_total_neurons != kept.size
            or not np.array_equal(deployed.neuron_ids, kept)):
        raise RuntimeError(f"{path}: the network read back is not the one written")
    return deployed


def hand_over_graph(layout: FlatLayout, path: Path):
    """Write a population graph to ``path`` as NIR and read it back: the
    :class:`~lnp_neuro.engines.DeployedNetwork` every engine runs (its flat layout)."""
    from .engines import DeployedNetwork
    write_graph(layout.graph, path, overwrite=True)
    deployed = DeployedNetwork.read_graph(path)
    if (deployed.layout.offsets != layout.offsets
            or deployed.network.n_active_synapses != layout.network.n_active_synapses):
        raise RuntimeError(f"{path}: the graph read back is not the one written")
    return deployed


def population_summary(layout: FlatLayout) -> list[dict]:
    """Per population of a deployed graph: kind, size, place in ``spikes`` and latency
    (steps behind a framework that delivers feed-forward edges in the same step)."""
    return [{"name": name, "kind": pop.kind, "neurons": pop.n, "reset": pop.reset,
             "columns": list(layout.offsets[name]), "latency_steps": layout.latency[name],
             "run_npz_key": f"spikes/{name}"}
            for name, pop in layout.graph.populations.items()]


#: Files every deployment writes (the report adds its PNG plots).
OUTPUT_FILES = ("network.nir", "run.npz", "analysis.npz", "report.json", "report.html",
                "report.md")


def run_deploy(options: DeployOptions, log: Callable[..., None] = print) -> dict:
    """Run one deployment (module docstring) and return the report dict it wrote.

    The output is a transaction (:class:`lnp_neuro.io_utils.OutputFolder`): files are
    written into a staging folder beside ``options.out`` and moved into place only when
    the run is complete; the folder is locked for the whole run and checked for
    writability, and the run's size against the memory it needs, before any computation.
    BLAS thread pools are pinned to one thread (:mod:`lnp_neuro.threads`) so that the
    same seed gives the same bits whatever thread counts are set.
    """
    from .io_utils import OutputFolder
    from .targets_registry import load_target
    from .threads import deterministic_threads

    if not isinstance(options, DeployOptions):
        raise ValueError(f"options must be DeployOptions, got {type(options).__name__}")
    target = load_target(options.target)
    target.require_available()
    if options.network is None:
        check_build_size(options)
    with OutputFolder(options.out, force=options.force, expected=OUTPUT_FILES,
                      protect=[options.network]) as staging, deterministic_threads():
        return _run_deploy(options, log, staging)


def check_build_size(options: DeployOptions) -> None:
    """Refuse a network to build, or a run, that cannot fit in memory (before allocating)."""
    from ._limits import check_memory, deploy_memory_estimate, expected_synapses

    series_drive = options.input != "poisson"
    # A CSV's dimension count is not known before reading it; three (Lorenz, Rossler) is
    # the estimate, the file is checked again once read.
    n_inputs = 2 * 3 * options.copies if series_drive else 6
    # The forecast is scored on the whole encoded series, usually longer than the drive.
    steps = max(options.steps, options.task_samples * options.steps_per_sample
                if series_drive else 0)
    synapses = expected_synapses(options.model, options.neurons, options.density,
                                 options.clusters)
    check_memory(deploy_memory_estimate(options.neurons, synapses, steps, n_inputs),
                 f"--neurons {options.neurons}, --steps {options.steps}"
                 + (f", --task-samples {options.task_samples} x --steps-per-sample "
                    f"{options.steps_per_sample}" if series_drive else ""),
                 neurons=options.neurons)


def _run_deploy(options: DeployOptions, log: Callable[..., None], out: Path) -> dict:
    """The deployment itself; every file goes into ``out`` (the staging folder)."""
    from .energy import energy_report, profiles_for_target
    from .mapping import core_limits, map_to_cores
    from .profiles import load_profile
    from .simulator import simulate
    from .targets_registry import load_target

    t_start = time.perf_counter()
    target = load_target(options.target)
    profile = load_profile(target.profile)
    timings: dict[str, float] = {}

    def timed(name: str, fn, *args, **kwargs):
        t = time.perf_counter()
        result = fn(*args, **kwargs)
        timings[name] = round(time.perf_counter() - t, 3)
        return result

    series, series_info = timed("series", load_series, options)
    layout = None
    if options.network is not None:
        net0 = timed("load", load_network, options.network, options.dt)
        if isinstance(net0, FlatLayout):
            layout, net0 = net0, net0.network
            if options.prune != "none":
                raise ValueError(f"--network {options.network}: a graph of "
                                 f"{len(layout.graph.populations)} populations runs with "
                                 f"--prune none only (pruning several populations is not "
                                 f"implemented yet)")
            log(f"loaded {options.network}: {layout.graph.summary()}")
        else:
            log(f"loaded {options.network}: {net0}")
        from ._limits import check_memory, deploy_memory_estimate
        check_memory(deploy_memory_estimate(net0.n_total_neurons, net0.n_active_synapses,
                                            options.steps, net0.n_inputs),
                     f"--network {options.network} ({net0.n_total_neurons} neurons), "
                     f"--steps {options.steps}")
    else:
        net0 = timed("build", build_network, options, series_inputs(series, options))
        log(f"built {options.model.upper()}: {net0.n_active_neurons} neurons, "
            f"{net0.n_active_synapses} synapses (seed {options.seed})")
    inputs, encoded, input_info = timed("input", make_input, options, net0, series,
                                        series_info)
    log(f"drive: {input_info['kind']}, {inputs.shape[0]} steps x {inputs.shape[1]} channels")

    net1, history = timed("prune", prune_network, options, net0, inputs, log)
    log(f"pruned ({options.prune}): {net0.n_active_neurons} -> {net1.n_active_neurons} "
        f"neurons, "
        f"{net0.n_active_synapses} -> {net1.n_active_synapses} synapses")

    # The hand-over: only the active neurons and synapses go into network.nir, with their
    # original ids; the graph read back from the file is what every engine runs.
    if layout is None:
        deployed = timed("hand_over", hand_over, net1, out / "network.nir")
    else:
        deployed = timed("hand_over", hand_over_graph, layout, out / "network.nir")
    net_d = deployed.network
    log(f"wrote network.nir and read it back: {net_d.n_total_neurons} neurons, "
        f"{net_d.n_active_synapses} synapses")

    from .engines import get_engine, parity
    mode = "fixed" if target.mode == "fixed" else "float"
    engine = get_engine(target.backend)
    reference_engine = get_engine(engine.parity_reference)
    log("running the unpruned network on the native simulator (SOP baseline)")
    spikes0 = timed("run_unpruned", lambda: simulate(net0, inputs, mode=mode,
                                                     progress=options.progress).spikes)
    log(f"running the deployed graph on {target.name} ({target.description})")
    run = timed("run_target", engine.run, deployed, inputs, mode, options.progress)
    log(f"running it on the {reference_engine.name} engine (parity reference)")
    reference = timed("run_reference", reference_engine.run, deployed, inputs, mode)
    mismatches = parity(run, reference)
    spikes1 = run.spikes
    if mismatches:
        log(f"WARNING: {mismatches} spike mismatch(es) between {target.name} ({engine.name}) "
            f"and the {reference_engine.name} engine on the same graph"
            + ("; they are expected to agree exactly" if engine.name != "norse" else ""))

    limits = core_limits(profile)
    mapping = timed("map", map_to_cores, net_d, limits, options.mapping, spikes1,
                    options.seed) if limits is not None else None
    cores_used = mapping.cores_used if mapping is not None else None
    energy = timed("energy", energy_report, net_d, spikes1, profiles_for_target(profile),
                   (net0, spikes0), input_spikes=inputs,
                   cores_used={profile.name: cores_used} if cores_used is not None else None,
                   mapping_strategy=options.mapping,
                   mappings={profile.name: mapping} if mapping is not None else None,
                   seed=options.seed)
    log("measuring stability at the operating point before and after pruning")
    stability0 = timed("stability_before", _stability, net0, options.seed)
    stability1 = timed("stability_after", _stability, net_d, options.seed)
    task = None
    if encoded is not None:
        task = timed("task", score_task, net0, net_d, encoded, mode, input_info, log,
                     options.vpt_starts)
    act0, act1 = activity(spikes0, net0), activity(spikes1, net_d)

    quantisation = None
    if target.mode == "fixed":
        from .fixed_point import quantize
        quantisation = quantize(net_d).error.as_dict()
    with atomic_write(out / "run.npz") as tmp, open(tmp, "wb") as fh:
        extra = {} if encoded is None else {
            "series": encoded.series[: -(-inputs.shape[0] // encoded.steps_per_sample)],
            "steps_per_sample": np.int64(encoded.steps_per_sample)}
        if layout is not None:
            extra.update({f"spikes/{name}": raster.astype(bool)
                          for name, raster in deployed.populations(spikes1).items()})
        np.savez_compressed(fh, input_spikes=inputs.astype(bool), spikes=spikes1.astype(bool),
                            neuron_ids=deployed.neuron_ids,
                            spikes_unpruned=spikes0.astype(bool), **extra)
    with atomic_write(out / "analysis.npz") as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, lyapunov_before=stability0.spectra[0].exponents,
                            lyapunov_after=stability1.spectra[0].exponents,
                            tau_mem_before=net0.tau_mem[net0.neuron_active],
                            tau_mem_after=net_d.tau_mem[net_d.neuron_active])

    from .neurobench_metrics import neurobench_metrics
    from .run_record import RunRecord
    record = RunRecord(
        label={"lnp": "LNP", "ap": "AP", "random": "Random", "none": "Unpruned"}[options.prune],
        target=target.name, backend=engine.name, mode=target.mode, profile=profile.name,
        steps=int(inputs.shape[0]), dt=net_d.dt,
        neurons_before=net0.n_active_neurons, neurons_after=net_d.n_active_neurons,
        synapses_before=net0.n_active_synapses, synapses_after=net_d.n_active_synapses,
        sops_dense=energy["baseline"]["sops_dense"], sops_pruned=energy["sops_and_mask"],
        sop_ratio=energy["sop_ratio"],
        energy_joules=energy["profiles"][profile.name]["energy_joules"],
        energy_by_profile={k: v["energy_joules"] for k, v in energy["profiles"].items()},
        cores_used=cores_used, mapping=mapping.summary() if mapping is not None else None,
        parity=mismatches, parity_reference=reference_engine.name,
        spikes_before=int(np.count_nonzero(spikes0)),
        spikes_after=int(np.count_nonzero(spikes1)),
        lambda_max_before=stability0.mean, lambda_max_after=stability1.mean,
        lambda_max_stderr_before=stability0.stderr, lambda_max_stderr_after=stability1.stderr,
        stability={"measure": "linear rate dynamics at the operating point "
                              "(lnp_neuro.operating_point)",
                   "before": stability0.as_dict(), "after": stability1.as_dict()},
        activity={"fraction_firing_before": act0["fraction_firing"],
                  "fraction_firing_after": act1["fraction_firing"],
                  "rate_hz_before": act0["rate_hz"], "rate_hz_after": act1["rate_hz"]},
        task=task, history=history, baseline_budget=net1.metadata.get("baseline_budget"),
        energy=energy, input=input_info,
        options={k: v for k, v in asdict(options).items() if k not in ("progress",)},
        deployed={"network": "network.nir", "neurons": net_d.n_total_neurons,
                  "synapses": net_d.n_active_synapses,
                  "neuron_ids": "ids in the starting network: run.npz neuron_ids, and "
                                "network.nir neurons metadata lnp_neuro.neuron_ids",
                  "engine": engine.name, "engine_description": engine.description,
                  **({} if layout is None
                     else {"populations": population_summary(deployed.layout)})},
        timings_seconds=timings, quantisation=quantisation,
        neurobench=neurobench_metrics(net_d, spikes1, inputs),
        seconds=round(time.perf_counter() - t_start, 3))
    record.write(out / "report.json")
    from .report import write_report
    write_report([out], out, force=True)
    return record.json_object()
