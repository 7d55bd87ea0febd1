"""Rate coding of real values and images into spike trains (design section 1, "Input layer").

Pipeline for a real-valued series ``x [T, D]``:

1. Scaling, fitted on training data only (:class:`SignalScaling`)::

       u = clip((x - center) / scale, lo, 1)      lo = 0 (unsigned) or -1 (signed)

   ``"minmax"``: center = min, scale = max - min, unsigned (u in [0, 1]);
   ``"maxabs"``: center = 0, scale = max |x|, signed; ``"zscore"``: center = mean,
   scale = n_std * std, signed. Values beyond the training range saturate.
2. Channels (:func:`channel_intensities`): unsigned -> one channel per dimension with
   intensity ``u``; signed -> an ON/OFF pair per dimension, interleaved
   ``[on_0, off_0, on_1, off_1, ...]``, with ``on = max(u, 0)``, ``off = max(-u, 0)``
   (at most one of the pair is active; the value is ``on - off``). Intensities lie in
   [0, 1].
3. Spikes, with rate ``r = intensity * max_rate`` and per-step probability / drive
   ``p = r * dt <= 1``, each sample held for ``steps_per_sample`` steps:

   * Poisson (:func:`poisson_spikes`): independent Bernoulli(p) per step and channel,
     the discrete-time Poisson process (at most one spike per step), from
     ``np.random.default_rng(seed)``;
   * deterministic (:func:`deterministic_spikes`): integrate-and-fire with error
     diffusion, ``c[t] = sum_{k<=t} p[k]``, a spike at ``t`` whenever
     ``floor(c[t] + 1/2)`` increases. The spike count of every prefix ``0..t`` is
     ``floor(c[t] + 1/2)``: the intended count rounded to the nearest integer, so it
     never differs from the intended count by more than 1/2 (computed exactly in
     integers on ``p`` rounded to multiples of 2**-32, so regular rates give regular
     spike trains on every platform);
   * staggered population (:func:`staggered_population_spikes`): ``copies`` error-
     diffusion channels per input started at phases ``(m + 1/2) / copies`` and restarted
     at every sample, so a value always maps to the same spikes and the summed count
     resolves ``copies`` times finer than one channel.

   ``RateEncoder(copies=M)`` puts the M copies of a channel side by side (Poisson
   copies are independent trains).

Increment channels (``RateEncoder(increments=True)``): the series is coded as ``[x[t],
x[t] - x[t-1]]``, the change since the previous sample scaled on its own (fitted on the
training increments), so its ON/OFF pair resolves the change with the channel's whole
range rather than with the few counts it spans of the value's range. A one-step forecast
of a smooth series is mostly that change (persistence plus a correction); a value-only
code leaves it to the network to recover the change as the difference of two coarsely
coded samples. The change is what an event camera's pixels send (temporal contrast,
Lichtsteiner, Posch & Delbruck, IEEE JSSC 43(2), 2008) and what a delta modulator codes;
here it is added to the level channels, not instead of them.

For a series, ``"deterministic"`` error diffusion runs on across samples (the residual of
one sample carries into the next): each sample's window holds its intended count to
within one spike, the running total to within 1/2. For images it restarts with every
image, so each image's count per pixel is its intended count rounded to nearest.

Images (paper section 4, the classification set-up): each image is presented for
``t_input`` = 100 ms as spike trains with rates proportional to pixel intensity, followed
by ``t_silence`` = 100 ms without input so currents and activity decay
(:class:`ImageEncoder`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._util.validation import check_int, check_positive

__all__ = [
    "SignalScaling",
    "channel_intensities",
    "combine_channels",
    "poisson_spikes",
    "deterministic_spikes",
    "staggered_population_spikes",
    "spike_counts",
    "decode_rates",
    "RateEncoder",
    "ImageEncoder",
]

_METHODS = ("poisson", "deterministic")
_SERIES_METHODS = ("poisson", "deterministic", "staggered")
_SCRATCH_VALUES = 1 << 22  # float scratch values per block in ImageEncoder.transform


def _matrix(name: str, values) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a [T, D] array (or [T]), got {arr.ndim} dimensions")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has non-finite values")
    return arr


def _step_probability(max_rate: float, dt: float) -> float:
    max_rate, dt = check_positive(max_rate, "max_rate"), check_positive(dt, "dt")
    if max_rate * dt > 1 + 1e-12:
        raise ValueError(f"max_rate * dt = {max_rate * dt:g} exceeds 1 spike per step; lower "
                         f"max_rate (Hz) or dt (s)")
    return max_rate * dt


# ------------------------------------------------------------------------- scaling
#: Signed scalings a series can be coded with (ON/OFF pairs), see :meth:`SignalScaling.fit`.
SERIES_SCALINGS = ("zscore", "median", "range")


@dataclass(eq=False)
class SignalScaling:
    """Per-dimension affine scaling ``u = clip((x - center) / scale, lo, 1)``.

    ``signed`` False: ``lo = 0`` (one channel per dimension); True: ``lo = -1`` (an
    ON/OFF channel pair per dimension), and values below ``center`` are divided by
    ``scale_low`` when it is given (a skewed dimension then uses the whole OFF channel
    too). Build with :meth:`fit` on training data.
    """

    center: np.ndarray
    scale: np.ndarray
    signed: bool
    scale_low: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.center = np.asarray(self.center, dtype=np.float64).reshape(-1)
        self.scale = np.asarray(self.scale, dtype=np.float64).reshape(-1)
        if self.center.shape != self.scale.shape or self.center.size == 0:
            raise ValueError(f"center and scale must have one value per dimension, got "
                             f"shapes {self.center.shape} and {self.scale.shape}")
        if not np.all(np.isfinite(self.center)):
            raise ValueError("center must be finite")
        if not np.all(np.isfinite(self.scale)) or np.any(self.scale <= 0):
            raise ValueError(f"scale must be positive and finite, got {self.scale}")
        self.signed = bool(self.signed)
        if self.scale_low is not None:
            self.scale_low = np.asarray(self.scale_low, dtype=np.float64).reshape(-1)
            if self.scale_low.shape != self.scale.shape or not self.signed:
                raise ValueError("scale_low needs a signed scaling with one value per "
                                 "dimension")
            if not np.all(np.isfinite(self.scale_low)) or np.any(self.scale_low <= 0):
                raise ValueError(f"scale_low must be positive and finite, got "
                                 f"{self.scale_low}")

    @property
    def n_dims(self) -> int:
        return self.center.size

    @classmethod
    def fit(cls, train, method: str = "minmax", n_std: float = 3.0) -> "SignalScaling":
        """Fit on ``train [T, D]``: ``"minmax"`` (unsigned), ``"maxabs"``, ``"zscore"``
        (signed; ``n_std`` standard deviations map to +-1) or ``"range"`` (signed; the
        training range maps onto [-1, 1] around its midpoint, so a heavy-tailed dimension
        is neither clipped nor coarsely resolved). A constant training dimension gets
        scale 1 (it then encodes as its offset from the constant). ``"median"`` (signed):
        centred on the median, the part above it scaled to the training maximum and the
        part below to the minimum, so each of the ON and OFF channels spans its own side
        of a skewed dimension (Rossler's z sits near its minimum and spikes rarely)."""
        x = _matrix("train", train)
        if method == "minmax":
            center, span, signed = x.min(axis=0), np.ptp(x, axis=0), False
        elif method == "maxabs":
            center, span, signed = np.zeros(x.shape[1]), np.abs(x).max(axis=0), True
        elif method == "zscore":
            n_std = check_positive(n_std, "n_std")
            center, span, signed = x.mean(axis=0), n_std * x.std(axis=0), True
        elif method == "range":
            lo, hi = x.min(axis=0), x.max(axis=0)
            center, span, signed = (lo + hi) / 2, (hi - lo) / 2, True
        elif method == "median":
            center = np.median(x, axis=0)
            up, down = x.max(axis=0) - center, center - x.min(axis=0)
            return cls(center=center, scale=np.where(up > 0, up, 1.0), signed=True,
                       scale_low=np.where(down > 0, down, 1.0))
        else:
            raise ValueError(f"method must be 'minmax', 'maxabs', 'zscore', 'range' or "
                             f"'median', got {method!r}")
        span = np.where(span > 0, span, 1.0)
        return cls(center=center, scale=span, signed=signed)

    def transform(self, x) -> np.ndarray:
        arr = _matrix("x", x)
        if arr.shape[1] != self.n_dims:
            raise ValueError(f"x has {arr.shape[1]} dimensions, the scaling was fitted on "
                             f"{self.n_dims}")
        d = arr - self.center
        if self.scale_low is not None:
            return np.clip(np.where(d < 0, d / self.scale_low, d / self.scale), -1.0, 1.0)
        return np.clip(d / self.scale, -1.0 if self.signed else 0.0, 1.0)

    def inverse_transform(self, u) -> np.ndarray:
        arr = _matrix("u", u)
        if arr.shape[1] != self.n_dims:
            raise ValueError(f"u has {arr.shape[1]} dimensions, the scaling has {self.n_dims}")
        if self.scale_low is not None:
            return np.where(arr < 0, arr * self.scale_low, arr * self.scale) + self.center
        return arr * self.scale + self.center


def channel_intensities(u, signed: bool) -> np.ndarray:
    """Scaled values ``u [T, D]`` -> channel intensities in [0, 1]: ``[T, D]`` unsigned,
    ``[T, 2 D]`` signed (interleaved ON/OFF pairs; module docstring)."""
    arr = _matrix("u", u)
    low = -1.0 if signed else 0.0
    if arr.size and (arr.min() < low - 1e-12 or arr.max() > 1 + 1e-12):
        raise ValueError(f"u must lie in [{low:g}, 1] (apply a SignalScaling first), got "
                         f"{arr.min():g}..{arr.max():g}")
    if not signed:
        return np.clip(arr, 0.0, 1.0)
    out = np.empty((arr.shape[0], 2 * arr.shape[1]))
    out[:, 0::2] = np.clip(arr, 0.0, 1.0)
    out[:, 1::2] = np.clip(-arr, 0.0, 1.0)
    return out


def combine_channels(intensities, signed: bool) -> np.ndarray:
    """Inverse of :func:`channel_intensities`: ``on - off`` per pair when ``signed``."""
    arr = _matrix("intensities", intensities)
    if not signed:
        return arr.copy()
    if arr.shape[1] % 2:
        raise ValueError(f"signed intensities need an even number of channels, got {arr.shape[1]}")
    return arr[:, 0::2] - arr[:, 1::2]


# ------------------------------------------------------------------------- spikes
def _intensity_matrix(intensities) -> np.ndarray:
    arr = _matrix("intensities", intensities)
    if arr.size and (arr.min() < 0 or arr.max() > 1):
        raise ValueError(f"intensities must lie in [0, 1], got {arr.min():g}..{arr.max():g}")
    return arr


def poisson_spikes(intensities, max_rate: float, dt: float, seed=None) -> np.ndarray:
    """Bernoulli(p = intensity * max_rate * dt) spikes per step and channel, ``bool [T, C]``.

    ``seed`` is anything ``np.random.default_rng`` takes (a Generator is used as is).
    """
    p_max = _step_probability(max_rate, dt)
    p = _intensity_matrix(intensities) * p_max
    rng = np.random.default_rng(seed)
    return rng.random(p.shape) < p


def deterministic_spikes(intensities, max_rate: float, dt: float) -> np.ndarray:
    """Error-diffusion (integrate-and-fire) spikes, ``bool [T, C]``: the spike count of
    every prefix is the intended count ``sum p`` rounded to nearest (module docstring)."""
    p_max = _step_probability(max_rate, dt)
    p = _intensity_matrix(intensities) * p_max
    level = _diffusion_levels(p, axis=0)
    previous = np.vstack([np.zeros((1, p.shape[1]), np.int64), level[:-1]])
    return level > previous


_FIXED_ONE = 1 << 32  # error diffusion runs on p quantised to 2**-32


def _diffusion_levels(p: np.ndarray, axis: int, phase_units=_FIXED_ONE >> 1) -> np.ndarray:
    """``floor(cumsum(p) + phase)`` along ``axis`` (phase 1/2 by default, in 2**-32
    units, broadcast over the last axis), in exact integer arithmetic on ``p`` rounded
    to multiples of 2**-32: float partial sums would put the spike times of regular
    rates (p = 0.1 crosses k + 1/2 exactly) at the mercy of rounding."""
    if p.shape[axis] >= 1 << 30:
        raise ValueError(f"at most 2**30 steps per channel, got {p.shape[axis]}")
    units = np.rint(p * _FIXED_ONE).astype(np.int64)
    return (np.cumsum(units, axis=axis) + phase_units) >> 32


def _copy_phases(copies: int) -> np.ndarray:
    """Start phases ``(m + 1/2) / copies`` of the copies, in 2**-32 units."""
    return np.rint((np.arange(copies) + 0.5) / copies * _FIXED_ONE).astype(np.int64)


def staggered_population_spikes(intensities, max_rate: float, dt: float,
                                steps_per_sample: int, copies: int = 1) -> np.ndarray:
    """Deterministic population code: ``copies`` phase-staggered error-diffusion channels
    per input channel, restarted at every sample.

    ``intensities [n, C]`` in [0, 1]; sample ``i`` is held for ``K = steps_per_sample``
    steps; copy ``m`` of channel ``c`` integrates ``p = intensity * max_rate * dt`` from
    phase ``(m + 1/2) / M``::

        level[k] = floor(p (k + 1) + (m + 1/2) / M),   k = 0..K-1
        spike at k whenever level rises (level[-1] = 0)

    so copy ``m`` fires ``floor(K p + (m + 1/2) / M)`` times per sample and the population
    count ``sum_m`` is ``M K p`` rounded to within 1/2: M times finer than one channel.
    Every sample is coded on its own, so a value always gives the same spikes (a
    closed-loop forecast can encode its predictions exactly as the training data).
    Integer arithmetic on ``p`` in multiples of 2**-32 (no float ties). ``copies = 1``
    is the per-sample version of :func:`deterministic_spikes`.

    Returns ``bool [n * K, C * M]``, the copies of one channel adjacent (``c * M + m``).
    """
    p_max = _step_probability(max_rate, dt)
    x = _intensity_matrix(intensities)
    k_steps = check_int(steps_per_sample, "steps_per_sample")
    m_copies = check_int(copies, "copies")
    if k_steps >= 1 << 30:
        raise ValueError(f"steps_per_sample must be below 2**30, got {k_steps}")
    units = np.rint(x * p_max * _FIXED_ONE).astype(np.int64)            # [n, C]
    phase = _copy_phases(m_copies)
    k = np.arange(1, k_steps + 1, dtype=np.int64)
    level = (units[:, None, :, None] * k[None, :, None, None]
             + phase[None, None, None, :]) >> 32                            # [n, K, C, M]
    first = level[:, :1] > (phase[None, None, None, :] >> 32)
    out = np.concatenate([first, level[:, 1:] > level[:, :-1]], axis=1)
    n, c = x.shape
    return out.reshape(n * k_steps, c * m_copies)


def spike_counts(spikes, steps_per_sample: int) -> np.ndarray:
    """Spikes per channel in consecutive windows of ``steps_per_sample`` steps:
    ``[T, C]`` -> ``[T // steps_per_sample, C]`` (int64); T must be a multiple."""
    s = np.asarray(spikes)
    if s.ndim != 2:
        raise ValueError(f"spikes must be [T, C], got shape {s.shape}")
    k = check_int(steps_per_sample, "steps_per_sample")
    if s.shape[0] % k:
        raise ValueError(f"spikes has {s.shape[0]} steps, not a multiple of steps_per_sample={k}")
    return s.reshape(s.shape[0] // k, k, s.shape[1]).sum(axis=1, dtype=np.int64)


def decode_rates(spikes, dt: float, steps_per_sample: int) -> np.ndarray:
    """Firing rate (Hz) per channel in windows of ``steps_per_sample`` steps."""
    dt = check_positive(dt, "dt")
    return spike_counts(spikes, steps_per_sample) / (steps_per_sample * dt)


# ----------------------------------------------------------------- series encoder
class RateEncoder:
    """Rate-code a real series ``[T, D]`` into spikes ``bool [T * steps_per_sample, C]``.

    Parameters
    ----------
    max_rate : rate (Hz) of a channel at intensity 1.
    dt : simulation step (s); ``max_rate * dt <= 1``.
    steps_per_sample : simulation steps each sample is held for.
    method : ``"poisson"``, ``"deterministic"`` (error diffusion running on across
        samples; module docstring) or ``"staggered"`` (error diffusion restarted at every
        sample, :func:`staggered_population_spikes`: a value always gives the same
        spikes, as a closed-loop forecast that re-encodes its predictions needs).
    scaling : :meth:`SignalScaling.fit` method, ``"minmax"`` (unsigned, one channel per
        dimension), ``"maxabs"`` or ``"zscore"`` (signed, an ON/OFF pair per dimension).
    copies : channels per encoded channel, adjacent in the output (``c * copies + m``):
        independent Poisson trains, or error-diffusion copies started at staggered phases
        ``(m + 1/2) / copies``, whose summed count resolves ``copies`` times finer.
    seed : Poisson seed used by :meth:`transform` unless it is given one.
    increments : also code the change ``x[t] - x[t-1]`` of every dimension on ON/OFF
        channels of its own, scaled on the training increments (module docstring); the
        channels of the change follow those of the value.

    ``fit(train)`` learns the scaling from training data; ``transform(x, seed=None,
    previous=None)`` encodes (pass distinct seeds for distinct splits to draw independent
    Poisson noise; ``previous``: the sample before ``x[0]``, whose change it codes, none:
    a change of 0);
    ``inverse_transform(spikes)`` decodes spike counts (summed over copies) back to
    values, within one count quantum ``scale / (max_rate * dt * steps_per_sample)`` for
    ``"deterministic"`` and within ``1 / copies`` of it for ``"staggered"``.
    """

    def __init__(self, max_rate: float = 200.0, dt: float = 1e-3, steps_per_sample: int = 10,
                 method: str = "poisson", scaling: str = "minmax", copies: int = 1,
                 seed=None, increments: bool = False):
        self.max_rate = max_rate
        self.dt = dt
        self.steps_per_sample = steps_per_sample
        self.method = method
        self.scaling = scaling
        self.copies = copies
        self.seed = seed
        self.increments = bool(increments)
        self.scaling_: SignalScaling | None = None

    def _validate(self) -> None:
        _step_probability(self.max_rate, self.dt)
        check_int(self.steps_per_sample, "steps_per_sample")
        check_int(self.copies, "copies")
        if self.method not in _SERIES_METHODS:
            raise ValueError(f"method must be one of {_SERIES_METHODS}, got {self.method!r}")

    def _coded(self, x, previous=None) -> np.ndarray:
        """What the channels code: ``x``, or ``[x, x - x_prev]`` with increments (the
        first row's change from ``previous``, or 0 without it)."""
        arr = _matrix("x", x)
        if not self.increments:
            return arr
        if previous is None:
            before = arr[:1]
        else:
            before = _matrix("previous", np.asarray(previous, dtype=np.float64).reshape(1, -1))
            if before.shape[1] != arr.shape[1]:
                raise ValueError(f"previous has {before.shape[1]} dimensions, x has "
                                 f"{arr.shape[1]}")
        return np.hstack([arr, np.diff(arr, axis=0, prepend=before)])

    def fit(self, train) -> "RateEncoder":
        self._validate()
        self.scaling_ = SignalScaling.fit(self._coded(train), self.scaling)
        return self

    def _fitted(self) -> SignalScaling:
        if self.scaling_ is None:
            raise RuntimeError("RateEncoder is not fitted; call fit(train) first")
        return self.scaling_

    @property
    def n_channels(self) -> int:
        """Output channels: coded dimensions (twice the series' with increments) x (2 if
        signed) x copies."""
        s = self._fitted()
        return s.n_dims * (2 if s.signed else 1) * int(self.copies)

    def intensities(self, x, previous=None) -> np.ndarray:
        """Channel intensities ``[T, C]`` in [0, 1] of ``x`` (before repetition)."""
        s = self._fitted()
        return channel_intensities(s.transform(self._coded(x, previous)), s.signed)

    def transform(self, x, seed=None, previous=None) -> np.ndarray:
        self._validate()
        intensity = self.intensities(x, previous)
        m = int(self.copies)
        if self.method == "staggered":
            return staggered_population_spikes(intensity, self.max_rate, self.dt,
                                               self.steps_per_sample, m)
        held = np.repeat(np.repeat(intensity, m, axis=1), self.steps_per_sample, axis=0)
        if self.method == "poisson":
            return poisson_spikes(held, self.max_rate, self.dt,
                                  self.seed if seed is None else seed)
        p = held * _step_probability(self.max_rate, self.dt)
        phases = np.tile(_copy_phases(m), intensity.shape[1])
        level = _diffusion_levels(p, axis=0, phase_units=phases)
        return level > np.vstack([phases[None, :] >> 32, level[:-1]])

    def fit_transform(self, train, seed=None) -> np.ndarray:
        return self.fit(train).transform(train, seed)

    def inverse_transform(self, spikes) -> np.ndarray:
        """Values ``[T, D]`` decoded from spike counts per sample window (with
        increments, the level channels only)."""
        s = self._fitted()
        counts = spike_counts(spikes, self.steps_per_sample)
        if counts.shape[1] != self.n_channels:
            raise ValueError(f"spikes has {counts.shape[1]} channels, the encoder makes "
                             f"{self.n_channels}")
        m = int(self.copies)
        counts = counts.reshape(len(counts), -1, m).sum(axis=2)
        intensity = counts / (m * self.max_rate * self.dt * self.steps_per_sample)
        decoded = s.inverse_transform(combine_channels(np.clip(intensity, 0, 1), s.signed))
        return decoded[:, :decoded.shape[1] // 2] if self.increments else decoded


# ------------------------------------------------------------------ image encoder
class ImageEncoder:
    """Present images as rate-coded spikes: ``t_input`` of input, then ``t_silence`` of none.

    Parameters
    ----------
    max_rate : rate (Hz) of a pixel at full intensity (rates are proportional to
        intensity, paper section 4).
    dt : simulation step (s).
    t_input, t_silence : presentation and blank durations (s); 0.1 and 0.1 in the paper.
    method : ``"poisson"`` (the paper) or ``"deterministic"``.
    seed : seed of the Poisson draws unless :meth:`transform` is given one.

    :meth:`transform` maps intensities ``[n_images, n_pixels]`` in [0, 1] (e.g.
    ``ImageDataset.intensities()``) to ``bool [n_images, steps_per_image, n_pixels]``;
    for large sets call it batch by batch (CIFAR: 3072 pixels x 200 steps per image).
    """

    def __init__(self, max_rate: float = 100.0, dt: float = 1e-3, t_input: float = 0.1,
                 t_silence: float = 0.1, method: str = "poisson", seed=None):
        self.max_rate = max_rate
        self.dt = dt
        self.t_input = t_input
        self.t_silence = t_silence
        self.method = method
        self.seed = seed

    def _steps(self) -> tuple[int, int]:
        _step_probability(self.max_rate, self.dt)
        if self.method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}, got {self.method!r}")
        n_in = self.t_input / check_positive(self.dt, "dt")
        try:
            n_off = float(self.t_silence) / self.dt
        except (TypeError, ValueError):
            raise ValueError(f"t_silence must be a number of seconds, got {self.t_silence!r}"
                             ) from None
        if not n_in >= 1 or abs(n_in - round(n_in)) > 1e-6:
            raise ValueError(f"t_input must be a positive whole number of steps dt, got "
                             f"{self.t_input} s with dt={self.dt} s")
        if not n_off >= 0 or abs(n_off - round(n_off)) > 1e-6:
            raise ValueError(f"t_silence must be a non-negative whole number of steps dt, got "
                             f"{self.t_silence} s with dt={self.dt} s")
        return int(round(n_in)), int(round(n_off))

    @property
    def input_steps(self) -> int:
        return self._steps()[0]

    @property
    def steps_per_image(self) -> int:
        n_in, n_off = self._steps()
        return n_in + n_off

    def transform(self, intensities, seed=None) -> np.ndarray:
        n_in, n_off = self._steps()
        x = np.asarray(intensities, dtype=np.float64)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2:
            raise ValueError(f"intensities must be [n_images, n_pixels], got shape {x.shape}")
        n, c = x.shape
        p_max = _step_probability(self.max_rate, self.dt)
        p_all = _intensity_matrix(x) * p_max
        out = np.zeros((n, n_in + n_off, c), dtype=bool)
        rng = np.random.default_rng(self.seed if seed is None else seed)
        # Blocks of images bound the float scratch memory (CIFAR: 3072 x 100 per image);
        # sequential draws from one Generator give the same numbers as one big draw.
        block = max(1, _SCRATCH_VALUES // (n_in * c))
        for start in range(0, n, block):
            stop = min(n, start + block)
            p = np.broadcast_to(p_all[start:stop, None, :], (stop - start, n_in, c))
            if self.method == "poisson":
                out[start:stop, :n_in] = rng.random(p.shape) < p
            else:  # error diffusion restarted for every image: exact counts per image
                level = _diffusion_levels(p, axis=1)
                out[start:stop, 0] = level[:, 0] > 0
                out[start:stop, 1:n_in] = level[:, 1:] > level[:, :-1]
        return out

    def flatten(self, spikes) -> np.ndarray:
        """``[n_images, steps, C]`` -> one continuous input ``[n_images * steps, C]``."""
        s = np.asarray(spikes)
        if s.ndim != 3:
            raise ValueError(f"spikes must be [n_images, steps, channels], got shape {s.shape}")
        return s.reshape(-1, s.shape[2])
