"""Experiment runner: the paper's comparison grid (Table 2 and the noise-robustness table).

A grid is the product {unpruned, AP, LNP, random} x {HRSNN, CHRSNN} x {BP, STDP} x tasks x
seeds. Every run is independent and deterministic (its seeds derive from the grid seed and
the run's coordinates), produces one JSON row, and can execute in a local process pool or
on a Dask cluster. ``lnp-experiment --out DIR`` writes ``DIR/summary.json`` (all rows),
``DIR/runs/<run>.json`` (each row as it completes), ``DIR/table2.md`` (mean +- std of SOPs,
NRMSE and VPT per pruning / model / training, shaped like the paper's Table 2),
``DIR/noise.md`` (NRMSE at input SNR 50..10 dB, the paper's noise table) and
``DIR/config.json``.

One run (``run_one``), for a prediction task (Lorenz-63, Rossler; design section 4):

1. Data: the task's series with the run seed; one protocol window of the training split
   (``n_train`` = 500 samples to fit, the next ``n_predict`` = 100 to predict,
   :func:`lnp_neuro.tasks.prediction_windows`).
2. Encoding: min-max scaling fitted on the 500 training samples (G's
   :class:`~lnp_neuro.tasks.RateEncoder` scaling), then a deterministic rate code with
   ``input_copies`` phase-staggered channels per dimension (:func:`population_rate_code`):
   each sample is held for ``steps_per_sample`` SNN steps and coded on its own (error
   diffusion restarted at every sample), so a closed-loop forecast can encode its own
   predictions exactly as the training data were encoded. One channel would resolve only
   ``steps_per_sample * max_rate * dt`` intensity levels per sample (5 with the defaults,
   i.e. a fifth of the attractor's range, far above the 0.1 NRMSE tolerance of VPT);
   M staggered copies resolve M times more.
3. Network: ``models.hrsnn`` / ``models.chrsnn`` with the run seed (the same network for
   every pruning method of one seed, so comparisons are paired), then pruning:
   ``unpruned``; ``lnp`` (:func:`lnp_neuro.prune.pipeline.lnp`, task-agnostic);
   ``random`` (the start network rewired as an Erdos-Renyi graph with the LNP result's
   neuron and synapse counts, :func:`lnp_neuro.prune.baselines.random_network_like`);
   ``ap`` (activity pruning, Rust et al. 1997,
   :func:`lnp_neuro.prune.baselines.activity_prune_on_task`, the implementation
   ``lnp-deploy`` uses: driven by the task's training input, a ridge readout refitted
   after every round).
4. Training: ``bp`` (:class:`~lnp_neuro.training.bp.SurrogateGradientBP`: recurrent,
   input and readout weights) or ``stdp`` (:class:`~lnp_neuro.training.stdp.STDPTrainer`:
   STDP on the recurrent layer, then the readout). The 500 training samples are cut into
   windows of ``washout + window`` samples (targets only after the washout); the readout
   predicts the next sample at the last SNN step of every sample, on standardised targets.
5. Evaluation, after a warm-up on the last ``warmup`` training samples:
   ``nrmse``: open-loop (teacher-forced) one-step-ahead NRMSE over the 100 test samples;
   ``vpt``: valid prediction time (Vlachas et al. 2020, epsilon 0.1) of the CLOSED-LOOP
   forecast (predictions fed back as input), in samples (``vpt_lyapunov``: in Lyapunov
   times where the exponent is known; ``vpt_eps05``: the same at epsilon 0.5);
   ``nrmse_closed_loop`` of that forecast;
   ``nrmse_snr``: open-loop NRMSE when Gaussian noise of the given SNR (dB, relative to
   each dimension's variance over the training samples) is added to the test input;
   ``sops``: synaptic operations of the recurrent layer during the open-loop test
   presentation, AND-mask model (:func:`lnp_neuro.energy.count_sops`).

For the image task (``digits``, scikit-learn's 8x8 digits) rows carry ``accuracy`` on the
held-out images instead of NRMSE/VPT; images are presented as Poisson spike trains
(``image_t_input`` then ``image_t_silence``) and classified from the time-averaged readout
features.

Numbers of the defaults are chosen for this 2-core machine (N = 100, few epochs), far
below the paper's 5000-neuron, 100-iteration setting; ``docs/results.md`` states what was
run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import traceback
import zlib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from .cli import _positive_int  # the one argparse type of both console scripts
from .io_utils import json_default as _json_default, strict_json
from .threads import deterministic_threads

__all__ = ["PRUNINGS", "MODELS", "TRAININGS", "TASKS", "SNR_DB", "RunSpec",
           "ExperimentConfig", "population_rate_code", "grid", "run_one", "run_grid", "summarize",
           "format_table2", "format_noise_table", "write_outputs", "code_fingerprint", "main"]

PRUNINGS = ("unpruned", "ap", "lnp", "random")
MODELS = ("hrsnn", "chrsnn")
TRAININGS = ("bp", "stdp")
TASKS = ("lorenz63", "rossler", "digits")
PREDICTION_TASKS = ("lorenz63", "rossler")
SNR_DB = (50, 40, 30, 20, 10)


# ------------------------------------------------------------------------ specs
@dataclass(frozen=True)
class RunSpec:
    """Coordinates of one run of the grid."""

    pruning: str
    model: str
    training: str
    task: str
    seed: int

    def __post_init__(self) -> None:
        for name, allowed in (("pruning", PRUNINGS), ("model", MODELS),
                              ("training", TRAININGS), ("task", TASKS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) \
                or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")

    @property
    def key(self) -> str:
        return f"{self.task}-{self.model}-{self.pruning}-{self.training}-s{self.seed}"


@dataclass
class ExperimentConfig:
    """Sizes and hyper-parameters shared by every run of a grid (validated).

    Network: ``n_neurons``, ``density`` (HRSNN), ``n_clusters``, ``intra_density``,
    ``inter_density`` (CHRSNN), ``gain``, ``input_scale``, ``v_threshold``.
    Prediction protocol: ``n_train``, ``n_predict``, ``steps_per_sample``, ``max_rate``
    (Hz at intensity 1), ``input_copies`` (channels per dimension), ``window``,
    ``washout``, ``warmup`` (samples).
    Training: ``bp_epochs``, ``readout_epochs``, ``stdp_epochs``, ``learning_rate``,
    ``batch_size``, ``patience``, ``stdp_a_plus``.
    Pruning: ``lnp_iter`` and ``lnp_kwargs`` (passed to ``lnp``), ``ap_iter``,
    ``ap_fraction``.
    Noise: ``snr_db``. Images: ``image_train``, ``image_test``, ``image_t_input``,
    ``image_t_silence``, ``image_max_rate``, ``image_input_scale`` (64 pixel channels
    need a smaller input weight than the 24 series channels for a similar firing rate).

    Defaults give firing rates of roughly 50-150 Hz (measured on Lorenz-63 input:
    HRSNN ~0.1 and CHRSNN ~0.11 spikes per neuron per step at N = 200), far from both
    silence and saturation.
    """

    n_neurons: int = 100
    density: float = 0.1
    n_clusters: int = 4
    intra_density: float = 0.25
    inter_density: float = 0.03
    gain: float = 1.0
    input_scale: float = 0.05
    v_threshold: float = 1.0
    n_train: int = 500
    n_predict: int = 100
    steps_per_sample: int = 10
    max_rate: float = 500.0
    input_copies: int = 8
    window: int = 50
    washout: int = 10
    warmup: int = 50
    bp_epochs: int = 8
    readout_epochs: int = 60
    stdp_epochs: int = 1
    learning_rate: float = 5e-3
    batch_size: int = 16
    patience: int = 4
    stdp_a_plus: float = 1e-3
    lnp_iter: int = 5
    lnp_kwargs: dict = field(default_factory=lambda: {"synapse_keep": 0.7,
                                                      "node_quantile": 0.1})
    ap_iter: int = 5
    ap_fraction: float = 0.1
    snr_db: tuple = SNR_DB
    image_train: int = 200
    image_test: int = 100
    image_t_input: float = 0.03
    image_t_silence: float = 0.01
    image_max_rate: float = 200.0
    image_input_scale: float = 0.1

    def __post_init__(self) -> None:
        ints = ("n_neurons", "n_clusters", "n_train", "n_predict", "steps_per_sample",
                "input_copies",
                "window", "washout", "warmup", "bp_epochs", "readout_epochs", "stdp_epochs",
                "batch_size", "patience", "lnp_iter", "ap_iter",
                "image_train", "image_test")
        for name in ints:
            val = getattr(self, name)
            low = 0 if name in ("washout", "lnp_iter", "ap_iter") else 1
            if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {val!r}")
        for name in ("density", "intra_density", "ap_fraction"):
            val = float(getattr(self, name))
            if not 0 < val <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {val}")
        if not 0 <= float(self.inter_density) <= 1:
            raise ValueError(f"inter_density must be in [0, 1], got {self.inter_density}")
        for name in ("gain", "input_scale", "v_threshold", "max_rate", "learning_rate",
                     "stdp_a_plus", "image_t_input", "image_max_rate", "image_input_scale"):
            val = float(getattr(self, name))
            if not (math.isfinite(val) and val > 0):
                raise ValueError(f"{name} must be a positive number, got {val}")
        if not (math.isfinite(float(self.image_t_silence)) and self.image_t_silence >= 0):
            raise ValueError(f"image_t_silence must be >= 0, got {self.image_t_silence}")
        if self.window + self.washout > self.n_train:
            raise ValueError(f"window + washout ({self.window + self.washout}) must not exceed "
                             f"n_train ({self.n_train})")
        if self.max_rate * 1e-3 > 1:
            raise ValueError(f"max_rate * dt must be <= 1 (dt = 1 ms), got max_rate "
                             f"{self.max_rate} Hz")
        if self.warmup > self.n_train:
            raise ValueError(f"warmup ({self.warmup}) must not exceed n_train ({self.n_train})")
        self.snr_db = tuple(float(s) for s in self.snr_db)
        if not isinstance(self.lnp_kwargs, dict):
            raise ValueError("lnp_kwargs must be a dict of keyword arguments for lnp()")
        json.dumps(self.lnp_kwargs)  # must be serialisable: it is written to config.json

    @classmethod
    def from_dict(cls, values: dict) -> "ExperimentConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown experiment setting(s): {', '.join(unknown)}")
        return cls(**values)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["snr_db"] = list(self.snr_db)
        return d


def grid(prunings: Sequence[str] = PRUNINGS, models: Sequence[str] = MODELS,
         trainings: Sequence[str] = TRAININGS, tasks: Sequence[str] = ("lorenz63",),
         seeds: Sequence[int] = (0, 1, 2)) -> list[RunSpec]:
    """The full product, in a fixed order."""
    specs = [RunSpec(p, m, t, task, int(s)) for task in tasks for s in seeds for m in models
             for p in prunings for t in trainings]
    if not specs:
        raise ValueError("the grid is empty: every axis needs at least one value")
    return specs


def _derive_seed(*parts) -> int:
    """A 63-bit seed from the run coordinates (stable across processes and machines)."""
    words = [zlib.crc32(str(p).encode()) for p in parts]
    return int(np.random.SeedSequence(words).generate_state(2, np.uint64)[0] >> np.uint64(1))


# ------------------------------------------------------------------------ networks
def _build_network(model: str, n_inputs: int, seed: int, cfg: ExperimentConfig,
                   input_scale: float | None = None):
    from . import models
    common = dict(n_inputs=n_inputs, gain=cfg.gain,
                  input_scale=cfg.input_scale if input_scale is None else input_scale,
                  v_threshold=cfg.v_threshold)
    if model == "hrsnn":
        return models.hrsnn(cfg.n_neurons, cfg.density, seed=seed, **common)
    return models.chrsnn(cfg.n_neurons, cfg.n_clusters, seed=seed,
                         intra_density=cfg.intra_density, inter_density=cfg.inter_density,
                         **common)


def population_rate_code(intensities: np.ndarray, steps_per_sample: int, p_max: float,
                         copies: int) -> np.ndarray:
    """Deterministic rate code with ``copies`` phase-staggered channels per input.

    ``intensities`` [n, C] in [0, 1]; sample i of channel c drives copy m with per-step
    probability ``p = intensity * p_max`` by error diffusion started at phase
    ``(m + 1/2) / M``: ``level[k] = floor(p (k + 1) + (m + 1/2) / M)``, a spike at step k
    whenever the level rises. Copy m fires ``floor(K p + (m + 1/2)/M)`` times in the K
    steps of a sample, so the population count ``sum_m`` equals ``M K p`` to within 1/2
    (the dithered quantisation of ``M K p``): M times finer than a single channel.
    Returns bool [n, K, C * M], copies of one channel adjacent.
    """
    x = np.asarray(intensities, dtype=np.float64)
    if x.ndim != 2 or np.any(x < 0) or np.any(x > 1):
        raise ValueError("intensities must be an [n, C] array with values in [0, 1]")
    if not 0 < p_max <= 1:
        raise ValueError(f"p_max must be in (0, 1], got {p_max}")
    k = np.arange(1, steps_per_sample + 1, dtype=np.float64)
    phase = (np.arange(copies) + 0.5) / copies
    level = np.floor((x * p_max)[:, None, :, None] * k[None, :, None, None]
                     + phase[None, None, None, :])
    prev = np.concatenate([np.zeros_like(level[:, :1]), level[:, :-1]], axis=1)
    n, c = x.shape
    return (level > prev).reshape(n, steps_per_sample, c * copies)


_PRUNE_CACHE: dict = {}


def _cached_prune(kind: str, net, model: str, seed: int, cfg: ExperimentConfig,
                  cache_dir: Path | None, compute: Callable[[], tuple]):
    """A deterministic pruning result, memoised in-process and, given a folder, on disk.

    Runs of one grid that share (kind, model, seed, inputs, settings) share the result --
    LNP for the LNP and random rows of both trainings, AP for both trainings. The result
    is a pure function of that key, so a concurrent recomputation in another worker writes
    the same file (atomically).
    """
    from .network import SpikingNetwork
    text = json.dumps(cfg.to_dict(), sort_keys=True)
    fingerprint = zlib.crc32(np.ascontiguousarray(net.input_weights.data).tobytes())
    key = (kind, model, seed, net.n_inputs, text, fingerprint)
    if key in _PRUNE_CACHE:
        return _PRUNE_CACHE[key]
    path = None
    if cache_dir is not None:
        digest = zlib.crc32((text + str(fingerprint)).encode())
        path = cache_dir / f"{kind}-{model}-s{seed}-in{net.n_inputs}-{digest:08x}.npz"
        if path.exists():
            pruned = SpikingNetwork.load(path)
            _PRUNE_CACHE[key] = (pruned, pruned.metadata.get("prune_history_rows", []))
            return _PRUNE_CACHE[key]
    pruned, rows = compute()
    rows = json.loads(json.dumps(rows, default=_json_default))
    pruned.metadata["prune_history_rows"] = rows
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        pruned.save(path, overwrite=True)
    _PRUNE_CACHE[key] = (pruned, rows)
    return _PRUNE_CACHE[key]


def _lnp_pruned(net, model: str, seed: int, cfg: ExperimentConfig, cache_dir: Path | None):
    """LNP (task-agnostic) result for this network."""
    from .prune.pipeline import lnp

    def compute():
        pruned, history = lnp(net, n_iter=cfg.lnp_iter, seed=_derive_seed(seed, model, "lnp"),
                              progress=False, **cfg.lnp_kwargs)
        rows = [{k: v for k, v in h.items() if k in ("iteration", "neurons", "synapses",
                                                      "lambda_max", "mean_ipr", "seconds")}
                for h in history]
        return pruned, rows

    return _cached_prune("lnp", net, model, seed, cfg, cache_dir, compute)


# ------------------------------------------------------------------------ data
class _PredictionData:
    """One protocol window of a series, encoded (module docstring, steps 1-2)."""

    def __init__(self, task: str, seed: int, cfg: ExperimentConfig, dt: float):
        from .tasks import RateEncoder, lorenz63, prediction_windows, rossler
        ds = (lorenz63 if task == "lorenz63" else rossler)(seed=seed)
        self.dataset = ds
        self.window = prediction_windows(ds.train, 1, cfg.n_train, cfg.n_predict,
                                         seed=seed)[0]
        self.sigma = np.asarray(ds.long_term_std, dtype=np.float64)
        self.lambda_max = ds.metadata.get("lambda_max")
        self.sample_dt = float(ds.dt)
        self.cfg = cfg
        self.scaler = RateEncoder(max_rate=cfg.max_rate, dt=dt,
                                  steps_per_sample=cfg.steps_per_sample,
                                  method="deterministic", scaling="minmax")
        self.scaler.fit(self.window.train_inputs)
        self.p_max = cfg.max_rate * dt
        tr = self.window.train_targets
        self.target_mean = tr.mean(0)
        self.target_std = np.maximum(tr.std(0), 1e-12)
        self.n_channels = self.scaler.n_channels * cfg.input_copies
        self.n_dims = tr.shape[1]

    def encode(self, values: np.ndarray) -> np.ndarray:
        """Samples [n, D] -> spikes [n * steps_per_sample, C], each sample coded alone."""
        spikes = population_rate_code(self.scaler.intensities(values),
                                      self.cfg.steps_per_sample, self.p_max,
                                      self.cfg.input_copies)
        return spikes.reshape(-1, spikes.shape[-1])

    def training_sequences(self):
        """Windows of washout + window samples: X [n, L*K, C], y [n, L*K, D] (NaN = none)."""
        cfg, w = self.cfg, self.window
        k, length = cfg.steps_per_sample, cfg.washout + cfg.window
        x_all = self.encode(w.train_inputs)
        y_std = (w.train_targets - self.target_mean) / self.target_std
        xs, ys = [], []
        for start in range(0, cfg.n_train - length + 1, cfg.window):
            xs.append(x_all[start * k:(start + length) * k])
            y = np.full((length * k, self.n_dims), np.nan)
            ends = np.arange(cfg.washout, length) * k + k - 1
            y[ends] = y_std[start + cfg.washout:start + length]
            ys.append(y)
        return np.stack(xs), np.stack(ys)

    def unscale(self, y_std: np.ndarray) -> np.ndarray:
        return y_std * self.target_std + self.target_mean


def _evaluate_prediction(model, data: _PredictionData, cfg: ExperimentConfig, seed: int):
    """Open-loop NRMSE, closed-loop VPT, noisy-input NRMSE and the test raster."""
    import torch
    from .tasks import nrmse, valid_prediction_time
    k = cfg.steps_per_sample
    w = data.window
    ends = np.arange(cfg.n_predict) * k + k - 1

    def as_input(spikes):
        return torch.as_tensor(spikes, dtype=model.snn.dtype)[:, None, :]

    with torch.no_grad():
        _, warm = model(as_input(data.encode(w.train_inputs[-cfg.warmup:])))
        out, _ = model(as_input(data.encode(w.test_inputs)), warm)
        y_open = data.unscale(out[ends, 0].double().numpy())
        result = {"nrmse": nrmse(y_open, w.test_targets, data.sigma)}

        current, state, preds = w.test_inputs[0], warm, []
        for _ in range(cfg.n_predict):
            out, state = model(as_input(data.encode(current[None])), state)
            current = data.unscale(out[-1, 0].double().numpy())
            preds.append(current)
        y_closed = np.array(preds)
        vpt = valid_prediction_time(y_closed, w.test_targets, data.sigma, 0.1,
                                    dt=data.sample_dt, lambda_max=data.lambda_max)
        # A looser tolerance as well: at this scale VPT at epsilon 0.1 is often 0 for every
        # model, which would hide differences between them.
        loose = valid_prediction_time(y_closed, w.test_targets, data.sigma, 0.5)
        result.update(nrmse_closed_loop=nrmse(y_closed, w.test_targets, data.sigma),
                      vpt=int(vpt.steps), vpt_time=vpt.time,
                      vpt_lyapunov=vpt.lyapunov_times, vpt_eps05=int(loose.steps))

        rng = np.random.default_rng(_derive_seed(seed, "noise"))
        signal_std = w.train_inputs.std(0)
        noisy = {}
        for snr in cfg.snr_db:
            noise = rng.standard_normal(w.test_inputs.shape) * signal_std / 10 ** (snr / 20)
            out, _ = model(as_input(data.encode(w.test_inputs + noise)), warm)
            noisy[f"{snr:g}"] = nrmse(data.unscale(out[ends, 0].double().numpy()),
                                      w.test_targets, data.sigma)
        result["nrmse_snr"] = noisy
    return result


def _raster(net, inputs: np.ndarray) -> np.ndarray:
    """Spike raster(s) of ``net`` (float64, exact dynamics): inputs [T, C] or [n, T, C]."""
    import torch
    from .training import TorchSNN
    x = np.asarray(inputs)
    batched = x.ndim == 3
    xt = torch.as_tensor(x.transpose(1, 0, 2) if batched else x, dtype=torch.float64)
    with torch.no_grad():
        s = TorchSNN(net, dtype=torch.float64)(xt).numpy().astype(bool)
    return s.transpose(1, 0, 2) if batched else s


def _sops(net, raster: np.ndarray) -> dict:
    from .energy import count_sops
    r = raster.reshape(-1, raster.shape[-1])
    return {"sops": count_sops(r, net.weights, net.neuron_active, net.synapse_active,
                               model="and-mask"),
            "sops_dense": count_sops(r, net.weights, model="dense"),
            "spike_rate": float(r[:, net.neuron_active].mean()) if net.n_neurons else 0.0,
            "raster_steps": int(r.shape[0])}


# ------------------------------------------------------------------------ training
def _trainer(training: str, task_kind: str, cfg: ExperimentConfig, seed: int, progress: bool,
             epochs: int | None = None):
    from .training import STDPTrainer, SurrogateGradientBP
    common = dict(batch_size=cfg.batch_size, learning_rate=cfg.learning_rate,
                  patience=cfg.patience)
    if training == "bp":
        return SurrogateGradientBP(task_kind, epochs=epochs or cfg.bp_epochs, seed=seed,
                                   pretrain_readout_epochs=cfg.readout_epochs,
                                   progress=progress, **common)
    return STDPTrainer(task_kind, stdp_kwargs={"epochs": cfg.stdp_epochs,
                                               "a_plus": cfg.stdp_a_plus,
                                               "a_minus": 1.05 * cfg.stdp_a_plus},
                       readout_kwargs=dict(epochs=epochs or cfg.readout_epochs, **common),
                       seed=seed, progress=progress)


def _activity_pruned(net, x_train, y_train, task_kind: str, cfg: ExperimentConfig):
    """AP baseline (Rust et al. 1997; design section 3) through the implementation lnp-deploy uses,
    :func:`lnp_neuro.prune.baselines.activity_prune_on_task`: activity = spike counts on
    the task's training input, a ridge readout refitted after every round on the first
    half of the training windows and scored on the second (NRMSE for prediction, accuracy
    for images), stop after ``ap_iter`` rounds or when performance falls below 90 % of the
    unpruned model's."""
    from .prune.baselines import activity_prune_on_task
    return activity_prune_on_task(net, x_train, y_train, task=task_kind,
                                  fraction=cfg.ap_fraction, n_iter=cfg.ap_iter)


