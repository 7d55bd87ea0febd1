"""The deployment run: the stages of ``lnp-deploy`` in order (:mod:`lnp_neuro.deploy`)."""

from __future__ import annotations

import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .._util.io import atomic_write
from .._util.limits import check_memory, deploy_memory_estimate
from .._util.output_folder import OutputFolder
from .._util.parallel import beside
from .._util.threads import deterministic_threads
from ..engines.base import DeployedNetwork, Engine, get_engine, parity
from ..engines.fixed_point import quantize
from ..engines.simulator import simulate
from ..hardware.energy import energy_report, profiles_for_target
from ..hardware.mapping import core_limits, map_to_cores
from ..hardware.neurobench import neurobench_metrics
from ..hardware.profiles import load_profile
from ..hardware.projections import (layout_for, population_cores, projection_quantisation,
                                    projection_sops)
from ..model import FlatLayout, flatten
from ..model.network import SpikingNetwork
from ..report.record import RunRecord
from ..report.render import write_report
from ..tasks.memory import MEMORY_TASKS
from ..tasks.forecast import ESN_MIN_UNITS
from ..tasks.deployed_readout import READOUT, can_deploy_readout, with_readout
from .data import (check_task_options, data_drive, load_data, output_population,
                   score_classification)
from .regression import score_regression
from .refit import readout_source
from .handover import (deployed_reservoir, hand_over, hand_over_graph, population_summary,
                       reservoir_of)
from .inputs import (build_network, check_build_size, load_network, load_series, make_input,
                     memory_task, series_inputs)
from .measure import (activity, score_deployed_forecast, score_memory_task, score_task,
                      stability, unpruned_blocks)
from .options import DeployOptions
from .pruning import prune_graph, prune_network
from .targets import load_target

__all__ = ["run_deploy", "deploy_outcome", "DeployOutcome", "write_run_report", "OUTPUT_FILES",
           "PORTABLE_FILE"]

#: Files every deployment writes (the report adds its PNG plots).
OUTPUT_FILES = ("network.nir", "run.npz", "analysis.npz", "report.json", "report.html",
                "report.md")
#: The portable twin of network.nir (``--nir-portable``; :mod:`lnp_neuro.nir.portable`).
PORTABLE_FILE = "network.portable.nir"
_LABELS = {"lnp": "LNP", "ap": "AP", "random": "Random", "none": "Unpruned"}


#: Options left out of report.json while at these values (unset, or the default a run
#: had before the option existed), so that a run without them records what it always
#: did. Compared by identity: an explicit False (--no-reset-delay) or 0.0 is recorded.
_OMITTED_WHEN = {"data": None, "reference_accuracy": None, "source": "nir",
                 "reset_mechanism": None, "reset_delay": None, "refit_readout": False,
                 "code": "level"}


def _is_omitted_value(value, omitted) -> bool:
    """``value`` is ``omitted``: by identity for None and booleans (False is not 0.0, None
    is not False), by equality for a string."""
    return value == omitted if isinstance(omitted, str) else value is omitted


@dataclass(eq=False)
class DeployOutcome:
    """What one deployment leaves besides its folder: the report.json object, the deployed
    graph (as read back from ``network.nir`` at its final place) and the rasters."""

    report: dict
    deployed: DeployedNetwork
    spikes: np.ndarray
    spikes_unpruned: np.ndarray
    input_spikes: np.ndarray


def run_deploy(options: DeployOptions, log: Callable[..., None] = print) -> dict:
    """Run one deployment (:func:`deploy_outcome`) and return the report dict it wrote."""
    return deploy_outcome(options, log).report


