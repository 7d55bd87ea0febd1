"""A labelled data set as the drive of a deployed graph, and the accuracy of its output
population on it (``lnp-deploy --network MODEL.nir --data DATA.npz``).

What: ``DATA.npz`` holds ``inputs`` [samples, steps, n_inputs] (spikes: bool, or 0/1
numbers), exactly one of ``labels`` [samples] (non-negative integers: classification)
and ``targets`` [samples, n_outputs] (finite numbers, one column per neuron of the
output population: regression, scored by :mod:`lnp_neuro.deploy.regression`), and
optionally ``train`` [samples] (bool: samples a readout may be fitted on; the others are
scored; default: every sample is scored). :func:`load_data` checks every field and says
which one is wrong in one line (``ValueError``: exit status 2); nothing is unpickled
(each array's header is read before its data, an object array is refused by its header)
and each array's decoded size is bounded (:data:`MAX_DATA_BYTES`). Graded inputs (values
other than 0 and 1) are refused on every target: the engines' kernels, Lava's input
process and the energy account (a SOP per input spike) all take spikes, and no target
has a graded input path yet.

The target run (the energy account, the parity check) is driven by the samples
concatenated in file order and cut at ``--steps`` (all of them when they are fewer:
:func:`data_drive`). The accuracy (:func:`score_classification`) runs every scored
sample on its own, from rest, through the unpruned and the deployed graph on the native
simulator in the target's arithmetic (one prepared :class:`Simulator` per network, the
samples batched in one compiled loop, ``Simulator.run_batch``, in blocks on the cores),
for its steps plus the output population's latency (so the last input reaches the
output).
The prediction is the argmax over the output neurons (ties: the lowest index) of the
spike counts of a spiking output population, or of the membrane potential at the last
step of a leaky-integrator / integrator one (the snnTorch and norse convention for a
non-spiking readout).

Reason: a trained classifier's accuracy is the graph's own (its output population), not
a readout fitted afterwards, and it is measured in the arithmetic the target runs.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._util.parallel import map_blocks, n_threads
from ..engines.simulator import Simulator
from ..model.population import SPIKING_KINDS
from ..tasks.forecast import CONSTANT_SPREAD, constant_columns
from .refit import REFIT_METHOD, readout_source, refit_readout

__all__ = ["Dataset", "load_data", "output_responses", "check_task_options", "data_drive", "output_population",
           "score_classification", "MAX_DATA_BYTES", "CONSTANT_SPREAD"]

#: Largest decoded array a data file may hold (bytes).
MAX_DATA_BYTES = 1 << 30
_FIELDS = ("inputs", "labels", "train", "targets")
# Bytes of the blocks of samples scored at once on the threads (their inputs, counts and
# membranes: no raster is kept); and blocks per thread at least (a few, so that a
# descheduled thread holds up little of the rest).
_BLOCK_BYTES = 256 << 20
_BLOCKS_PER_THREAD = 2


@dataclass(frozen=True)
class Dataset:
    """A checked data file: ``inputs`` bool [samples, steps, n_inputs], ``train`` bool
    [samples] (False: scored), and either ``labels`` int64 [samples] (classification) or
    ``targets`` float64 [samples, n_outputs] (regression; ``labels`` None)."""

    inputs: np.ndarray
    labels: np.ndarray | None
    train: np.ndarray
    source: str
    targets: np.ndarray | None = None

    @property
    def scored(self) -> np.ndarray:
        return np.flatnonzero(~self.train)

    @property
    def task(self) -> str:
        """``"regression"`` (``targets``) or ``"classification"`` (``labels``)."""
        return "classification" if self.targets is None else "regression"

    def describe(self) -> dict:
        """The drive's description for report.json ``input``."""
        samples, steps, channels = self.inputs.shape
        return {"kind": "data", "source": self.source, "samples": int(samples),
                "steps_per_sample": int(steps), "channels": int(channels),
                "scored_samples": int(self.scored.size),
                "drive": "the samples concatenated in file order, cut at --steps"}