# ------------------------------------------------------------------------ one run
def run_one(spec: RunSpec, config: ExperimentConfig | None = None, *,
            cache_dir: str | Path | None = None, progress: bool = False) -> dict:
    """Execute one run (module docstring) and return its JSON row.

    An exception inside the run is caught and reported in the row's ``error`` field (with
    the traceback), so one failing run never hides the others' results.
    """
    cfg = config or ExperimentConfig()
    if not isinstance(spec, RunSpec):
        raise ValueError(f"spec must be a RunSpec, got {type(spec).__name__}")
    from .training import limit_torch_threads
    limit_torch_threads(1)
    t_start = time.perf_counter()
    row = {"pruning": spec.pruning, "model": spec.model, "training": spec.training,
           "task": spec.task, "seed": spec.seed, "key": spec.key,
           "neurons": None, "synapses": None, "sops": None, "nrmse": None, "vpt": None,
           "accuracy": None, "error": None}
    try:
        with deterministic_threads():
            row.update(_run(spec, cfg, None if cache_dir is None else Path(cache_dir),
                            progress))
    except Exception as exc:  # reported in the row, never swallowed silently
        row["error"] = f"{type(exc).__name__}: {exc}"
        row["traceback"] = traceback.format_exc()
    row["seconds"] = time.perf_counter() - t_start
    null_reasons: dict[str, str] = {}
    row = strict_json(row, null_reasons)
    if null_reasons:
        row["null_reasons"] = null_reasons
    return row


