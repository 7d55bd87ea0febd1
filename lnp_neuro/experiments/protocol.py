"""The protocol of one run: its data, how it is encoded, how the network is trained and how
the trained network is scored (steps 1, 2, 4 and 5 of :mod:`lnp_neuro.experiments`).

- :class:`PredictionData` — a series task (Lorenz-63, Rossler): one protocol window,
  encoded sample by sample with the staggered population code of
  :mod:`lnp_neuro.tasks.encoding`; scored by open-loop NRMSE, closed-loop VPT and
  noisy-input NRMSE (:meth:`PredictionData.evaluate`).
- :class:`ImageData` — the digits task: Poisson presentations; scored by accuracy.
- :func:`task_data` — the one of the two a task needs.
- :func:`make_trainer` — BP or STDP with the grid's settings.
- :func:`recurrent_sops` — the synaptic operations of a raster, AND-mask and dense.
- :func:`population_rate_code` — the series code one sample a row, for callers of the
  earlier ``lnp_neuro.experiments`` API.
"""

from __future__ import annotations

import numpy as np

from .config import PREDICTION_TASKS, ExperimentConfig, derive_seed

__all__ = ["DT", "population_rate_code", "PredictionData", "ImageData", "task_data",
           "make_trainer", "spike_raster", "recurrent_sops"]

#: SNN time step (s) of every run.
DT = 1e-3


def population_rate_code(intensities: np.ndarray, steps_per_sample: int, p_max: float,
                         copies: int) -> np.ndarray:
    """The staggered population code of
    :func:`lnp_neuro.tasks.encoding.staggered_population_spikes` with ``p_max`` spikes
    per step at intensity 1, one sample per row: bool ``[n, steps_per_sample, C * copies]``
    (copies of one channel adjacent). Copy ``m`` fires ``floor(K p + (m + 1/2)/M)`` times
    in the ``K`` steps of a sample, so the population count is ``M K p`` to within 1/2.
    """
    x = np.asarray(intensities, dtype=np.float64)
    if x.ndim != 2 or np.any(x < 0) or np.any(x > 1):
        raise ValueError("intensities must be an [n, C] array with values in [0, 1]")
    if not 0 < p_max <= 1:
        raise ValueError(f"p_max must be in (0, 1], got {p_max}")
    from ..tasks import staggered_population_spikes

    # A rate of p_max per second with steps of 1 s is p_max spikes per step.
    spikes = staggered_population_spikes(x, p_max, 1.0, steps_per_sample, copies)
    return spikes.reshape(x.shape[0], steps_per_sample, x.shape[1] * copies)