def _headers(path: Path) -> dict:
    """``{field: (shape, dtype)}`` of the arrays in ``path``, read from their .npy headers
    (no data, nothing unpickled)."""
    headers = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                with zf.open(info) as fh:
                    try:
                        version = np.lib.format.read_magic(fh)
                        read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                else np.lib.format.read_array_header_2_0)
                        shape, _, dtype = read(fh)
                    except ValueError as exc:
                        raise ValueError(f"--data {path}: field {name!r} is not a numpy "
                                         f"array ({exc})") from None
                headers[name] = (shape, dtype)
    except zipfile.BadZipFile:
        raise ValueError(f"--data {path}: not an .npz file (numpy.savez)") from None
    return headers


def _check_headers(path: Path, headers: dict) -> None:
    """Refuse unknown, missing, pickled, oversized and unsupported fields."""
    unknown = sorted(set(headers) - set(_FIELDS))
    if unknown:
        raise ValueError(f"--data {path}: field {unknown[0]!r} is not one of "
                         f"{', '.join(_FIELDS)}")
    if "inputs" not in headers:
        raise ValueError(f"--data {path}: field 'inputs' is missing")
    if "labels" not in headers and "targets" not in headers:
        raise ValueError(f"--data {path}: field 'labels' (classification) or 'targets' "
                         f"(regression) is missing")
    if "labels" in headers and "targets" in headers:
        raise ValueError(f"--data {path}: fields 'labels' and 'targets' are both given; give "
                         f"one: 'labels' (classification) or 'targets' (regression)")
    for name, (shape, dtype) in headers.items():
        if dtype.hasobject:
            raise ValueError(f"--data {path}: field {name!r} is an object array (it would "
                             f"need unpickling): refused")
        if int(np.prod(shape, dtype=np.float64)) * dtype.itemsize > MAX_DATA_BYTES:
            raise ValueError(f"--data {path}: field {name!r} of shape {shape} is larger "
                             f"than {MAX_DATA_BYTES >> 20} MiB")


def _spikes(path: Path, x: np.ndarray, target: str | None) -> np.ndarray:
    """``inputs`` as bool spikes: bool, or numbers that are all 0 or 1 (graded values are
    refused naming ``target``: module docstring)."""
    if x.ndim != 3 or 0 in x.shape:
        raise ValueError(f"--data {path}: field 'inputs' must be [samples, steps, n_inputs] "
                         f"and non-empty, got shape {x.shape}")
    if x.dtype == bool:
        return x
    if x.dtype.kind not in "iuf":
        raise ValueError(f"--data {path}: field 'inputs' must hold spikes (bool or 0/1), "
                         f"got dtype {x.dtype}")
    if not np.isin(x, (0, 1)).all():
        where = "" if target is None else f"target {target} "
        raise ValueError(f"--data {path}: field 'inputs' holds values other than 0 and 1 "
                         f"(graded input); {where}runs spike inputs only, as every target "
                         f"does for now: give bool spikes")
    return x.astype(bool)