def _run(spec: RunSpec, cfg: ExperimentConfig, cache_dir: Path | None, progress: bool) -> dict:
    dt = 1e-3
    if spec.task in PREDICTION_TASKS:
        task_kind = "regression"
        data = _PredictionData(spec.task, spec.seed, cfg, dt)
        n_inputs = data.n_channels
        x_train, y_train = data.training_sequences()
    else:
        task_kind = "classification"
        from .tasks import ImageEncoder, load_digits_dataset
        ds = load_digits_dataset(seed=spec.seed)
        rng = np.random.default_rng(_derive_seed(spec.seed, "images"))
        tr = rng.permutation(len(ds.train_labels))[:cfg.image_train]
        te = rng.permutation(len(ds.test_labels))[:cfg.image_test]
        enc = ImageEncoder(max_rate=cfg.image_max_rate, dt=dt, t_input=cfg.image_t_input,
                           t_silence=cfg.image_t_silence, method="poisson",
                           seed=_derive_seed(spec.seed, "poisson"))
        x_train = enc.transform(ds.intensities("train")[tr])
        y_train = ds.train_labels[tr]
        x_test = enc.transform(ds.intensities("test")[te], seed=_derive_seed(spec.seed, "p2"))
        y_test = ds.test_labels[te]
        n_inputs = x_train.shape[-1]

    net0 = _build_network(spec.model, n_inputs, spec.seed, cfg,
                          None if task_kind == "regression" else cfg.image_input_scale)
    out: dict = {"neurons_before": net0.n_neurons, "synapses_before": net0.n_synapses}
    t0 = time.perf_counter()
    if spec.pruning == "unpruned":
        net = net0
    elif spec.pruning == "lnp":
        net, hist = _lnp_pruned(net0, spec.model, spec.seed, cfg, cache_dir)
        out["prune_history"] = hist
    elif spec.pruning == "random":
        from .prune.baselines import random_network_like
        lnp_net, _ = _lnp_pruned(net0, spec.model, spec.seed, cfg, cache_dir)
        net = random_network_like(net0, lnp_net.n_neurons, lnp_net.n_synapses,
                                  seed=_derive_seed(spec.seed, spec.model, "random"))
    else:
        net, out["prune_history"] = _cached_prune(
            f"ap-{spec.task}", net0, spec.model, spec.seed, cfg, cache_dir,
            lambda: _activity_pruned(net0, x_train, y_train, task_kind, cfg))
    out["prune_seconds"] = time.perf_counter() - t0
    out["neurons"], out["synapses"] = net.n_neurons, net.n_synapses

    t0 = time.perf_counter()
    train_seed = _derive_seed(spec.seed, spec.pruning, spec.model, spec.training, spec.task)
    trainer = _trainer(spec.training, task_kind, cfg, train_seed, progress)
    trainer.fit(net, x_train, y_train)
    out["train_seconds"] = time.perf_counter() - t0
    hist = trainer.history_ if spec.training == "bp" else trainer.history_["readout"]
    out["epochs"] = len(hist)
    out["best_val_loss"] = float(min(h["val_loss"] for h in hist))
    trained = trainer.network_
    model = trainer.model_

    if task_kind == "regression":
        out.update(_evaluate_prediction(model, data, cfg, spec.seed))
        raster = _raster(trained, data.encode(data.window.test_inputs))
    else:
        out["accuracy"] = float(trainer.score(x_test, y_test))
        raster = _raster(trained, x_test)
    out.update(_sops(trained, raster))
    return out