def deploy_outcome(options: DeployOptions, log: Callable[..., None] = print) -> DeployOutcome:
    """Run one deployment (module docstring): its files in ``options.out``, its outcome.

    The output is a transaction (:class:`lnp_neuro._util.io.OutputFolder`): files are
    written into a staging folder beside ``options.out`` and moved into place only when
    the run is complete; the folder is locked for the whole run and checked for
    writability, and the run's size against the memory it needs, before any computation.
    BLAS thread pools are pinned to one thread (:mod:`lnp_neuro._util.threads`) so that the
    same seed gives the same bits whatever thread counts are set.
    """
    if not isinstance(options, DeployOptions):
        raise ValueError(f"options must be DeployOptions, got {type(options).__name__}")
    target = load_target(options.target)
    target.require_available()
    if options.network is None:
        check_build_size(options)
    expected = OUTPUT_FILES + ((PORTABLE_FILE,) if options.nir_portable else ())
    with OutputFolder(options.out, force=options.force, expected=expected,
                      protect=[options.network]) as staging, deterministic_threads():
        outcome = _run_deploy(options, log, staging)
    # Messages and the result name where the run ends up, not the staging folder.
    outcome.deployed.source = str(options.out / "network.nir")
    return outcome


@dataclass(eq=False)
class _Run:
    """What one deployment carries from stage to stage, and the time each stage took."""

    options: DeployOptions
    log: Callable[..., None]
    out: Path
    t_start: float = field(default_factory=time.perf_counter)
    timings: dict = field(default_factory=dict)
    #: What reading --network warned about (None: nothing, or no --network).
    import_warnings: list | None = None

    def __post_init__(self) -> None:
        self.target = load_target(self.options.target)
        self.profile = load_profile(self.target.profile)
        self.mode = "fixed" if self.target.mode == "fixed" else "float"

    def timed(self, name: str, fn, *args, **kwargs):
        t = time.perf_counter()
        result = fn(*args, **kwargs)
        self.timings[name] = round(time.perf_counter() - t, 3)
        return result


def _run_deploy(options: DeployOptions, log: Callable[..., None], out: Path) -> DeployOutcome:
    """The deployment itself, stage by stage; every file goes into ``out`` (the staging
    folder)."""
    run = _Run(options, log, out)
    net0, layout, series = _starting_network(run)
    layout0, data = layout, _load_data(run, net0, layout)
    if data is None:
        inputs, encoded, input_info = run.timed("input", make_input, options, net0, *series)
    else:
        inputs, encoded, input_info = (run.timed("input", data_drive, data, options.steps),
                                       None, data.describe())
    log(f"drive: {input_info['kind']}, {inputs.shape[0]} steps x {inputs.shape[1]} channels")
    with beside("lnp-early") as pool:
        *unpruned, stability0 = _start_early(run, pool, net0, layout, encoded, input_info)
        try:
            if layout is None:
                net1, history = run.timed("prune", prune_network, options, net0, inputs, log)
            else:
                layout, history = run.timed("prune", prune_graph, options, layout, log)
                net1 = layout.network
        except BaseException:
            for future in [*unpruned, stability0]:
                future.cancel()     # the block under way ends before the pool closes
            raise
        log(f"pruned ({options.prune}): {net0.n_active_neurons} -> {net1.n_active_neurons} "
            f"neurons, {net0.n_active_synapses} -> {net1.n_active_synapses} synapses")
        forecast = _forecast_readout(run, net0, net1, layout, encoded, input_info, unpruned)
    readouts = None if forecast is None else forecast.readouts
    baseline = net0
    if readouts is not None:
        # The readout is a population of the deployed graph: written to network.nir,
        # run on the target, counted in the energy and the mapping; the unpruned
        # baseline carries its own readout, fitted the same way.
        layout = flatten(with_readout(net1, readouts[1]))
        baseline = flatten(with_readout(net0, readouts[0])).network
    deployed = _hand_over(run, net1, layout)
    reservoir_d = deployed.network if readouts is None else reservoir_of(deployed)
    runs = _run_engines(run, baseline, deployed, inputs)
    mapping, energy = _account(run, baseline, deployed, runs, inputs)
    measured = _measure(run, net0, reservoir_d, deployed, runs, stability0.result(),
                        None if forecast is not None else encoded, input_info)
    per_inference = None
    if readouts is not None:
        measured["task"] = run.timed("task_deployed", score_deployed_forecast,
                                     forecast.task, deployed, readouts[1], encoded, run.mode)
    elif forecast is not None:
        measured["task"] = forecast.task
    if data is not None:
        score = score_regression if data.task == "regression" else score_classification
        measured["task"] = run.timed("task", score, layout0, net0, deployed,
                                     data, output_population(layout0, options.network),
                                     run.mode, options.reference_accuracy,
                                     options.refit_readout)
        per_inference = _per_inference(energy, inputs, measured["task"], net0.dt)
        log(f"{measured['task']['metric']}: {measured['task']['unpruned']:.3g} unpruned -> "
            f"{measured['task']['pruned']:.3g} deployed on {measured['task']['n_test']} "
            f"samples")
        if "refitted" in measured["task"]:
            log(f"refitted readout: {measured['task']['refitted']['unpruned']:.3g} unpruned "
                f"-> {measured['task']['refitted']['pruned']:.3g} deployed")
    _write_arrays(run, net0, deployed, reservoir_d, runs, inputs, encoded, measured)
    record = _record(run, net0, net1, deployed, reservoir_d, runs, inputs, input_info,
                     history, mapping, energy, measured, per_inference)
    write_run_report(record.to_json(), out, options.out)
    return DeployOutcome(record.json_object(), deployed, runs.spikes, runs.spikes_unpruned,
                         inputs)