class PredictionData:
    """One protocol window of a series, encoded (steps 1-2 of the package docstring).

    ``window`` (:class:`lnp_neuro.tasks.PredictionWindow`): ``n_train`` samples to fit,
    the next ``n_predict`` to predict. The encoder is fitted on the training samples
    (``series_scaling``, an ON/OFF pair per dimension) and codes every sample on its own, so a closed-loop forecast
    encodes its own predictions exactly as the training data were encoded.
    """

    task_kind = "regression"

    def __init__(self, task: str, seed: int, cfg: ExperimentConfig, dt: float = DT):
        from ..tasks import RateEncoder, lorenz63, prediction_windows, rossler
        ds = (lorenz63 if task == "lorenz63" else rossler)(seed=seed)
        self.dataset = ds
        self.window = prediction_windows(ds.train, 1, cfg.n_train, cfg.n_predict,
                                         seed=seed)[0]
        self.sigma = np.asarray(ds.long_term_std, dtype=np.float64)
        self.lambda_max = ds.metadata.get("lambda_max")
        self.sample_dt = float(ds.dt)
        self.cfg = cfg
        self.seed = seed
        self.encoder = RateEncoder(max_rate=cfg.max_rate, dt=dt,
                                   steps_per_sample=cfg.steps_per_sample,
                                   method="staggered", scaling=cfg.series_scaling,
                                   copies=cfg.input_copies)
        self.encoder.fit(self.window.train_inputs)
        tr = self.window.train_targets
        self.target_mean = tr.mean(0)
        self.target_std = np.maximum(tr.std(0), 1e-12)
        self.n_inputs = self.encoder.n_channels
        self.n_dims = tr.shape[1]
        self.input_scale = cfg.input_scale
        self.x_train, self.y_train = self.training_sequences()

    def encode(self, values: np.ndarray) -> np.ndarray:
        """Samples [n, D] -> spikes [n * steps_per_sample, C], each sample coded alone."""
        return self.encoder.transform(values)

    def training_sequences(self):
        """Windows of washout + window samples: X [n, L*K, C], y [n, L*K, D] (NaN = none).
        The readout predicts the next sample at the last step of every sample after the
        washout, on standardised targets."""
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

    def evaluate(self, trainer) -> tuple[dict, np.ndarray]:
        """Scores of the fitted ``trainer`` and the raster of its network on the test input.

        After a warm-up on the last ``warmup`` training samples: ``nrmse``, open-loop
        (teacher-forced) one-step NRMSE over the test samples; ``vpt``, valid prediction
        time (Vlachas et al. 2020, epsilon 0.1) of the closed-loop forecast, in samples
        (``vpt_lyapunov`` in Lyapunov times where the exponent is known, ``vpt_eps05`` at
        epsilon 0.5) and its ``nrmse_closed_loop``; ``nrmse_snr``, open-loop NRMSE with
        Gaussian noise of each SNR (dB, relative to each dimension's variance over the
        training samples) added to the test input.
        """
        import torch

        from ..tasks import nrmse, valid_prediction_time
        cfg, w, model = self.cfg, self.window, trainer.model_
        k = cfg.steps_per_sample
        ends = np.arange(cfg.n_predict) * k + k - 1

        def as_input(spikes):
            return torch.as_tensor(spikes, dtype=model.snn.dtype)[:, None, :]

        with torch.no_grad():
            _, warm = model(as_input(self.encode(w.train_inputs[-cfg.warmup:])))
            out, _ = model(as_input(self.encode(w.test_inputs)), warm)
            y_open = self.unscale(out[ends, 0].double().numpy())
            result = {"nrmse": nrmse(y_open, w.test_targets, self.sigma)}

            current, state, preds = w.test_inputs[0], warm, []
            for _ in range(cfg.n_predict):
                out, state = model(as_input(self.encode(current[None])), state)
                current = self.unscale(out[-1, 0].double().numpy())
                preds.append(current)
            y_closed = np.array(preds)
            vpt = valid_prediction_time(y_closed, w.test_targets, self.sigma, 0.1,
                                        dt=self.sample_dt, lambda_max=self.lambda_max)
            # A looser tolerance as well: at this scale VPT at epsilon 0.1 is often 0 for
            # every model, which would hide differences between them.
            loose = valid_prediction_time(y_closed, w.test_targets, self.sigma, 0.5)
            result.update(nrmse_closed_loop=nrmse(y_closed, w.test_targets, self.sigma),
                          vpt=int(vpt.steps), vpt_time=vpt.time,
                          vpt_lyapunov=vpt.lyapunov_times, vpt_eps05=int(loose.steps))

            rng = np.random.default_rng(derive_seed(self.seed, "noise"))
            signal_std = w.train_inputs.std(0)
            noisy = {}
            for snr in cfg.snr_db:
                noise = rng.standard_normal(w.test_inputs.shape) * signal_std / 10 ** (snr / 20)
                out, _ = model(as_input(self.encode(w.test_inputs + noise)), warm)
                noisy[f"{snr:g}"] = nrmse(self.unscale(out[ends, 0].double().numpy()),
                                          w.test_targets, self.sigma)
            result["nrmse_snr"] = noisy
        return result, spike_raster(trainer.network_, self.encode(w.test_inputs))