# ------------------------------------------------------------------------ grids
def _worker_init() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    # A pool worker is spawned (fork + exec), so the fork hook of lnp_neuro.interrupts
    # does not reach it: it asks the kernel itself to end it with its parent, and leaves
    # SIGINT / SIGTERM to the parent, which stops the pool.
    from .interrupts import die_with_parent
    die_with_parent()


def _run_star(args):
    return run_one(*args[:2], cache_dir=args[2])


def run_grid(specs: Iterable[RunSpec], config: ExperimentConfig | None = None, *,
             workers: int = 2, executor: str = "process", scheduler: str | None = None,
             cache_dir: str | Path | None = None, on_row: Callable[[dict], None] | None = None,
             progress: bool = True) -> list[dict]:
    """Run every spec; rows come back in the order of ``specs``.

    ``executor``: ``"serial"`` (in this process), ``"process"`` (a
    ``concurrent.futures`` process pool of ``workers``, spawned workers with one thread
    each) or ``"dask"`` (a ``dask.distributed`` client on ``scheduler``, or a local
    cluster of ``workers`` single-threaded workers when ``scheduler`` is None).
    ``on_row`` is called with each row as it completes (e.g. to save it).
    """
    specs = list(specs)
    cfg = config or ExperimentConfig()
    if executor not in ("serial", "process", "dask"):
        raise ValueError(f"executor must be 'serial', 'process' or 'dask', got {executor!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    if scheduler is not None and executor != "dask":
        raise ValueError("scheduler is only used with executor='dask'")
    cache = None if cache_dir is None else str(cache_dir)
    from tqdm.auto import tqdm
    bar = tqdm(total=len(specs), desc="runs", disable=not (progress and sys.stderr.isatty()))
    rows: list[dict | None] = [None] * len(specs)

    def done(i: int, row: dict) -> None:
        rows[i] = row
        if on_row is not None:
            on_row(row)
        bar.update(1)

    try:
        if executor == "serial" or (executor == "process" and workers == 1):
            for i, spec in enumerate(specs):
                done(i, run_one(spec, cfg, cache_dir=cache))
        elif executor == "process":
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor, as_completed
            with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                     initializer=_worker_init) as pool:
                try:
                    futures = {pool.submit(run_one, spec, cfg, cache_dir=cache): i
                               for i, spec in enumerate(specs)}
                    for fut in as_completed(futures):
                        done(futures[fut], fut.result())
                except BaseException:
                    # shutdown(wait=True) on leaving the block would wait for the running
                    # runs to finish (minutes): end the workers first.
                    from .interrupts import kill_children
                    workers_alive = list((getattr(pool, "_processes", None) or {}).values())
                    pool.shutdown(wait=False, cancel_futures=True)
                    kill_children(workers_alive)
                    raise
        else:
            from dask.distributed import Client, LocalCluster, as_completed as dask_completed
            cluster = None
            if scheduler is None:
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                       processes=True, dashboard_address=None)
                client = Client(cluster)
            else:
                client = Client(scheduler)
            try:
                futures = [client.submit(run_one, spec, cfg, cache_dir=cache, pure=False,
                                         key=f"lnp-run-{spec.key}") for spec in specs]
                index = {f.key: i for i, f in enumerate(futures)}
                for fut in dask_completed(futures):
                    done(index[fut.key], fut.result())
            finally:
                client.close()
                if cluster is not None:
                    cluster.close()
    finally:
        bar.close()
    return rows  # type: ignore[return-value]