def write_run_report(record_json: str, folder: Path, final: Path) -> None:
    """``report.json`` (the text of :meth:`RunRecord.to_json`) and the run's own
    ``report.html`` / ``report.md`` in ``folder`` (the staging folder of a run whose files
    end up in ``final``): the report names the run by where it ends up
    (:func:`lnp_neuro.report.render.write_report`, ``shown_as``)."""
    with atomic_write(folder / "report.json") as tmp:
        tmp.write_text(record_json, encoding="utf-8")
    write_report([folder], folder, force=True, shown_as=[final], location=final)


def _starting_network(run: _Run):
    """The network to prune (built, or loaded with its population graph when it has
    several populations) and the task series of the drive."""
    options, log = run.options, run.log
    series = ((None, {}) if options.data is not None
              else run.timed("series", load_series, options))
    layout = None
    if options.prune_populations and (options.network is None
                                      or options.network.suffix != ".nir"):
        raise ValueError("--prune-populations applies to a --network .nir graph of several "
                         "populations")
    if options.network is None:
        net0 = run.timed("build", build_network, options, series_inputs(series[0], options))
        log(f"built {options.model.upper()}: {net0.n_active_neurons} neurons, "
            f"{net0.n_active_synapses} synapses (seed {options.seed})")
        return net0, layout, series
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net0 = run.timed("load", load_network, options.network, options.dt, options.source,
                         options.reset_mechanism, options.reset_delay)
    # What the import could not represent exactly, shown to the user and kept in the
    # record (the report's headline lists them as caveats).
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    run.import_warnings = [str(w.message) for w in caught
                           if issubclass(w.category, UserWarning)] or None
    if options.data is not None and not isinstance(net0, FlatLayout):
        raise ValueError(f"--data needs a --network graph with an output population; "
                         f"{options.network} is one recurrent network (a reservoir)")
    reservoir = deployed_reservoir(net0) if options.data is None else None
    if reservoir is not None:
        log(f"{options.network}: a deployed reservoir; its readout population {READOUT!r} "
            f"is left out (the task fits its own)")
        net0 = reservoir
    if isinstance(net0, FlatLayout):
        layout, net0 = net0, net0.network
        _refuse_delays(layout, options.network)
        if options.prune not in ("lnp", "none"):
            raise ValueError(f"--prune {options.prune} is not implemented for a graph of "
                             f"{len(layout.graph.populations)} populations (--network "
                             f"{options.network}); use --prune lnp or --prune none")
        log(f"loaded {options.network}: {layout.graph.summary()}")
    elif options.prune_populations:
        raise ValueError(f"--prune-populations applies to a --network graph of several "
                         f"populations; {options.network} is one recurrent network")
    else:
        log(f"loaded {options.network}: {net0}")
    check_memory(deploy_memory_estimate(net0.n_total_neurons, net0.n_active_synapses,
                                        options.steps, net0.n_inputs),
                 f"--network {options.network} ({net0.n_total_neurons} neurons), "
                 f"--steps {options.steps}")
    if series[0] is not None and net0.n_active_neurons < ESN_MIN_UNITS:
        # Checked here, before pruning, rather than when the task is scored.
        raise ValueError(f"--network {options.network} has {net0.n_active_neurons} active "
                         f"neuron(s); the task of --input {options.input} compares it with an "
                         f"echo-state network of as many units, which needs at least "
                         f"{ESN_MIN_UNITS} (use --input poisson: no task)")
    return net0, layout, series


