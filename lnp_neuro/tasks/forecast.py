"""One-step forecasting with a spiking reservoir, and the references it must beat.

The protocol behind the accuracy that ``lnp-deploy`` sets beside energy, and behind
``benchmarks/lnp_quality.py`` (reservoir computing: Jaeger 2001; Lukosevicius & Jaeger,
Computer Science Review 3, 2009, Sec. 3-4):

1. The series ``y [n_samples, D]`` is rate-coded into ``n_inputs`` channels
   (:func:`encode_series`): ON/OFF pairs per dimension (:mod:`.encoding`; by default
   z-scored, mean +- 3 standard deviations onto the pair; ``"median"`` for skewed series),
   ``copies = n_inputs / (2 D)`` phase-staggered error-diffusion copies per channel, each
   sample held ``steps_per_sample`` steps. Defaults (20 steps, 200 Hz, 8 copies) resolve
   a sample to 1/64 of the channel range; the issue that introduced them measured one-step
   NRMSE 0.050 with 10 steps and 4 Poisson copies against 0.031 with 20 steps and 16.
   ``code="delta"`` adds ON/OFF channels of the change since the previous sample
   (:class:`.encoding.RateEncoder`, ``increments``), the copies halved to keep the
   channel count.
2. The network runs on the spikes; the reservoir state after sample ``t`` is the
   exponential trace of every active neuron's spikes at the last step of the sample
   (:func:`reservoir_states`), with the trace time constant among ``TRACE_TAUS`` (10, 20,
   50 ms) whose ridge readout has the lowest cross-validation error on the training
   samples (:func:`select_trace_tau`).
3. A readout maps the state after sample ``t`` to ``y[t + 1]`` (horizon 1). The first
   ``washout`` samples are dropped; the rest are split into train and test in time order.
   Two readouts, both reported:

   * ``"ridge"``: ridge regression on all active neurons, the penalty chosen by
     generalised cross-validation on the training samples only
     (:class:`sklearn.linear_model.RidgeCV`), the reservoir-computing standard;
   * ``"paper"``: the paper's readout, the top 10 % of neurons by betweenness -> 20
     tanh units -> D outputs (:class:`.readout.MLPReadout`, Suppl. A.6).

   The readout sees neuron states only, never the input value itself, so its accuracy is
   what the reservoir carries.
4. NRMSE (:func:`.metrics.nrmse`, design section 4) on the test samples, normalised by the
   standard deviation of the whole series per dimension.

References on the same split (:func:`reference_forecasts`): persistence (``y[t+1] =
y[t]``), a linear one-step map (ridge on ``y[t], y[t-1]``), and an echo-state network of
the same size (reservoirpy 0.4, Trouvain et al., ICANN 2020; spectral radius 0.9, leak
0.3, input scaling 0.5, ridge 1e-6 on the same train samples). The input code's own
floor (:func:`input_code_nrmse`): the same trace-and-ridge readout of the input spike
trains themselves, no network, so a network score can be set against what its drive
alone carries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._util.validation import check_int, check_positive
from ..model.network import SpikingNetwork
from ._gcv import gcv_scores, undecided
from ._windows import window_sums
from .closed_loop import ESNForecaster
from .encoding import RateEncoder
from .metrics import nrmse
from .readout import MLPReadout, select_readout_neurons

__all__ = [
    "EncodedSeries",
    "encode_series",
    "reservoir_states",
    "ForecastSplit",
    "one_step_nrmse",
    "reference_forecasts",
    "READOUTS",
    "window_sums",
    "TRACE_TAUS",
    "select_trace_tau",
    "check_scorable",
    "ESN_MIN_UNITS",
    "CODES",
    "input_code_nrmse",
]

READOUTS = ("ridge", "paper")
#: Series codes of :func:`encode_series`: the level of each dimension, or the level and
#: its change since the previous sample.
CODES = ("level", "delta")
#: Fewest units of the echo-state reference (its spectral radius needs an eigenvalue
#: solver, which needs at least 3).
ESN_MIN_UNITS = 3


@dataclass(eq=False)
class EncodedSeries:
    """A series and its spike code.

    ``series [n_samples, D]``, ``spikes bool [n_samples * steps_per_sample, n_inputs]``,
    ``steps_per_sample``, ``copies`` (per ON/OFF channel), ``max_rate`` (Hz), and the
    fitted ``encoder`` that made the spikes (a closed-loop forecast encodes its
    predictions with it).
    """

    series: np.ndarray
    spikes: np.ndarray
    steps_per_sample: int
    copies: int
    max_rate: float
    encoder: RateEncoder | None = None

    def __post_init__(self) -> None:
        self.series = np.asarray(self.series, dtype=np.float64)
        if self.series.ndim != 2:
            raise ValueError(f"series must be [n_samples, D], got shape {self.series.shape}")
        if self.spikes.shape[0] != self.series.shape[0] * self.steps_per_sample:
            raise ValueError("spikes must hold steps_per_sample steps per sample")

    @property
    def code(self) -> str:
        """``"delta"`` when the encoder also codes each sample's change, else ``"level"``."""
        return "delta" if getattr(self.encoder, "increments", False) else "level"

    def describe(self) -> dict:
        scaling = self.encoder.scaling if self.encoder is not None else "n/a"
        return {"encoding": "ON/OFF pairs, phase-staggered error-diffusion copies"
                            + (", level and change since the previous sample"
                               if self.code == "delta" else ""),
                "code": self.code, "scaling": scaling,
                "steps_per_sample": int(self.steps_per_sample), "copies": int(self.copies),
                "max_rate_hz": float(self.max_rate), "channels": int(self.spikes.shape[1]),
                "samples": int(self.series.shape[0])}