# ------------------------------------------------------------------------ summaries
def _mean_std(values: list) -> dict | None:
    vals = [float(v) for v in values if v is not None and np.isfinite(v)]
    if not vals:
        return None
    return {"mean": float(np.mean(vals)), "std": float(np.std(vals)), "n": len(vals)}


def _with_sop_ratio(rows: list[dict]) -> list[dict]:
    """Add ``sop_ratio`` = SOPs of the unpruned run of the same model, training, task and
    seed / SOPs of this run (design section 5), where both exist."""
    base = {(r["model"], r["training"], r["task"], r["seed"]): r.get("sops")
            for r in rows if r["pruning"] == "unpruned" and r.get("error") is None}
    out = []
    for r in rows:
        r = dict(r)
        b = base.get((r["model"], r["training"], r["task"], r["seed"]))
        r["sop_ratio"] = (b / r["sops"]) if (b is not None and r.get("sops")) else None
        out.append(r)
    return out


def summarize(rows: list[dict]) -> dict:
    """Group rows by (task, pruning, model, training): mean/std of the metrics."""
    rows = _with_sop_ratio(rows)
    groups: dict = {}
    for r in rows:
        if r.get("error") is not None:
            continue
        groups.setdefault((r["task"], r["pruning"], r["model"], r["training"]), []).append(r)
    table = []
    for (task, pruning, model, training), rs in groups.items():
        entry = {"task": task, "pruning": pruning, "model": model, "training": training,
                 "runs": len(rs)}
        for metric in ("neurons", "synapses", "sops", "sop_ratio", "nrmse", "vpt",
                       "vpt_lyapunov", "vpt_eps05", "nrmse_closed_loop", "accuracy", "spike_rate"):
            entry[metric] = _mean_std([r.get(metric) for r in rs])
        snrs = sorted({k for r in rs for k in (r.get("nrmse_snr") or {})}, key=float,
                      reverse=True)
        entry["nrmse_snr"] = {k: _mean_std([(r.get("nrmse_snr") or {}).get(k) for r in rs])
                              for k in snrs}
        table.append(entry)
    order = {p: i for i, p in enumerate(PRUNINGS)}
    table.sort(key=lambda e: (e["task"], order[e["pruning"]], e["model"], e["training"]))
    errors = [{"key": r["key"], "error": r["error"]} for r in rows if r.get("error")]
    return {"groups": table, "errors": errors}