def _load_data(run: _Run, net0: SpikingNetwork, layout: FlatLayout | None):
    """The checked ``--data`` set (None without it), after the graph's output population
    (:mod:`lnp_neuro.deploy.data`)."""
    if run.options.data is None:
        return None
    output = output_population(layout, run.options.network)
    a, b = layout.offsets[output]
    data = run.timed("data", load_data, run.options.data, net0.n_inputs, b - a,
                     run.target.name)
    run.log(f"data: {data.inputs.shape[0]} samples of {data.inputs.shape[1]} steps, "
            f"{data.scored.size} scored ({data.task})")
    check_task_options(data, run.options.reference_accuracy, run.options.refit_readout)
    if run.options.refit_readout:
        refit_source = readout_source(layout.graph, output)
        run.log(f"readout refit: on the spike counts of {refit_source!r}")
    return data


@dataclass(eq=False)
class _Forecast:
    """The forecast task scored before the hand-over: its record and the on-chip readouts
    (unpruned, pruned) deployed with the networks (None: read out off-chip)."""

    task: dict
    readouts: tuple | None


def _forecast_task(run: _Run, layout: FlatLayout | None, encoded) -> bool:
    # Whether the drive's task is the forecast scored before the hand-over.
    return layout is None and encoded is not None and run.options.input not in MEMORY_TASKS


def _start_early(run: _Run, pool, net0: SpikingNetwork,
                 layout: FlatLayout | None, encoded, input_info: dict) -> list:
    """Futures of what needs only the starting network, run on ``pool`` (``beside``)
    while it is pruned, which mostly keeps one core busy: the forecast's unpruned blocks
    (:func:`~lnp_neuro.deploy.measure.unpruned_blocks`; none without a forecast task),
    then its stability (``timings`` ``task_unpruned``, ``stability_before``)."""
    t = time.perf_counter()
    blocks = unpruned_blocks(net0, encoded, run.mode, input_info, run.options.vpt_starts) \
        if _forecast_task(run, layout, encoded) else []
    return [*(pool.submit(_timed_block, run, "task_unpruned", block, t) for block in blocks),
            pool.submit(_timed_block, run, "stability_before",
                        lambda: stability(net0, run.options.seed))]


def _timed_block(run: _Run, name: str, block: Callable[[], object], since=None):
    """``block()``; ``run.timings[name]``: the time from ``since`` (default: now) to its end."""
    t = time.perf_counter() if since is None else since
    result = block()
    run.timings[name] = round(time.perf_counter() - t, 3)
    return result


def _forecast_readout(run: _Run, net0: SpikingNetwork, net1: SpikingNetwork,
                      layout: FlatLayout | None, encoded, input_info: dict,
                      unpruned: list = ()):
    """The forecast task of a reservoir's series drive, scored before the hand-over so
    that its readout can be deployed as a population of the graph
    (:mod:`lnp_neuro.tasks.deployed_readout`); None for other drives (a memory task, a
    Poisson drive, a trained graph's --data), scored after the run as before. A
    reservoir that is not in the one-population form (a reset by subtraction, a late
    bias) keeps the off-chip readout (``task.readout`` "ridge"). ``unpruned``: the futures
    of its unpruned blocks (:func:`_start_early`)."""
    options = run.options
    if not _forecast_task(run, layout, encoded):
        return None
    on_chip = can_deploy_readout(net0) and can_deploy_readout(net1)
    task, readouts = run.timed("task", lambda: score_task(
        net0, net1, encoded, run.mode, input_info, run.log, options.vpt_starts, on_chip,
        (lambda: [future.result() for future in unpruned]) if unpruned else None))
    if on_chip:
        run.log(f"readout: {readouts[1].n_out} li neuron(s) on the chip, fed by "
                f"{readouts[1].neurons.size} reservoir neurons")
    return _Forecast(task, readouts if on_chip else None)