def load_data(path: Path, n_inputs: int, n_outputs: int | None = None,
              target: str | None = None) -> Dataset:
    """The checked data file ``path`` for a graph of ``n_inputs`` input channels and an
    output population of ``n_outputs`` neurons (the columns ``targets`` needs; None: not
    checked) deployed on ``target`` (named in a refusal of graded inputs) (module
    docstring); ``ValueError`` naming the file and the field otherwise."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--data {path}: no such file")
    _check_headers(path, _headers(path))
    with np.load(path, allow_pickle=False) as npz:
        raw = {name: npz[name] for name in npz.files}
    inputs = _spikes(path, raw["inputs"], target)
    samples = inputs.shape[0]
    if inputs.shape[2] != n_inputs:
        raise ValueError(f"--data {path}: field 'inputs' has {inputs.shape[2]} channels, the "
                         f"graph has {n_inputs} inputs")
    train = _train(path, raw, samples)
    if "targets" in raw:
        targets = _targets(path, raw["targets"], samples, n_outputs, train)
        return Dataset(inputs=inputs, labels=None, train=train, source=str(path),
                       targets=targets)
    labels = raw["labels"]
    if labels.dtype.kind not in "iu" or labels.shape != (samples,):
        raise ValueError(f"--data {path}: field 'labels' must be integers, one per sample "
                         f"({samples}), got {labels.dtype} of shape {labels.shape}")
    if (labels < 0).any():
        raise ValueError(f"--data {path}: field 'labels' must be >= 0, got {labels.min()}")
    scored = np.unique(labels[~train])
    if scored.size < 2:
        # Chance is then 1.0: a graph that always answers that class scores a perfect
        # accuracy without telling the classes apart.
        raise ValueError(f"--data {path}: field 'labels' holds one class ({scored[0]}) over "
                         f"the {int((~train).sum())} scored sample(s), so the accuracy is "
                         f"undefined (chance is 1.0); score samples of at least two classes")
    return Dataset(inputs=inputs, labels=labels.astype(np.int64), train=train,
                   source=str(path))


def _train(path: Path, raw: dict, samples: int) -> np.ndarray:
    """``train`` (default: no sample), bool, one per sample, leaving some to score."""
    train = raw.get("train", np.zeros(samples, dtype=bool))
    if train.dtype != bool or train.shape != (samples,):
        raise ValueError(f"--data {path}: field 'train' must be bool, one per sample "
                         f"({samples}), got {train.dtype} of shape {train.shape}")
    if train.all():
        raise ValueError(f"--data {path}: field 'train' marks every sample for training; "
                         f"none is left to score")
    return train


def _targets(path: Path, y: np.ndarray, samples: int, n_outputs: int | None,
             train: np.ndarray) -> np.ndarray:
    """``targets`` as float64 [samples, n_outputs]: finite numbers, one column per output
    neuron, none constant over the scored samples (its NRMSE would be undefined, and
    any prediction of that constant perfect: as a forecast's series,
    :func:`~lnp_neuro.tasks.forecast.constant_columns`)."""
    if y.dtype.kind not in "iuf":
        raise ValueError(f"--data {path}: field 'targets' must hold numbers, got dtype "
                         f"{y.dtype}")
    if y.ndim != 2 or y.shape[0] != samples or y.shape[1] == 0:
        raise ValueError(f"--data {path}: field 'targets' must be [samples, n_outputs] with "
                         f"one row per sample ({samples}), got shape {y.shape}")
    if n_outputs is not None and y.shape[1] != n_outputs:
        raise ValueError(f"--data {path}: field 'targets' has {y.shape[1]} column(s), the "
                         f"graph's output population has {n_outputs} neuron(s)")
    y = y.astype(np.float64)
    bad = int(np.count_nonzero(~np.isfinite(y)))
    if bad:
        raise ValueError(f"--data {path}: field 'targets' holds {bad} non-finite value(s) "
                         f"(NaN or inf)")
    scored = y[~train]
    _, flat = constant_columns(scored)
    if flat.size:
        raise ValueError(f"--data {path}: field 'targets' is constant (or nearly) over the "
                         f"{scored.shape[0]} scored sample(s) in column(s) "
                         f"{', '.join(str(int(c)) for c in flat[:10])}, so the NRMSE is "
                         f"undefined; score samples whose targets vary")
    return y


def check_task_options(data: Dataset, reference_accuracy: float | None,
                       refit: bool) -> None:
    """Refuse options the data set's task cannot take: ``--reference-accuracy`` with
    regression ``targets`` (an accuracy means nothing there, and an NRMSE under its name
    would be misread), ``--refit-readout`` without training samples of two classes
    (classification) or without two training samples (regression)."""
    if data.task == "regression" and reference_accuracy is not None:
        raise ValueError(f"--reference-accuracy applies to classification 'labels'; --data "
                         f"{data.source} holds regression 'targets'")
    if not refit:
        return
    n_train = int(data.train.sum())
    if data.task == "classification" and np.unique(data.labels[data.train]).size < 2:
        raise ValueError(f"--refit-readout needs training samples of two classes or "
                         f"more: --data {data.source} marks {n_train} samples 'train'")
    if data.task == "regression" and n_train < 2:
        raise ValueError(f"--refit-readout needs two training samples or more: --data "
                         f"{data.source} marks {n_train} samples 'train'")


def data_drive(data: Dataset, steps: int) -> np.ndarray:
    """The target run's drive: the samples concatenated in file order, cut at ``steps``."""
    samples, length, channels = data.inputs.shape
    needed = min(samples, -(-steps // length))
    return data.inputs[:needed].reshape(needed * length, channels)[:steps]


def output_population(layout, path) -> str:
    """The one output population of a graph's flat layout (refused: none, several)."""
    outputs = [name for name in layout.graph.outputs if name in layout.offsets]
    if len(outputs) != 1:
        raise ValueError(f"--data needs a graph with one output population; --network "
                         f"{path} has {len(outputs)} ({', '.join(outputs) or 'none'})")
    return outputs[0]


def _responses(net, inputs: np.ndarray, latency: int, mode: str, out_cols: np.ndarray,
               spiking: bool, hidden_cols: np.ndarray | None = None,
               workers: int | None = None):
    """Per sample, run from rest: the output columns' scores (spike counts, or the
    membrane at the last step of a non-spiking output) and, with ``hidden_cols``, those
    neurons' spike counts (the features of a refitted readout).

    The samples run in batches through one prepared Simulator
    (:meth:`~lnp_neuro.engines.simulator.Simulator.run_batch`: each sample from rest,
    bit for bit its own run), in blocks of at most :data:`_BLOCK_BYTES` on
    ``workers`` threads (default: numba's thread count,
    :func:`~lnp_neuro._util.parallel.map_blocks`; the kernels release the GIL), so every
    score is the one the sample gets on its own, whatever the number of threads."""
    sim = Simulator(net, mode)
    samples, steps, channels = inputs.shape
    length = steps + latency
    scores = np.empty((samples, out_cols.size))
    counts = None if hidden_cols is None else np.empty((samples, hidden_cols.size))
    threads = n_threads() if workers is None else max(1, int(workers))
    per_sample = length * channels + 16 * net.n_total_neurons     # inputs, counts, v
    most = max(1, _BLOCK_BYTES // (threads * per_sample))
    n_blocks = max(1, min(samples, max(-(-samples // most), threads * _BLOCKS_PER_THREAD)))
    bounds = np.linspace(0, samples, n_blocks + 1).astype(np.int64)

    def block(b: int) -> None:
        lo, hi = bounds[b], bounds[b + 1]
        x = np.zeros((hi - lo, length, channels), dtype=bool)
        x[:, :steps] = inputs[lo:hi]
        result = sim.run_batch(x, v_steps=None if spiking else [-1], raster=False)
        scores[lo:hi] = (result.counts[:, out_cols] if spiking
                         else result.v[:, 0, out_cols])
        if counts is not None:
            counts[lo:hi] = result.counts[:, hidden_cols]

    map_blocks(block, n_blocks, threads)
    return scores, counts


def _scores(net, columns: np.ndarray, places: np.ndarray, size: int, spiking: bool,
            inputs: np.ndarray, latency: int, mode: str, workers: int | None = None
            ) -> np.ndarray:
    """Per sample, the ``size`` output neurons' scores (:func:`_responses`; -inf for a
    neuron not deployed: ``places`` are the deployed ones' indices among them)."""
    raw, _ = _responses(net, inputs, latency, mode, columns, spiking, workers=workers)
    return _placed(raw, places, size)


def _placed(raw: np.ndarray, places: np.ndarray, size: int,
            fill: float = -np.inf) -> np.ndarray:
    """Scores ``[samples, size]`` with the deployed output neurons' ``raw`` scores at
    their ``places``, ``fill`` for an output neuron pruning removed (-inf: never a
    classifier's argmax; a regressor's 0: the rest state the neuron would hold)."""
    scores = np.full((raw.shape[0], size), fill)
    scores[:, places] = raw
    return scores


def output_responses(layout0, net0, deployed, inputs: np.ndarray, output: str, mode: str,
                     source: str | None = None, fill: float = -np.inf) -> dict:
    """``{"unpruned": (scores, counts), "pruned": (scores, counts)}``: every sample of
    ``inputs`` run from rest (:func:`_responses`) through the unpruned graph
    (``layout0``'s ``net0``) and the deployed one; ``scores [samples, size]`` are the
    output population's, placed on the starting graph's output neurons (:func:`_placed`,
    ``fill`` for a pruned one), ``counts`` the spike counts of the ``source`` population
    (None without it): what a classifier's and a regressor's scores are made of."""
    a, b = layout0.offsets[output]
    spiking = layout0.graph.populations[output].kind in SPIKING_KINDS
    latency = int(deployed.layout.latency[output])
    da, db = deployed.layout.offsets[output]
    out = {}
    for name, net, lay, out_cols, places in (
            ("unpruned", net0, layout0, np.arange(a, b), np.arange(b - a)),
            ("pruned", deployed.network, deployed.layout, np.arange(da, db),
             deployed.neuron_ids[da:db] - a)):
        hidden = None if source is None else np.arange(*lay.offsets[source])
        raw, counts = _responses(net, inputs, latency, mode, out_cols, spiking, hidden)
        out[name] = (_placed(raw, places, b - a, fill), counts)
    return out


def score_classification(layout0, net0, deployed, data: Dataset, output: str, mode: str,
                         reference_accuracy: float | None, refit: bool = False) -> dict:
    """report.json ``task`` of a classification data set (module docstring): accuracy of
    the unpruned (``layout0``'s ``net0``) and the deployed graph on the scored samples;
    with ``refit``, also each one's accuracy with its readout refitted on the training
    samples (:func:`lnp_neuro.deploy.refit.refit_readout`)."""
    a, b = layout0.offsets[output]
    kind = layout0.graph.populations[output].kind
    spiking = kind in SPIKING_KINDS
    latency = int(deployed.layout.latency[output])
    classes = b - a
    if data.labels.max() >= classes:
        raise ValueError(f"--data {data.source}: field 'labels' holds class "
                         f"{data.labels.max()}, output population {output!r} has {classes} "
                         f"neurons")
    scored = data.scored
    source = readout_source(layout0.graph, output) if refit else None
    runs_on = np.arange(data.labels.size) if refit else scored
    is_scored = ~data.train[runs_on]
    accuracy, refitted = {}, {}
    for name, (scores, counts) in output_responses(layout0, net0, deployed,
                                                   data.inputs[runs_on], output, mode,
                                                   source).items():
        accuracy[name] = float(np.mean(np.argmax(scores[is_scored], axis=1)
                                       == data.labels[runs_on][is_scored]))
        if source is not None:
            refitted[name] = refit_readout(counts, data.labels[runs_on], data.train[runs_on])
    labels = data.labels[scored]
    chance = float(np.bincount(labels, minlength=classes).max() / labels.size)
    task = {"name": "classification", "metric": "accuracy", **accuracy,
            "n_test": int(labels.size), "classes": int(classes), "chance": chance,
            "chance_rule": "majority-class rate of the scored samples",
            "engine": f"native {mode}", "output_population": output,
            "output_kind": kind,
            "prediction": ("argmax of spike counts" if spiking
                           else "argmax of the membrane potential at the last step"),
            "steps_per_sample": int(data.inputs.shape[1]), "latency_steps": latency,
            "reference_accuracy": reference_accuracy}
    if refitted:
        task["refitted"] = {"unpruned": refitted["unpruned"]["accuracy"],
                            "pruned": refitted["pruned"]["accuracy"],
                            "source_population": source,
                            "n_train": int(data.train.sum()),
                            "alpha": {k: v["alpha"] for k, v in refitted.items()},
                            "method": REFIT_METHOD}
    return task
