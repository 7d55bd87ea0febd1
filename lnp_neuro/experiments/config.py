"""What a grid is made of: the axes, one run's coordinates (:class:`RunSpec`), the settings
every run shares (:class:`ExperimentConfig`), the grid itself (:func:`grid`) and the seeds
derived from a run's coordinates (:func:`derive_seed`)."""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import asdict, dataclass, field, fields
from typing import Sequence

import numpy as np

from ..model.build import MODELS

__all__ = ["PRUNINGS", "MODELS", "TRAININGS", "TASKS", "PREDICTION_TASKS", "SNR_DB",
           "RunSpec", "ExperimentConfig", "grid", "derive_seed"]

PRUNINGS = ("unpruned", "ap", "lnp", "random")
TRAININGS = ("bp", "stdp")
TASKS = ("lorenz63", "rossler", "digits")
PREDICTION_TASKS = ("lorenz63", "rossler")
SNR_DB = (50, 40, 30, 20, 10)


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
    (Hz at intensity 1), ``input_copies`` (copies of each channel), ``series_scaling``
    (:data:`lnp_neuro.tasks.encoding.SERIES_SCALINGS`: an ON/OFF channel pair per
    dimension), ``window``, ``washout``, ``warmup`` (samples).
    Training: ``bp_epochs``, ``readout_epochs``, ``stdp_epochs``, ``learning_rate``,
    ``batch_size``, ``patience``, ``stdp_a_plus``.
    Pruning: ``lnp_iter`` and ``lnp_kwargs`` (passed to ``lnp``), ``ap_iter``,
    ``ap_fraction``.
    Noise: ``snr_db``. Images: ``image_train``, ``image_test``, ``image_t_input``,
    ``image_t_silence``, ``image_max_rate``, ``image_input_scale`` (64 pixel channels
    need a smaller input weight than the series channels for a similar firing rate).

    The network, the series code and LNP's schedule default to ``lnp-deploy``'s (N = 1000,
    HRSNN density 0.1, CHRSNN 4 clusters at 0.2 / 0.01, input weight scale 1; z-scored
    ON/OFF pairs x 8 staggered copies at 200 Hz, 20 steps per sample; LNP 4 iterations to
    density 0.01), so a grid row and a deployment of the same seed describe the same
    network and drive (``tests/experiments/test_experiments.py`` holds the two to each other).
    """

    n_neurons: int = 1000
    density: float = 0.1
    n_clusters: int = 4
    intra_density: float = 0.2
    inter_density: float = 0.01
    gain: float = 1.0
    input_scale: float = 1.0
    v_threshold: float = 1.0
    n_train: int = 500
    n_predict: int = 100
    steps_per_sample: int = 20
    max_rate: float = 200.0
    input_copies: int = 8
    series_scaling: str = "zscore"
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
    lnp_iter: int = 4
    lnp_kwargs: dict = field(default_factory=lambda: {"target_density": 0.01})
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
        from ..tasks.encoding import SERIES_SCALINGS
        if self.series_scaling not in SERIES_SCALINGS:
            raise ValueError(f"series_scaling must be one of {', '.join(SERIES_SCALINGS)}, "
                             f"got {self.series_scaling!r}")
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

    def network_settings(self, input_scale: float | None = None) -> dict:
        """Keyword arguments of :func:`lnp_neuro.model.build.build_network` for either model
        (``input_scale`` overrides the series one, e.g. for 64 pixel channels)."""
        return dict(density=self.density, n_clusters=self.n_clusters,
                    intra_density=self.intra_density, inter_density=self.inter_density,
                    gain=self.gain, v_threshold=self.v_threshold,
                    input_scale=self.input_scale if input_scale is None else input_scale)


def grid(prunings: Sequence[str] = PRUNINGS, models: Sequence[str] = MODELS,
         trainings: Sequence[str] = TRAININGS, tasks: Sequence[str] = ("lorenz63",),
         seeds: Sequence[int] = (0, 1, 2)) -> list[RunSpec]:
    """The full product, in a fixed order."""
    specs = [RunSpec(p, m, t, task, int(s)) for task in tasks for s in seeds for m in models
             for p in prunings for t in trainings]
    if not specs:
        raise ValueError("the grid is empty: every axis needs at least one value")
    return specs


def derive_seed(*parts) -> int:
    """A 63-bit seed from the run coordinates (stable across processes and machines)."""
    words = [zlib.crc32(str(p).encode()) for p in parts]
    return int(np.random.SeedSequence(words).generate_state(2, np.uint64)[0] >> np.uint64(1))