def _per_inference(energy: dict, inputs: np.ndarray, task: dict, dt: float):
    """``(energy_per_inference_joules, latency_per_inference_seconds)``: the target run's
    energy per step on each profile times the steps of one sample (the drive is the
    samples back to back, so a sample's latency tail overlaps the next sample), and the
    time from a sample's first step to its answer, (steps per sample + the output
    population's latency) x dt."""
    steps = task["steps_per_sample"]
    energy_per = {name: (None if p["energy_joules"] is None
                         else p["energy_joules"] / inputs.shape[0] * steps)
                  for name, p in energy["profiles"].items()}
    return energy_per, (steps + task["latency_steps"]) * dt


def _refuse_delays(layout: FlatLayout, path) -> None:
    """The deploy's baseline run, task scoring and accounting read the flat network, which
    holds one-step synapses only; a graph with longer delays runs through the engines
    (:mod:`lnp_neuro.engines`) but is not deployed yet."""
    delayed = [p for p in layout.graph.projections if p.delay_steps > 1]
    if delayed:
        raise ValueError(f"--network {path}: projection {delayed[0].name!r} has delay_steps="
                         f"{delayed[0].delay_steps}; lnp-deploy deploys projections of one "
                         f"step only (the engines in lnp_neuro.engines run longer delays)")


def _hand_over(run: _Run, net1: SpikingNetwork, layout: FlatLayout | None) -> DeployedNetwork:
    """Only the active neurons and synapses go into network.nir, with their original ids;
    the graph read back from the file is what every engine runs."""
    path = run.out / "network.nir"
    portable = run.out / PORTABLE_FILE if run.options.nir_portable else None
    if layout is None:
        deployed = run.timed("hand_over", hand_over, net1, path, portable)
    else:
        deployed = run.timed("hand_over", hand_over_graph, layout, path, portable)
    run.log(f"wrote network.nir and read it back: {deployed.network.n_total_neurons} "
            f"neurons, {deployed.network.n_active_synapses} synapses")
    return deployed


@dataclass(eq=False)
class _EngineRuns:
    """The rasters of one deployment: the unpruned baseline and the deployed graph on the
    target's engine, and that engine's parity against its reference."""

    spikes_unpruned: np.ndarray
    spikes: np.ndarray
    mismatches: int
    engine: Engine
    reference: Engine


def _run_engines(run: _Run, net0: SpikingNetwork, deployed: DeployedNetwork,
                 inputs: np.ndarray) -> _EngineRuns:
    """The unpruned network on the native simulator (the SOP baseline), the deployed graph
    on the target's engine and on its independent parity reference."""
    options, log, target, mode = run.options, run.log, run.target, run.mode
    engine = get_engine(target.backend)
    reference_engine = get_engine(engine.parity_reference)
    log("running the unpruned network on the native simulator (SOP baseline)")
    spikes0 = run.timed("run_unpruned", lambda: simulate(net0, inputs, mode=mode,
                                                         progress=options.progress).spikes)
    log(f"running the deployed graph on {target.name} ({target.description})")
    on_target = run.timed("run_target", engine.run, deployed, inputs, mode, options.progress)
    log(f"running it on the {reference_engine.name} engine (parity reference)")
    reference = run.timed("run_reference", reference_engine.run, deployed, inputs, mode)
    mismatches = parity(on_target, reference)
    if mismatches:
        log(f"WARNING: {mismatches} spike mismatch(es) between {target.name} ({engine.name}) "
            f"and the {reference_engine.name} engine on the same graph"
            + ("; they are expected to agree exactly" if engine.name != "norse" else ""))
    return _EngineRuns(spikes0, on_target.spikes, mismatches, engine, reference_engine)