def _fmt(stat: dict | None, scale: float = 1.0, digits: int = 3) -> str:
    if stat is None:
        return "-"
    return f"{stat['mean'] * scale:.{digits}g} ± {stat['std'] * scale:.{digits}g}"


_PRUNING_LABEL = {"unpruned": "Unpruned", "ap": "AP Pruned", "lnp": "LNP Pruned",
                  "random": "Random (ER like LNP)"}


def format_table2(summary: dict) -> str:
    """Markdown table shaped like the paper's Table 2 (one block per task)."""
    lines = []
    tasks = sorted({g["task"] for g in summary["groups"]})
    for task in tasks:
        groups = [g for g in summary["groups"] if g["task"] == task]
        image = task not in PREDICTION_TASKS
        lines.append(f"### {task}\n")
        head = ("| Pruning | Model | Training | runs | neurons | synapses | SOPs (M) | "
                "SOP ratio | " + ("accuracy |" if image else
                                  "NRMSE (open loop) | VPT (samples) | VPT eps=0.5 | "
                                  "NRMSE (closed loop) |"))
        lines += [head, "|" + "---|" * (head.count("|") - 1)]
        for g in groups:
            cells = [_PRUNING_LABEL[g["pruning"]], g["model"].upper(), g["training"].upper(),
                     str(g["runs"]), _fmt(g["neurons"], digits=4), _fmt(g["synapses"], digits=4),
                     _fmt(g["sops"], 1e-6), _fmt(g["sop_ratio"])]
            if image:
                cells.append(_fmt(g["accuracy"]))
            else:
                cells += [_fmt(g["nrmse"]), _fmt(g["vpt"]), _fmt(g["vpt_eps05"]),
                          _fmt(g["nrmse_closed_loop"])]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    if summary.get("errors"):
        lines.append(f"{len(summary['errors'])} run(s) failed: "
                     + ", ".join(e["key"] for e in summary["errors"]))
    return "\n".join(lines) + "\n"