def encode_series(series, n_inputs: int, *, dt: float = 1e-3, steps_per_sample: int = 20,
                  max_rate: float = 200.0, fit_samples: int | None = None,
                  scaling: str = "zscore", code: str = "level") -> EncodedSeries:
    """Rate-code ``series [n, D]`` into ``n_inputs`` channels (module docstring, step 1).

    ``n_inputs`` must be a multiple of ``2 D`` (ON/OFF pair per dimension times copies;
    ``4 D`` with ``code="delta"``, whose change channels double the coded dimensions).
    The scaling is fitted on the first ``fit_samples`` samples (default all), so a split
    can keep its test part out of the fit.
    """
    y = np.asarray(series, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[0] < 2:
        raise ValueError(f"series must be [n_samples >= 2, D], got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("series has non-finite values")
    n_inputs = check_int(n_inputs, "n_inputs")
    if code not in CODES:
        raise ValueError(f"code must be one of {', '.join(CODES)}, got {code!r}")
    coded = y.shape[1] * (2 if code == "delta" else 1)
    pairs = 2 * coded
    if n_inputs % pairs:
        raise ValueError(f"n_inputs={n_inputs} is not a multiple of 2 x {coded} coded "
                         f"dimensions (an ON/OFF pair per dimension"
                         f"{' and per change' if code == 'delta' else ''}, times copies)")
    fit_n = y.shape[0] if fit_samples is None else check_int(fit_samples, "fit_samples")
    encoder = RateEncoder(max_rate=max_rate, dt=dt, steps_per_sample=steps_per_sample,
                          method="staggered", scaling=scaling, copies=n_inputs // pairs,
                          increments=code == "delta")
    encoder.fit(y[:fit_n])
    return EncodedSeries(series=y, spikes=encoder.transform(y),
                         steps_per_sample=int(steps_per_sample), copies=n_inputs // pairs,
                         max_rate=float(max_rate), encoder=encoder)


#: Trace time constants among which :func:`one_step_nrmse` chooses on training data.
TRACE_TAUS = (10e-3, 20e-3, 50e-3)


def reservoir_states(spikes, steps_per_sample: int, dt: float, tau_trace: float = 20e-3,
                     neurons=None) -> np.ndarray:
    """Exponential traces of ``spikes [T, N]`` at the last step of every sample.

    ``r[t] = r[t-1] exp(-dt / tau_trace) + s[t]``; returns ``[T // steps_per_sample,
    n_selected]`` (``neurons``: indices to keep, default all columns).
    """
    s = np.asarray(spikes)
    k = check_int(steps_per_sample, "steps_per_sample")
    check_positive(tau_trace, "tau_trace")
    if s.ndim != 2 or s.shape[0] % k:
        raise ValueError(f"spikes must be [T, N] with T a multiple of {k}, got {s.shape}")
    decay = float(np.exp(-dt / tau_trace))
    # Sum over the sample window of decay^(k-1-j) s[j], plus the previous state decayed
    # by decay^k: the recursion evaluated once per sample instead of once per step.
    windows = window_sums(s, k, decay ** np.arange(k - 1, -1, -1, dtype=np.float64))
    if neurons is not None:
        # Selected after the window sums: a column gather of the whole raster costs more.
        windows = np.ascontiguousarray(windows[:, np.asarray(neurons)])
    # state[i] = state[i - 1] * carry + windows[i] from a zero state, in place over the
    # window sums (a fresh array; the first row, 0 * carry + windows[0], is itself).
    carry = decay ** k
    decayed = np.empty(windows.shape[1])
    for i in range(1, windows.shape[0]):
        np.multiply(windows[i - 1], carry, out=decayed)
        np.add(decayed, windows[i], out=windows[i])
    return windows


#: Fewest train and fewest test samples of a split (a readout fitted, or a score taken,
#: on fewer says little).
_MIN_PART = 10


@dataclass(eq=False)
class ForecastSplit:
    """Time-ordered split of a one-step task: sample indices ``t`` whose target is
    ``y[t + 1]``. ``washout`` first samples dropped, then ``n_train``, then the rest
    (``n_test``)."""

    n_samples: int
    washout: int = 100
    train_fraction: float = 0.7
    train: np.ndarray = field(init=False)
    test: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        usable = int(self.n_samples) - 1 - int(self.washout)
        if not 0 < float(self.train_fraction) < 1:
            raise ValueError(f"train_fraction must be in (0, 1), got {self.train_fraction}")
        n_train = int(round(usable * float(self.train_fraction)))
        if n_train < _MIN_PART or usable - n_train < _MIN_PART:
            raise ValueError(f"the series is too short for a one-step split: {self.n_samples} "
                             f"samples, washout {self.washout}; need at least "
                             f"{self.min_samples(self.washout, self.train_fraction)}")
        idx = np.arange(int(self.washout), int(self.n_samples) - 1)
        self.train, self.test = idx[:n_train], idx[n_train:]

    @staticmethod
    def min_samples(washout: int = 100, train_fraction: float = 0.7) -> int:
        """Fewest samples a split accepts: ``_MIN_PART`` train and test samples each after
        the washout (the smallest length the rounding of ``train_fraction`` allows)."""
        usable = 2 * _MIN_PART
        while (round(usable * train_fraction) < _MIN_PART
               or usable - round(usable * train_fraction) < _MIN_PART):
            usable += 1
        return int(washout) + 1 + usable

    def as_dict(self) -> dict:
        return {"washout": int(self.washout), "n_train": int(self.train.size),
                "n_test": int(self.test.size), "horizon": 1}


#: Relative spread below which a dimension counts as constant (float64 rounding of its
#: mean is about 1e-16 of it).
CONSTANT_SPREAD = 1e-10


def constant_columns(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(sd, flat)``: the standard deviation of each column of ``y [samples, columns]``
    and the indices of the columns that are constant, or nearly (a spread of at most
    :data:`CONSTANT_SPREAD` of the column's largest magnitude, or not finite): an NRMSE
    normalised by their spread is undefined, and any prediction of the constant perfect."""
    with np.errstate(over="ignore", invalid="ignore"):
        sd = y.std(axis=0)
        scale = np.abs(y).max(axis=0)
    flat = np.flatnonzero(~(np.isfinite(sd) & (sd > CONSTANT_SPREAD * scale) & (sd > 0)))
    return sd, flat


def _sigma(series: np.ndarray) -> np.ndarray:
    """The per-dimension standard deviation NRMSE divides by. A constant (or nearly
    constant) dimension is refused (:func:`constant_columns`): dividing by its zero
    spread would score every forecast, good or bad, a perfect 0.0."""
    y = np.asarray(series, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    sd, flat = constant_columns(y)
    if flat.size:
        raise ValueError(f"the series is constant (or nearly) in dimension(s) "
                         f"{', '.join(str(int(d)) for d in flat[:10])}: its NRMSE, normalised "
                         f"by a zero standard deviation, is undefined; use a varying series "
                         f"or --input poisson")
    return sd


def check_scorable(series, split: ForecastSplit | None = None) -> None:
    """Refuse a series a forecast cannot be scored on (:func:`_sigma`), before the
    networks are run on it; with ``split``, also one whose scored targets (``y[t + 1]``,
    ``t`` in ``split.test``) are constant: a series that varies only in its washout or
    training part would score persistence, and any readout that learnt the constant, a
    perfect 0.0."""
    _sigma(series)
    if split is None:
        return
    y = np.asarray(series, dtype=np.float64)
    y = y[:, None] if y.ndim == 1 else y
    try:
        _sigma(y[split.test + 1])
    except ValueError:
        raise ValueError(f"the series is constant (or nearly) over the {split.test.size} "
                         f"samples the forecast is scored on (samples {split.test[0] + 1} to "
                         f"{split.test[-1] + 1}): every forecast of that constant would score "
                         f"a perfect NRMSE of 0, so the score is undefined; use a series that "
                         f"varies there") from None


_RIDGE_ALPHAS = np.logspace(-3, 5, 17)


def _fit_ridge(states: np.ndarray, series: np.ndarray, split: ForecastSplit,
               scores: np.ndarray | None = None):
    """Ridge from ``states[t]`` to ``series[t + 1]`` on the training samples, penalty by
    generalised cross-validation. Traces share one unit (spikes), so they are centred but
    not scaled: scaling would blow up a neuron that barely fires during training.

    ``scores``: the penalties' :func:`._gcv.gcv_scores` on these training samples, if
    computed; the exact fit is then made with the penalties they leave undecided (as a
    rule the best one alone): the same model, bit for bit, as with every penalty. (Without
    them every penalty is fitted: computing them would cost what it saves.)"""
    from sklearn.linear_model import RidgeCV  # lazy: scikit-learn is slow to import

    x, y = states[split.train], series[split.train + 1]
    alphas = _RIDGE_ALPHAS if scores is None else _RIDGE_ALPHAS[undecided(scores)]
    # The SVD of the (train samples x neurons) states: sklearn's "auto" picks the
    # eigendecomposition of the samples' Gram matrix here, measured 3x slower (1.2 s
    # against 3.6 s for 2029 x 930 on one core); both are exact GCV.
    return RidgeCV(alphas=alphas, gcv_mode="svd").fit(x, y)


def select_trace_tau(spikes, steps_per_sample: int, dt: float, series, split: ForecastSplit,
                     neurons=None, taus=TRACE_TAUS):
    """The trace time constant whose ridge readout has the lowest generalised
    cross-validation error on the training samples (test samples unseen).

    Returns ``(tau, states, model)``: the states with that time constant and the ridge
    readout fitted on them (pass it to :func:`one_step_nrmse` as ``model``). Only the
    time constants the :func:`._gcv.gcv_scores` leave undecided are fitted, and the
    first of them with the best exact score is taken, as when every one is fitted."""
    y = np.asarray(series, dtype=np.float64)
    candidates = []
    for tau in taus:
        states = reservoir_states(spikes, steps_per_sample, dt, tau, neurons)
        scores = gcv_scores(states[split.train], y[split.train + 1], _RIDGE_ALPHAS)
        candidates.append((float(tau), states, scores))
    best = None
    for i in undecided([np.max(scores) for _, _, scores in candidates]):
        tau, states, scores = candidates[i]
        model = _fit_ridge(states, y, split, scores)
        if best is None or model.best_score_ > best[2].best_score_:
            best = (tau, states, model)
    return best


def one_step_nrmse(states: np.ndarray, series: np.ndarray, split: ForecastSplit,
                   readout: str = "ridge", *, net: SpikingNetwork | None = None,
                   seed: int = 0, model=None) -> float:
    """Test NRMSE of a readout from ``states[t]`` to ``series[t + 1]`` (module docstring).

    ``states [n_samples, n_active]`` (active neurons in index order). The ``"paper"``
    readout needs ``net`` (for betweenness) and uses its top 10 % neurons. ``model``: a
    ridge readout already fitted on these states (:func:`select_trace_tau`), not refitted.
    """
    if readout not in READOUTS:
        raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}")
    y = np.asarray(series, dtype=np.float64)
    x = np.asarray(states, dtype=np.float64)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"states has {x.shape[0]} samples, series {y.shape[0]}")
    sigma = _sigma(y)
    if readout == "ridge":
        model = _fit_ridge(x, y, split) if model is None else model
        pred = model.predict(x[split.test])
    else:
        if net is None:
            raise ValueError("the 'paper' readout needs net= (betweenness of its neurons)")
        active = np.flatnonzero(net.neuron_active)
        chosen = np.searchsorted(active, select_readout_neurons(net, 0.1))
        model = MLPReadout(seed=seed).fit(x[split.train][:, chosen], y[split.train + 1])
        pred = model.predict(x[split.test][:, chosen])
    return float(nrmse(pred, y[split.test + 1], sigma))


def reference_forecasts(series, split: ForecastSplit, *, esn_units: int | None = 1000,
                        seed: int = 0, esn=None) -> dict:
    """NRMSE of persistence, a linear one-step map and an ESN on ``split``'s test samples.

    ``esn_units=None`` skips the ESN (the slowest of the three); ``esn``: an
    :class:`.closed_loop.ESNForecaster` already fitted on ``split.train`` to score instead
    of building one (a caller that also runs it closed loop runs the reservoir once).
    """
    y = np.asarray(series, dtype=np.float64)
    sigma = _sigma(y)
    target = y[split.test + 1]
    out = {"persistence": float(nrmse(y[split.test], target, sigma))}
    from sklearn.linear_model import RidgeCV  # lazy: scikit-learn is slow to import
    lagged = np.hstack([y[1:], y[:-1]])            # row t-1 holds (y[t], y[t-1])
    tr, te = split.train[split.train >= 1], split.test
    lin = RidgeCV(alphas=np.logspace(-8, 2, 11)).fit(lagged[tr - 1], y[tr + 1])
    out["linear"] = float(nrmse(lin.predict(lagged[te - 1]), target, sigma))
    if esn_units:
        out["esn"] = _esn_nrmse(y, split, int(esn_units), seed, sigma, esn)
    return out


def input_code_nrmse(encoded: EncodedSeries, split: ForecastSplit, dt: float,
                     taus=TRACE_TAUS) -> dict:
    """The input code's own floor: the one-step NRMSE of the network's readout applied to
    the input spike trains alone (no network).

    The states are the exponential traces of the ``n_inputs`` input channels at the last
    step of every sample (:func:`reservoir_states`), the time constant among ``taus``
    chosen and the ridge penalty set by generalised cross-validation on ``split.train``
    (:func:`select_trace_tau`), scored on ``split.test``: exactly the readout a network's
    neurons get, applied to what drives them. A network that scores no better than this
    adds nothing the code did not already carry to a linear readout (issue 28, item 5).
    Returns ``{"nrmse", "trace_tau", "channels"}``."""
    y = encoded.series
    tau, states, model = select_trace_tau(encoded.spikes, encoded.steps_per_sample, dt, y,
                                          split, taus=taus)
    return {"nrmse": one_step_nrmse(states, y, split, "ridge", model=model),
            "trace_tau": tau, "channels": int(encoded.spikes.shape[1])}


def _esn_nrmse(y: np.ndarray, split: ForecastSplit, units: int, seed: int,
               sigma: np.ndarray, esn=None) -> float:
    if esn is None:
        esn = ESNForecaster(y, split.train, units, seed)
    return float(nrmse(esn.one_step(split.test), y[split.test + 1], sigma))