def _account(run: _Run, net0: SpikingNetwork, deployed: DeployedNetwork, runs: _EngineRuns,
             inputs: np.ndarray):
    """Placement of the deployed network on the profile's cores and the energy of the run
    on every hardware profile."""
    options, profile = run.options, run.profile
    net_d = deployed.network
    limits = core_limits(profile)
    mapping = run.timed("map", map_to_cores, net_d, limits, options.mapping, runs.spikes,
                        options.seed) if limits is not None else None
    cores_used = mapping.cores_used if mapping is not None else None
    energy = run.timed("energy", energy_report, net_d, runs.spikes,
                       profiles_for_target(profile), (net0, runs.spikes_unpruned),
                       input_spikes=inputs,
                       cores_used={profile.name: cores_used} if cores_used is not None
                       else None,
                       mapping_strategy=options.mapping,
                       mappings={profile.name: mapping} if mapping is not None else None,
                       seed=options.seed)
    # Per projection (the reservoir: input->reservoir, reservoir->reservoir); they sum to
    # sops_and_mask (population sources) and sops_input (inputs).
    layout = layout_for(net_d, deployed.layout)
    energy["projections"] = (None if layout is None else
                             projection_sops(layout, runs.spikes, inputs))
    return mapping, energy


def _measure(run: _Run, net0: SpikingNetwork, net_d: SpikingNetwork,
             deployed: DeployedNetwork, runs: _EngineRuns, stability0, encoded,
             input_info: dict) -> dict:
    """Stability at the operating point before and after pruning and activity, of the
    starting network (its stability ``stability0``, measured while it was pruned) and
    the deployed one (``net_d``: its reservoir when the graph carries a readout, whose
    columns come first), and the drive's task when scored after the run (a memory task,
    the forecast of a reservoir left off the chip)."""
    options = run.options
    run.log("measuring stability at the operating point before and after pruning")
    measured = {"stability0": stability0,
                "stability1": run.timed("stability_after", stability, net_d, options.seed),
                "activity0": activity(runs.spikes_unpruned[:, :net0.n_total_neurons], net0),
                "activity1": activity(runs.spikes[:, :net_d.n_total_neurons], net_d),
                "task": None}
    if encoded is not None and options.input in MEMORY_TASKS:
        measured["task"] = run.timed("task", score_memory_task, net0, net_d, encoded,
                                     memory_task(options, encoded.series.shape[0]),
                                     run.mode, run.log)
    elif encoded is not None:    # a graph of populations on a series: read out off-chip
        measured["task"] = run.timed("task", score_task, net0, net_d, encoded, run.mode,
                                     input_info, run.log, options.vpt_starts, False)[0]
    return measured