def format_noise_table(summary: dict) -> str:
    """Markdown: open-loop NRMSE (mean ± std) against input SNR, per pruning/model/training."""
    lines = []
    for task in sorted({g["task"] for g in summary["groups"] if g["nrmse_snr"]}):
        groups = [g for g in summary["groups"] if g["task"] == task and g["nrmse_snr"]]
        snrs = sorted({k for g in groups for k in g["nrmse_snr"]}, key=float, reverse=True)
        lines.append(f"### {task}: NRMSE at input SNR (dB)\n")
        lines.append("| Pruning | Model | Training | " + " | ".join(snrs) + " |")
        lines.append("|" + "---|" * (3 + len(snrs)))
        for g in groups:
            lines.append("| " + " | ".join([_PRUNING_LABEL[g["pruning"]], g["model"].upper(),
                                            g["training"].upper()]
                                           + [_fmt(g["nrmse_snr"].get(s)) for s in snrs]) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"


def write_outputs(out_dir: str | Path, rows: list[dict], config: ExperimentConfig,
                  extra: dict | None = None) -> dict:
    """Write summary.json, table2.md, noise.md and config.json into ``out_dir`` atomically."""
    from .io_utils import atomic_write
    out_dir = Path(out_dir)
    summary = summarize(rows)
    files = {
        "summary.json": json.dumps(strict_json(_with_sop_ratio(rows)), indent=1,
                                   allow_nan=False),
        "summary_groups.json": json.dumps(strict_json(summary), indent=1, allow_nan=False),
        "table2.md": format_table2(summary),
        "noise.md": format_noise_table(summary),
        "config.json": json.dumps(strict_json({"config": config.to_dict(), **(extra or {})}),
                                  indent=1, allow_nan=False),
    }
    for name, text in files.items():
        with atomic_write(out_dir / name) as tmp:
            tmp.write_text(text)
    return summary


# ------------------------------------------------------------------------ CLI
def code_fingerprint() -> str:
    """SHA-256 over the package's .py files (path + content): provenance of a run even in
    an uncommitted checkout. Recorded at the start and the end of a grid; if they differ,
    the code changed while the grid ran and the rows may mix versions."""
    import hashlib
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _csv(kind: str, allowed: Sequence[str] | None):
    def parse(text: str):
        items = [t.strip() for t in text.split(",") if t.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"{kind}: give at least one value")
        if allowed is not None:
            bad = [t for t in items if t not in allowed]
            if bad:
                raise argparse.ArgumentTypeError(
                    f"{kind}: unknown {', '.join(bad)} (choose from {', '.join(allowed)})")
        return items
    return parse


def _check_scheduler(address: str, timeout: float = 5.0) -> None:
    """Refuse a Dask scheduler address that does not accept connections (before any work)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise ValueError(f"--scheduler {address!r}: not a host:port address ({exc})") from None
    if parts.scheme not in ("tcp", "tls") or not host or port is None:
        raise ValueError(f"--scheduler {address!r}: expected tcp://HOST:PORT")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise ValueError(f"--scheduler {address!r}: cannot connect "
                         f"({exc.strerror or type(exc).__name__})") from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lnp-experiment",
        description="Run the pruning x model x training x task x seed grid (paper Table 2 "
                    "and noise table) and write DIR/summary.json, table2.md, noise.md.")
    p.add_argument("--out", required=True, help="output folder (must be empty unless --force)")
    p.add_argument("--force", action="store_true", help="write into a non-empty --out")
    p.add_argument("--prunings", type=_csv("prunings", PRUNINGS), default=list(PRUNINGS))
    p.add_argument("--models", type=_csv("models", MODELS), default=list(MODELS))
    p.add_argument("--trainings", type=_csv("trainings", TRAININGS), default=list(TRAININGS))
    p.add_argument("--tasks", type=_csv("tasks", TASKS), default=["lorenz63"])
    p.add_argument("--seeds", type=_csv("seeds", None), default=["0", "1", "2"],
                   help="comma-separated non-negative integers")
    p.add_argument("--neurons", type=int, default=None, help="recurrent neurons N")
    p.add_argument("--config", default=None,
                   help="JSON file of ExperimentConfig settings (overridden by --neurons)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=JSON",
                   help="one ExperimentConfig setting, e.g. --set bp_epochs=4")
    p.add_argument("--workers", type=_positive_int, default=2,
                   help="parallel runs (local cores)")
    p.add_argument("--serial", action="store_true", help="run in this process")
    p.add_argument("--dask", action="store_true", help="run on Dask (local cluster by default)")
    p.add_argument("--scheduler", default=None,
                   help="address of a running Dask scheduler (implies --dask)")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lnp-experiment`` console script; returns the exit status.

    Exit status: 0 when every run succeeded, 1 when some run failed (its row says why),
    2 for bad input (flags, ``--config``, ``--scheduler``, ``--out``), 130 / 143 when
    stopped by SIGINT / SIGTERM. The output folder is a transaction
    (:class:`lnp_neuro.io_utils.OutputFolder`): it appears only when the grid completed.
    """
    from .interrupts import Interrupted, exit_code, exit_within, signals_raise
    try:
        with signals_raise():
            return _main(argv)
    except KeyboardInterrupt as exc:
        import signal
        name = signal.Signals(exc.signum if isinstance(exc, Interrupted)
                              else signal.SIGINT).name
        print(f"lnp-experiment: interrupted by {name}; nothing was written", file=sys.stderr)
        if argv is None:  # the console script, not a caller's process: see exit_within
            exit_within(exit_code(exc))
        return exit_code(exc)


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    from .io_utils import OutputFolder
    try:
        seeds = [int(s) for s in args.seeds]
        if any(s < 0 for s in seeds):
            raise ValueError
    except ValueError:
        print(f"lnp-experiment: --seeds must be non-negative integers, got {args.seeds}",
              file=sys.stderr)
        return 2
    settings: dict = {}
    try:
        if args.config:
            try:
                loaded = json.loads(Path(args.config).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ValueError(f"--config {args.config}: not a readable JSON file "
                                 f"({exc})") from None
            if not isinstance(loaded, dict):
                raise ValueError(f"--config {args.config}: must hold a JSON object of "
                                 f"ExperimentConfig settings, got {type(loaded).__name__}")
            settings.update(loaded)
        for item in args.set:
            name, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"--set expects NAME=JSON, got {item!r}")
            try:
                settings[name.strip()] = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"--set {item!r}: the value is not JSON ({exc})") from None
        if args.neurons is not None:
            settings["n_neurons"] = args.neurons
        cfg = ExperimentConfig.from_dict(settings)
        specs = grid(args.prunings, args.models, args.trainings, args.tasks, seeds)
        if args.scheduler:
            _check_scheduler(args.scheduler)
        folder = OutputFolder(args.out, force=args.force,
                              expected=("runs", "cache", "summary.json", "summary_groups.json",
                                        "table2.md", "noise.md", "config.json"))
        out_dir = folder.open()
    except (ValueError, TypeError, FileExistsError, FileNotFoundError) as exc:
        print(f"lnp-experiment: {exc}", file=sys.stderr)
        return 2
    try:
        status = _run_and_write(args, argv, cfg, specs, out_dir)
    except BaseException:
        folder.abort()
        raise
    folder.commit()
    print(f"results in {args.out}", file=sys.stderr)
    return status


