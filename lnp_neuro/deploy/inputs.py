"""The starting network (built or loaded) and the drive it runs on."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._util.limits import check_memory, deploy_memory_estimate
from ..model import FlatLayout, flatten
from ..model.build import build_network as build
from ..model.build import expected_synapses
from ..model.network import SpikingNetwork
from ..nir import read_graph
from ..nir.reservoir_files import read_nir
from ..tasks import dynamical
from ..tasks.code_choice import STEP_CHOICES, choose_code
from ..tasks.forecast import ForecastSplit, check_scorable, encode_series
from ..tasks.memory import MEMORY_TASKS, SeriesTask, make_task
from ..tasks.series import read_csv_columns
from .options import CHOSEN_CODE_SETTINGS, SERIES_INPUTS, DeployOptions

__all__ = ["load_network", "build_network", "load_series", "series_inputs", "make_input",
           "check_build_size", "memory_task", "check_task_series"]


def load_network(path: Path, dt: float | None = None, source: str = "nir",
                 reset_mechanism: str | None = None, reset_delay: bool | None = None
                 ) -> SpikingNetwork | FlatLayout:
    """A network from ``.nir`` (HDF5, via NIR; ``dt`` for a graph that stores none) or
    ``.npz`` (lnp_neuro's own format).

    A NIR graph of one recurrent population (the reservoir form) is read as a
    :class:`SpikingNetwork`, as it always was; a graph of several populations (a trained
    classifier, the NIR paper's Braille graphs), or any graph read with its source
    framework's conventions (``source``, ``reset_mechanism``, ``reset_delay``:
    :mod:`lnp_neuro.nir.source`), as a population graph, returned in its flat layout
    (:func:`lnp_neuro.model.flatten`).
    """
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such network file")
    if path.suffix == ".nir" and (source != "nir" or reset_mechanism is not None):
        return flatten(read_graph(path, dt=dt, source=source,
                                  reset_mechanism=reset_mechanism, reset_delay=reset_delay))
    if path.suffix == ".nir":
        try:
            return read_nir(path, dt=dt)
        except ValueError as single:
            several = "spiking populations" in str(single)
            try:
                graph = read_graph(path, dt=dt)
            except ValueError:
                if several:
                    raise      # the graph reader's message says what it cannot read
                raise single from None
            if not several and len(graph.populations) < 2:
                raise single from None
        return flatten(graph)
    if path.suffix == ".npz":
        return SpikingNetwork.load(path)
    raise ValueError(f"{path}: a network file must end in .nir or .npz")


def build_network(options: DeployOptions, n_inputs: int) -> SpikingNetwork:
    """The starting network of ``--model`` (:func:`lnp_neuro.model.build.build_network`)."""
    return build(options.model, options.neurons, seed=options.seed, n_inputs=n_inputs,
                 density=options.density, n_clusters=options.clusters)


def load_series(options: DeployOptions) -> tuple[np.ndarray, dict] | tuple[None, dict]:
    """The task series of ``--input`` (None for a Poisson drive): ``max(task_samples,
    steps / steps_per_sample)`` samples of Lorenz-63 or Rossler, a memory task's inputs,
    or the CSV's rows (at most that many). A CSV or ``lorenz-x`` run with a built network
    chooses the code settings it was not given on the series' training samples
    (:func:`_choose_code`), sets them in ``options`` and reports the choice
    (``code_choice``)."""
    if options.input == "poisson":
        return None, {"kind": "poisson", "rate_per_step": options.rate}
    n = _task_length(options)
    if options.input in MEMORY_TASKS:
        task = memory_task(options)
        info = {"kind": options.input, "source": task.info["source"],
                "definition": task.info["definition"]}
        if options.input == "lorenz-x":
            info.update(dt_model=task.info["dt_model"], horizon=task.info["horizon"],
                        lambda_max=dynamical.LORENZ63_LAMBDA_MAX)
        # Only lorenz-x has code settings to choose (options.CODE_CHOOSING_TASKS). No test
        # target is read: choose_code keeps x[: 101 + a] (training_part: a ForecastSplit
        # of the n inputs, washout 100, a = round(0.7 (n - 101)) training samples), and
        # the task's TaskSplit (same washout and fraction) trains on b = round(0.7
        # (n - 100)) >= a samples, whose targets x[t + h] reach x[99 + b + h] >= x[100 + a];
        # its first test target is x[100 + b + h]. For --horizon h > 1 the choice still
        # judges a code by the one-step forecast of x on those training samples: how well
        # the code carries the series, not the h-step task itself.
        _choose_code(options, task.inputs, info)
        return task.inputs, info
    if options.input in SERIES_INPUTS:
        if options.input == "lorenz":
            data = dynamical.lorenz63(n_samples=n + 2, split=(n, 1, 1), seed=options.seed)
        else:
            data = dynamical.rossler(n_samples=7700 + n + 2, split=(n, 1, 1),
                                     seed=options.seed)
        check_task_series(data.train[:n], options)
        return data.train[:n], {"kind": options.input, "source": "RK4 (design section 4)",
                                "dt_model": data.dt,
                                "lambda_max": (dynamical.LORENZ63_LAMBDA_MAX
                                               if options.input == "lorenz"
                                               else dynamical.ROSSLER_LAMBDA_MAX)}
    values, columns = read_csv_columns(options.input, min_rows=200)
    values = values[:n]
    check_task_series(values, options)
    info = {"kind": "csv", "source": str(options.input), "columns": list(columns)}
    _choose_code(options, values, info)
    return values, info


def _choose_code(options: DeployOptions, series: np.ndarray, info: dict) -> None:
    """Choose the code settings ``options`` leaves to the choice (``code_to_choose``; none:
    nothing to do) on the training samples of ``series``
    (:func:`lnp_neuro.tasks.code_choice.choose_code`), set them in ``options`` and report
    the choice as ``info["code_choice"]``; the settings given are kept."""
    if not options.code_to_choose:
        return
    need = ForecastSplit.min_samples()    # training_part splits the series as the forecast
    if series.shape[0] < need:
        raise ValueError(f"--task-samples {options.task_samples}: choosing the code of "
                         f"--input {options.input} needs at least {need} samples (a washout "
                         f"of 100, then train and test samples), got {series.shape[0]}; or "
                         f"give --scaling, --steps-per-sample, --copies and --code")
    given = {k: getattr(options, k) for k in CHOSEN_CODE_SETTINGS
             if k not in options.code_to_choose}
    try:
        choice = choose_code(series, given=given)
    except ValueError as exc:
        raise ValueError(f"--input {options.input}: {exc}") from None
    options.code_chosen(choice.settings())
    info["code_choice"] = choice.as_dict()


def _task_length(options: DeployOptions) -> int:
    """As many samples as the drive needs, and at least the ones the task is scored on.
    Steps per sample still to choose count as the fewest the choice may take, so the
    series covers ``--steps`` whichever it takes."""
    per_sample = (min(STEP_CHOICES) if "steps_per_sample" in options.code_to_choose
                  else options.steps_per_sample)
    return max(options.task_samples, -(-options.steps // per_sample))


def memory_task(options: DeployOptions, n_samples: int | None = None) -> SeriesTask:
    """The task of a memory ``--input`` (:mod:`lnp_neuro.tasks.memory`), drawn from
    ``--seed``: the same inputs and targets every time it is asked for. ``n_samples``:
    the length of the series the drive was made from (None: the length
    :func:`load_series` gives before a code is chosen; after the choice the steps per
    sample may differ, so the scorer passes the encoded series' length)."""
    n = _task_length(options) if n_samples is None else n_samples
    return make_task(options.input, n, seed=options.seed, horizon=options.horizon)


def check_task_series(series: np.ndarray, options: DeployOptions) -> None:
    """Refuse, before a network is built or pruned, a series the one-step forecast cannot
    be scored on (:func:`lnp_neuro.deploy.measure.score_task` splits it the same way): too
    few samples for the split, or constant overall or over the scored samples."""
    need = ForecastSplit.min_samples()
    if series.shape[0] < need:
        raise ValueError(f"--task-samples {options.task_samples}: the one-step forecast "
                         f"needs at least {need} samples of --input {options.input} (a "
                         f"washout of 100, then train and test samples), got "
                         f"{series.shape[0]}")
    try:
        check_scorable(series, ForecastSplit(series.shape[0]))
    except ValueError as exc:
        raise ValueError(f"--input {options.input}: {exc}") from None


def series_inputs(series: np.ndarray | None, options: DeployOptions) -> int:
    """Input channels a built network needs for the drive (ON/OFF pairs x copies; twice
    the pairs with the change channels of ``--code delta``)."""
    if series is None:
        return 6
    return 2 * series.shape[1] * (2 if options.code == "delta" else 1) * options.copies


def make_input(options: DeployOptions, net: SpikingNetwork, series: np.ndarray | None,
               info: dict):
    """The target's drive ``[steps, n_inputs]``, the encoded series (or None), and the
    drive's description for the report."""
    if series is None:
        rng = np.random.default_rng(np.random.SeedSequence([options.seed, 1]))
        spikes = rng.random((options.steps, net.n_inputs)) < options.rate
        return spikes, None, {**info, "channels": net.n_inputs}

    fit = max(2, int(0.7 * series.shape[0]))
    encoded = encode_series(series, net.n_inputs, dt=net.dt,
                            steps_per_sample=options.steps_per_sample, fit_samples=fit,
                            scaling=options.scaling, code=options.code)
    if encoded.spikes.shape[0] < options.steps:
        raise ValueError(f"--steps {options.steps} is longer than the series of --input "
                         f"{options.input} ({series.shape[0]} samples x --steps-per-sample "
                         f"{options.steps_per_sample} = {encoded.spikes.shape[0]} steps)")
    return encoded.spikes[: options.steps], encoded, {**info, **encoded.describe()}



def check_build_size(options: DeployOptions) -> None:
    """Refuse a network to build, or a run, that cannot fit in memory (before allocating)."""

    series_drive = options.input != "poisson"
    # A CSV's dimension count is not known before reading it; three (Lorenz, Rossler) is
    # the estimate, the file is checked again once read. A code still to choose with the
    # copies given may choose delta, which doubles the channels.
    delta = options.code == "delta" or ("code" in options.code_to_choose
                                        and "copies" not in options.code_to_choose)
    n_inputs = 2 * 3 * (2 if delta else 1) * options.copies if series_drive else 6
    # The forecast is scored on the whole encoded series, usually longer than the drive;
    # a series whose steps per sample are still to be chosen may choose the longest.
    per_sample = (max(STEP_CHOICES) if "steps_per_sample" in options.code_to_choose
                  else options.steps_per_sample)
    steps = max(options.steps, _task_length(options) * per_sample if series_drive else 0)
    synapses = expected_synapses(options.model, options.neurons, options.density,
                                 options.clusters)
    check_memory(deploy_memory_estimate(options.neurons, synapses, steps, n_inputs,
                                        encoded=series_drive),
                 f"--neurons {options.neurons}, --steps {options.steps}"
                 + (f", --task-samples {options.task_samples} x --steps-per-sample "
                    f"{per_sample}, --copies {options.copies}"
                    if series_drive else ""),
                 neurons=options.neurons)