def _write_arrays(run: _Run, net0: SpikingNetwork, deployed: DeployedNetwork,
                  net_d: SpikingNetwork, runs: _EngineRuns, inputs: np.ndarray, encoded,
                  measured: dict) -> None:
    """``run.npz`` (input, rasters per network and per population, the series) and
    ``analysis.npz`` (the Lyapunov spectra and time constants behind the plots, of the
    starting network and ``net_d``, the deployed one or its reservoir)."""
    with atomic_write(run.out / "run.npz") as tmp, open(tmp, "wb") as fh:
        extra = {} if encoded is None else {
            "series": encoded.series[: -(-inputs.shape[0] // encoded.steps_per_sample)],
            "steps_per_sample": np.int64(encoded.steps_per_sample)}
        if deployed.layout is not None:
            extra.update({f"spikes/{name}": raster.astype(bool)
                          for name, raster in deployed.populations(runs.spikes).items()})
        np.savez_compressed(fh, input_spikes=inputs.astype(bool),
                            spikes=runs.spikes.astype(bool), neuron_ids=deployed.neuron_ids,
                            spikes_unpruned=runs.spikes_unpruned.astype(bool), **extra)
    with atomic_write(run.out / "analysis.npz") as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, lyapunov_before=measured["stability0"].spectra[0].exponents,
                            lyapunov_after=measured["stability1"].spectra[0].exponents,
                            tau_mem_before=net0.tau_mem[net0.neuron_active],
                            tau_mem_after=net_d.tau_mem[net_d.neuron_active])


def _record(run: _Run, net0, net1, deployed, net_d, runs, inputs, input_info, history,
            mapping, energy, measured, per_inference=None) -> RunRecord:
    """The run record (``report.json``) of the deployment; the neuron and synapse counts
    before and after pruning are the starting network's and ``net_d``'s (the deployed
    network, or its reservoir when the graph carries a readout population: what pruning
    changed; the readout's are in ``deployed.populations``, the energy and the mapping)."""
    options, target, profile = run.options, run.target, run.profile
    stability0, stability1 = measured["stability0"], measured["stability1"]
    act0, act1 = measured["activity0"], measured["activity1"]
    cores_used = mapping.cores_used if mapping is not None else None
    deployed_info = {"network": "network.nir", "neurons": deployed.network.n_total_neurons,
                     "synapses": deployed.network.n_active_synapses,
                     "neuron_ids": "ids in the starting network: run.npz neuron_ids"
                                   + ("" if deployed.layout is not None else
                                      ", and network.nir neurons metadata "
                                      "lnp_neuro.neuron_ids"),
                     "engine": runs.engine.name,
                     "engine_description": runs.engine.description}
    populations, quantisation = _per_population(deployed, mapping, target.mode == "fixed")
    if populations is not None:
        deployed_info["populations"] = populations
    return RunRecord(
        label=_LABELS[options.prune],
        target=target.name, backend=runs.engine.name, mode=target.mode, profile=profile.name,
        steps=int(inputs.shape[0]), dt=net_d.dt,
        neurons_before=net0.n_active_neurons, neurons_after=net_d.n_active_neurons,
        synapses_before=net0.n_active_synapses, synapses_after=net_d.n_active_synapses,
        sops_dense=energy["baseline"]["sops_dense"], sops_pruned=energy["sops_and_mask"],
        sop_ratio=energy["sop_ratio"],
        energy_joules=energy["profiles"][profile.name]["energy_joules"],
        energy_by_profile={k: v["energy_joules"] for k, v in energy["profiles"].items()},
        cores_used=cores_used, mapping=mapping.summary() if mapping is not None else None,
        parity=runs.mismatches, parity_reference=runs.reference.name,
        spikes_before=int(np.count_nonzero(runs.spikes_unpruned)),
        spikes_after=int(np.count_nonzero(runs.spikes)),
        lambda_max_before=stability0.mean, lambda_max_after=stability1.mean,
        lambda_max_stderr_before=stability0.stderr, lambda_max_stderr_after=stability1.stderr,
        stability={"measure": "linear rate dynamics at the operating point "
                              "(lnp_neuro.dynamics.operating_point)",
                   "before": stability0.as_dict(), "after": stability1.as_dict()},
        activity={"fraction_firing_before": act0["fraction_firing"],
                  "fraction_firing_after": act1["fraction_firing"],
                  "rate_hz_before": act0["rate_hz"], "rate_hz_after": act1["rate_hz"]},
        task=measured["task"], history=history,
        baseline_budget=net1.metadata.get("baseline_budget"),
        energy=energy, input=input_info,
        options={k: v for k, v in asdict(options).items() if k not in ("progress",)
                 and not (k in _OMITTED_WHEN and _is_omitted_value(v, _OMITTED_WHEN[k]))},
        deployed=deployed_info,
        timings_seconds=run.timings,
        quantisation=quantisation,
        neurobench=neurobench_metrics(deployed.network, runs.spikes, inputs),
        energy_per_inference_joules=None if per_inference is None else per_inference[0],
        latency_per_inference_seconds=None if per_inference is None else per_inference[1],
        import_warnings=run.import_warnings,
        seconds=round(time.perf_counter() - run.t_start, 3))


def _per_population(deployed: DeployedNetwork, mapping, fixed: bool):
    """``deployed["populations"]`` (each population's summary and the cores its neurons
    occupy) and the ``quantisation`` record of a fixed-point target (None otherwise), with
    the weight bits per projection under ``quantisation["projections"]``."""
    net_d = deployed.network
    layout = layout_for(net_d, deployed.layout)
    fp = quantize(net_d) if fixed else None
    quantisation = None if fp is None else fp.error.as_dict()
    if layout is None:
        return None, quantisation
    summary = population_summary(layout)
    if deployed.layout is None:
        summary[0]["run_npz_key"] = "spikes"   # the reservoir's raster is run.npz spikes
    for entry, cores in zip(summary, population_cores(layout, mapping)):
        entry.update({k: v for k, v in cores.items() if k not in entry})
    if fp is not None:
        quantisation["projections"] = projection_quantisation(layout, fp)
    return summary, quantisation