def _run_and_write(args, argv, cfg: ExperimentConfig, specs: list, out_dir: Path) -> int:
    executor = "dask" if (args.dask or args.scheduler) else (
        "serial" if args.serial else "process")
    runs_dir = out_dir / "runs"
    runs_dir.mkdir(exist_ok=True)

    from .io_utils import atomic_write

    def save_row(row: dict) -> None:
        with atomic_write(runs_dir / f"{row['key']}.json") as tmp:
            tmp.write_text(json.dumps(row, indent=1, allow_nan=False))
        status = "FAILED: " + row["error"] if row.get("error") else (
            f"neurons={row['neurons']} synapses={row['synapses']} sops={row['sops']} "
            f"nrmse={row['nrmse']} vpt={row['vpt']} accuracy={row['accuracy']}")
        print(f"[{row['seconds']:.0f}s] {row['key']}: {status}", file=sys.stderr, flush=True)

    fingerprint_start = code_fingerprint()
    t0 = time.perf_counter()
    rows = run_grid(specs, cfg, workers=args.workers, executor=executor,
                    scheduler=args.scheduler, cache_dir=out_dir / "cache", on_row=save_row,
                    progress=not args.no_progress)
    wall = time.perf_counter() - t0
    fingerprint_end = code_fingerprint()
    if fingerprint_end != fingerprint_start:
        print("lnp-experiment: WARNING: the lnp_neuro sources changed while the grid ran; "
              "rows may come from different code versions", file=sys.stderr)
    summary = write_outputs(out_dir, rows, cfg, {
        "argv": list(sys.argv[1:] if argv is None else argv), "wall_seconds": wall,
        "executor": executor, "workers": args.workers, "runs": len(rows),
        "code_fingerprint_start": fingerprint_start, "code_fingerprint_end": fingerprint_end})
    print(format_table2(summary))
    print(format_noise_table(summary))
    print(f"{len(rows)} runs in {wall:.0f} s", file=sys.stderr)
    return 1 if summary["errors"] else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