class ImageData:
    """scikit-learn's 8x8 digits, ``image_train`` / ``image_test`` images presented as
    Poisson spike trains (``image_t_input`` then ``image_t_silence``), classified from the
    time-averaged readout features."""

    task_kind = "classification"

    def __init__(self, seed: int, cfg: ExperimentConfig, dt: float = DT):
        from ..tasks import ImageEncoder, load_digits_dataset
        ds = load_digits_dataset(seed=seed)
        rng = np.random.default_rng(derive_seed(seed, "images"))
        tr = rng.permutation(len(ds.train_labels))[:cfg.image_train]
        te = rng.permutation(len(ds.test_labels))[:cfg.image_test]
        enc = ImageEncoder(max_rate=cfg.image_max_rate, dt=dt, t_input=cfg.image_t_input,
                           t_silence=cfg.image_t_silence, method="poisson",
                           seed=derive_seed(seed, "poisson"))
        self.x_train = enc.transform(ds.intensities("train")[tr])
        self.y_train = ds.train_labels[tr]
        self.x_test = enc.transform(ds.intensities("test")[te], seed=derive_seed(seed, "p2"))
        self.y_test = ds.test_labels[te]
        self.n_inputs = self.x_train.shape[-1]
        self.input_scale = cfg.image_input_scale

    def evaluate(self, trainer) -> tuple[dict, np.ndarray]:
        """``accuracy`` of the fitted ``trainer`` on the held-out images, and the rasters
        of its network on them."""
        accuracy = float(trainer.score(self.x_test, self.y_test))
        return {"accuracy": accuracy}, spike_raster(trainer.network_, self.x_test)


def task_data(task: str, seed: int, cfg: ExperimentConfig) -> PredictionData | ImageData:
    """The data of ``task`` for a run with seed ``seed``."""
    if task in PREDICTION_TASKS:
        return PredictionData(task, seed, cfg)
    return ImageData(seed, cfg)


def make_trainer(training: str, task_kind: str, cfg: ExperimentConfig, seed: int,
                 progress: bool):
    """``bp`` (:class:`~lnp_neuro.training.bp.SurrogateGradientBP`: recurrent, input and
    readout weights) or ``stdp`` (:class:`~lnp_neuro.training.stdp.STDPTrainer`: STDP on
    the recurrent layer, then the readout), unfitted."""
    from ..training import STDPTrainer, SurrogateGradientBP
    common = dict(batch_size=cfg.batch_size, learning_rate=cfg.learning_rate,
                  patience=cfg.patience)
    if training == "bp":
        return SurrogateGradientBP(task_kind, epochs=cfg.bp_epochs, seed=seed,
                                   pretrain_readout_epochs=cfg.readout_epochs,
                                   progress=progress, **common)
    return STDPTrainer(task_kind, stdp_kwargs={"epochs": cfg.stdp_epochs,
                                               "a_plus": cfg.stdp_a_plus,
                                               "a_minus": 1.05 * cfg.stdp_a_plus},
                       readout_kwargs=dict(epochs=cfg.readout_epochs, **common),
                       seed=seed, progress=progress)


def spike_raster(net, inputs: np.ndarray) -> np.ndarray:
    """Spike raster(s) of ``net`` (float64, exact dynamics): inputs [T, C] or [n, T, C]."""
    import torch

    from ..training import TorchSNN
    x = np.asarray(inputs)
    batched = x.ndim == 3
    xt = torch.as_tensor(x.transpose(1, 0, 2) if batched else x, dtype=torch.float64)
    with torch.no_grad():
        s = TorchSNN(net, dtype=torch.float64)(xt).numpy().astype(bool)
    return s.transpose(1, 0, 2) if batched else s


def recurrent_sops(net, raster: np.ndarray) -> dict:
    """Synaptic operations of the recurrent layer during ``raster`` (design section 5):
    ``sops`` in the AND-mask model, ``sops_dense`` as if nothing were pruned, and the
    active neurons' mean ``spike_rate`` (spikes per neuron per step)."""
    from ..hardware.energy import count_sops
    r = raster.reshape(-1, raster.shape[-1])
    return {"sops": count_sops(r, net.weights, net.neuron_active, net.synapse_active,
                               model="and-mask"),
            "sops_dense": count_sops(r, net.weights, model="dense"),
            "spike_rate": float(r[:, net.neuron_active].mean()) if net.n_active_neurons else 0.0,
            "raster_steps": int(r.shape[0])}
