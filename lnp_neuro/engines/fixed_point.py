"""Quantisation of a :class:`~lnp_neuro.model.network.SpikingNetwork` to Loihi integer fields.

The integer format is the one of Lava's bit-accurate ``LIF`` (``PyLifModelBitAcc``) and
``Sparse`` (``PySparseModelBitAcc``) process models, lava-nc 0.10.0, which follow Loihi
(Davies et al., IEEE Micro 38(1), 2018, "Loihi: a neuromorphic manycore processor with
on-chip learning"; design section 6). Per step, in integer units::

    a      = (sum_{pre spiked at t-1} w_int) << weight_exp      (>> -weight_exp if < 0;
                                                                  per Sparse process)
    u[t]   = wrap24( trunc(u[t-1] * (4096 - (du + 1)) / 4096) + (a << 6) )
    v[t]   = clip24( trunc(v[t-1] * (4096 - dv) / 4096) + u[t] + (bias_mant << bias_exp) )
    s[t]   = v[t] > (vth << 6) ;  v[t] <- 0 where s[t]
                       (v[t] <- v[t] - vsub for a neuron with reset_subtract, where
                        vsub = vth << 6 unless the network sets reset_amount;
                        s[t] = 0 always for a non-spiking neuron: lnp_neuro.engines.simulator)

``trunc`` rounds toward zero (sign * (|x| >> 12)); ``wrap24`` wraps the current modulo
2**24 like the hardware, ``clip24`` saturates the voltage at +-(2**23 - 1).

Float -> integer mapping (a documented choice, not fixed by Loihi): one float unit of
membrane potential (the unit of ``v_threshold``, ``bias`` and weights, see
:mod:`lnp_neuro.model.network`) is ``scale`` integer units of ``u`` and ``v``. By default
``scale`` is the largest power of two for which the largest active threshold stays below
``2**(23 - headroom_bits)``: with ``headroom_bits = 6`` (default) and thresholds of 1.0,
``scale = 2**17``, the threshold mantissa is 2048 (11-bit resolution) and ``u``/``v`` can
reach 64 thresholds before the 24-bit range is exhausted. A power of two keeps the
integer -> float read-back exact.

Field by field:

- ``du = clip(round(4096 * dt / tau_syn) - 1, 0, 4095)``: Lava adds ``ds_offset = 1`` to the
  current decay, so the effective decay is ``(du + 1) / 4096`` (``tau_syn = dt`` is exact).
- ``dv = clip(round(4096 * dt / tau_mem), 0, 4095)`` (``dm_offset = 0``: ``tau_mem = dt``
  becomes 4095/4096; ``tau_mem = inf`` gives ``dt / tau_mem = 0``, hence ``dv = 0``, no leak).
- ``vth = clip(round(v_threshold * scale / 64), 1, 2**17 - 1)`` (17-bit, shifted by 6).
- ``vsub = clip(round(reset_amount * scale), 1, 2**23 - 1)`` where a network's
  ``reset_amount`` differs from its threshold (snnTorch's delayed subtraction), else
  ``vth << 6``: the amount a spike subtracts is a 24-bit integer of ``v``.
- ``bias = bias_mant << bias_exp`` with ``bias_mant`` 13-bit signed and ``bias_exp`` in
  [0, 7], the smallest exponent whose mantissa fits (most precision).
- Weights: 8-bit mantissas with a shared exponent per ``Sparse`` process, in [-8, 7]
  (Loihi's range). The sign mode is Lava's (``lava.utils.weightutils.determine_sign_mode``)
  for the whole matrix: all >= 0 excitatory (integers 0..255), all <= 0 inhibitory
  (-255..0), else mixed: the sign takes one bit, so Lava keeps only even integers
  -256..254 (mantissa -128..127 times 2). An exponent is the smallest for which every
  rounded mantissa fits, which keeps the most precision without clipping; the integers
  are already in the form Lava's clip/truncate leaves unchanged.

  ``weight_exp="per_neuron"`` (default) chooses that exponent for each postsynaptic
  neuron (row) and the Lava back end builds one ``Sparse`` process per distinct exponent
  (at most 16), each holding the rows of that exponent, all feeding the same LIF;
  ``weight_exp="shared"`` uses one exponent, hence one ``Sparse``, per matrix. Rows
  matter because the models scale each row by the neuron's rate gain
  (``W = diag(1/g) G``): on the default HRSNN at N = 1000 (density 5 %) the RMS weight
  error ``rms(w_q - w) / rms(w)`` is 1.3 % per neuron against 5.4 % shared, at N = 5000
  (2 %) 1.4 % against 15.5 % (with 46 % of the weights flushed to 0). For one exponent,
  never clipping the largest weight is also what keeps the RMS error lowest (5 % at that
  exponent on the N = 1000 network, 7 % one lower, 19 % two lower).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp

from ..model.network import SpikingNetwork

__all__ = ["FixedPointNetwork", "QuantizationError", "quantize", "quantize_weights",
           "sign_mode_of", "default_scale",
           "DECAY_BITS", "UV_BITS", "VTH_BITS", "ACT_SHIFT", "VTH_SHIFT",
           "BIAS_MANT_BITS", "BIAS_EXP_MAX", "WEIGHT_EXP_RANGE"]

DECAY_BITS = 12            #: du, dv are 12-bit unsigned; decays are x / 2**12
UV_BITS = 24               #: u and v are 24-bit signed
VTH_BITS = 17              #: threshold mantissa, unsigned
ACT_SHIFT = 6              #: synaptic input is shifted left by 6 before entering u
VTH_SHIFT = 6              #: threshold mantissa is shifted left by 6
BIAS_MANT_BITS = 13        #: signed bias mantissa
BIAS_EXP_MAX = 7           #: bias exponent in [0, 7]
WEIGHT_EXP_RANGE = (-8, 7)  #: Loihi's shared weight exponent range
_SIGN_MODES = ("excitatory", "inhibitory", "mixed")


@dataclass
class QuantizationError:
    """How far the integer network is from the float one (for reports).

    Relative weight errors are ``|w_q - w| / |w|`` over the nonzero float weights, where
    ``w_q = w_int * 2**(weight_exp[post] + 6) / scale`` is the float value the integers stand
    for; ``*_rms_rel`` is ``rms(w_q - w) / rms(w)``, the error of the summed input (small
    weights flushed to 0 weigh little there, while they dominate the mean relative
    error). ``*_clipped`` counts values saturated at their range, ``*_flushed`` nonzero
    weights that became 0. Decay errors are absolute differences of the per-step decay
    fractions; ``bias_max_abs`` is in float membrane units.
    """

    weight_max_rel: float
    weight_mean_rel: float
    weight_rms_rel: float
    weights_clipped: int
    weights_flushed: int
    input_weight_max_rel: float
    input_weight_mean_rel: float
    input_weight_rms_rel: float
    input_weights_clipped: int
    input_weights_flushed: int
    threshold_max_rel: float
    bias_max_abs: float
    biases_clipped: int
    du_max_abs: float
    dv_max_abs: float

    def as_dict(self) -> dict:
        """JSON-ready dict of the figures."""
        return {k: (int(v) if isinstance(v, (int, np.integer)) else float(v))
                for k, v in asdict(self).items()}


@dataclass(eq=False)
class FixedPointNetwork:
    """Loihi integer parameters of a network (see the module docstring for the equations).

    Parameters
    ----------
    du, dv : int arrays (N,)
        12-bit decays; effective current decay ``(du + 1) / 4096``, voltage ``dv / 4096``.
    vth : int array (N,)
        17-bit threshold mantissa; the neuron spikes when ``v > vth << 6``.
    bias_mant, bias_exp : int arrays (N,)
        Bias ``bias_mant << bias_exp`` added to ``v`` each step.
    weights, input_weights : int32 CSR (N, N) and (N, n_in)
        Lava ``Sparse`` weight integers (``W[post, pre]``), pruned synapses removed.
    weight_exp, input_weight_exp : int arrays (N,)
        Exponent of the Sparse process that holds each postsynaptic neuron's row (all
        equal with ``weight_exp="shared"``); see :meth:`exponent_groups`.
    sign_mode, input_sign_mode : str
        "excitatory", "inhibitory" or "mixed" (Lava ``SignMode``).
    scale : float
        Integer units of ``u``/``v`` per float membrane unit.
    error : QuantizationError
    vsub : int array (N,), optional
        What a spike subtracts from ``v`` (integer units) under reset by subtraction;
        None: ``vth << 6`` (:attr:`effective_vsub`).
    """

    du: np.ndarray
    dv: np.ndarray
    vth: np.ndarray
    bias_mant: np.ndarray
    bias_exp: np.ndarray
    weights: sp.csr_matrix
    weight_exp: np.ndarray
    sign_mode: str
    input_weights: sp.csr_matrix
    input_weight_exp: np.ndarray
    input_sign_mode: str
    scale: float
    error: QuantizationError
    vsub: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.du = self._int_field(self.du, "du", 0, 2**DECAY_BITS - 1)
        n = self.du.shape[0]
        self.dv = self._int_field(self.dv, "dv", 0, 2**DECAY_BITS - 1, n)
        self.vth = self._int_field(self.vth, "vth", 0, 2**VTH_BITS - 1, n)
        half = 2 ** (BIAS_MANT_BITS - 1)
        self.bias_mant = self._int_field(self.bias_mant, "bias_mant", -half, half - 1, n)
        self.bias_exp = self._int_field(self.bias_exp, "bias_exp", 0, BIAS_EXP_MAX, n)
        for name, n_cols in (("weights", n), ("input_weights", None)):
            mat = getattr(self, name)
            if not sp.issparse(mat):
                raise ValueError(f"{name} must be a scipy sparse matrix")
            mat = sp.csr_matrix(mat, dtype=np.int32)
            mat.sort_indices()
            if mat.shape[0] != n or (n_cols is not None and mat.shape[1] != n_cols):
                raise ValueError(f"{name} has shape {mat.shape}, expected ({n}, "
                                 f"{n_cols if n_cols is not None else 'n_in'})")
            setattr(self, name, mat)
        for mode_name, mat_name, exp_name in (("sign_mode", "weights", "weight_exp"),
                                              ("input_sign_mode", "input_weights",
                                               "input_weight_exp")):
            mode = getattr(self, mode_name)
            if mode not in _SIGN_MODES:
                raise ValueError(f"{mode_name} must be one of {_SIGN_MODES}, got {mode!r}")
            lo, hi = _int_range(mode)
            data = getattr(self, mat_name).data
            if data.size and (data.min() < lo or data.max() > hi
                              or (mode == "mixed" and np.any(data % 2))):
                raise ValueError(f"{mat_name} integers must lie in [{lo}, {hi}]"
                                 f"{' and be even' if mode == 'mixed' else ''} for "
                                 f"{mode_name}={mode!r}")
            exp = getattr(self, exp_name)
            if np.ndim(exp) == 0:
                exp = np.full(n, exp)
            setattr(self, exp_name, self._int_field(exp, exp_name, *WEIGHT_EXP_RANGE, n))
        if self.vsub is not None:
            self.vsub = self._int_field(self.vsub, "vsub", 1, 2**23 - 1, n)
        self.scale = float(self.scale)
        if not (np.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"scale must be a positive number, got {self.scale}")

    @staticmethod
    def _int_field(value, name: str, lo: int, hi: int, n: int | None = None) -> np.ndarray:
        arr = np.asarray(value)
        if arr.ndim != 1 or (n is not None and arr.shape[0] != n):
            raise ValueError(f"{name} must be a 1-D array with one value per neuron"
                             f"{f' ({n})' if n is not None else ''}, got shape {arr.shape}")
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"{name} must hold integers, got dtype {arr.dtype}")
        arr = arr.astype(np.int64)
        if arr.size and (arr.min() < lo or arr.max() > hi):
            raise ValueError(f"{name} must lie in [{lo}, {hi}], got [{arr.min()}, {arr.max()}]")
        return arr

    @property
    def size(self) -> int:
        """Number of neurons, one per row: the full index of the quantised network (a
        FixedPointNetwork has no pruning mask; pruned synapses are absent from
        ``weights``)."""
        return self.du.shape[0]

    @property
    def effective_vth(self) -> np.ndarray:
        """Threshold in integer units of ``v`` (``vth << 6``)."""
        return self.vth << VTH_SHIFT

    @property
    def effective_vsub(self) -> np.ndarray:
        """What a spike subtracts from ``v`` under reset by subtraction (integer units)."""
        return self.effective_vth if self.vsub is None else self.vsub

    @property
    def effective_bias(self) -> np.ndarray:
        """Bias in integer units of ``v`` (``bias_mant << bias_exp``)."""
        return self.bias_mant << self.bias_exp

    @staticmethod
    def exponent_groups(exponents: np.ndarray) -> dict[int, np.ndarray]:
        """{exponent: postsynaptic rows} - one Lava Sparse process per entry."""
        return {int(e): np.flatnonzero(exponents == e) for e in np.unique(exponents)}

    def float_weights(self) -> sp.csr_matrix:
        """The recurrent weights the integers stand for, in float membrane units."""
        return _dequantize(self.weights, self.weight_exp, self.scale)

    def float_input_weights(self) -> sp.csr_matrix:
        """The input weights the integers stand for, in float membrane units."""
        return _dequantize(self.input_weights, self.input_weight_exp, self.scale)

    def compact(self, keep: np.ndarray) -> "FixedPointNetwork":
        """The same integers restricted to neurons ``keep`` (as SpikingNetwork.compact)."""
        keep = np.asarray(keep, dtype=np.int64)
        return FixedPointNetwork(
            du=self.du[keep], dv=self.dv[keep], vth=self.vth[keep],
            bias_mant=self.bias_mant[keep], bias_exp=self.bias_exp[keep],
            weights=self.weights[keep][:, keep], weight_exp=self.weight_exp[keep],
            sign_mode=self.sign_mode, input_weights=self.input_weights[keep],
            input_weight_exp=self.input_weight_exp[keep], input_sign_mode=self.input_sign_mode,
            scale=self.scale, error=self.error,
            vsub=None if self.vsub is None else self.vsub[keep])


def _int_range(sign_mode: str) -> tuple[int, int]:
    if sign_mode == "mixed":
        return -256, 254
    if sign_mode == "inhibitory":
        return -255, 0
    return 0, 255


def _dequantize(w_int: sp.csr_matrix, weight_exp: np.ndarray, scale: float) -> sp.csr_matrix:
    out = sp.csr_matrix(w_int, dtype=np.float64, copy=True)
    row_exp = np.repeat(np.asarray(weight_exp, np.int64), np.diff(out.indptr))
    out.data *= 2.0 ** (row_exp + ACT_SHIFT) / scale
    return out


def sign_mode_of(values: np.ndarray) -> str:
    """Lava's sign mode of a weight array (all >= 0, all <= 0, or mixed)."""
    values = np.asarray(values)
    if values.size == 0 or values.min() >= 0:
        return "excitatory"
    if values.max() <= 0:
        return "inhibitory"
    return "mixed"


def quantize_weights(weights: sp.spmatrix, scale: float,
                     exp_range: tuple[int, int] = WEIGHT_EXP_RANGE, per_row: bool = False):
    """8-bit mantissas and the most precise exponent(s) of a weight matrix.

    A float weight ``w`` is ``w * scale / 64`` activation units (the activation is shifted
    left by 6 into ``u``); it is represented as ``w_int * 2**weight_exp`` with ``w_int`` in
    the range of the sign mode (module docstring). The exponent is the smallest in
    ``exp_range`` for which no mantissa overflows, for the whole matrix or, with
    ``per_row``, for each row (rows without weights take the whole matrix's). Returns
    ``(w_int CSR int32, weight_exp int array (n_rows,), sign_mode, n_clipped, n_flushed)``.
    """
    w = sp.csr_matrix(weights, dtype=np.float64, copy=True)
    w.sort_indices()
    mode = sign_mode_of(w.data)
    step = 2 if mode == "mixed" else 1
    lo, hi = _int_range(mode)
    m_lo, m_hi = lo // step, hi // step          # mantissa range: [-128, 127] or 0..255
    target = w.data * (scale / 2.0 ** ACT_SHIFT) / step  # mantissa units at weight_exp 0
    e_min, e_max = exp_range
    n_rows = w.shape[0]
    row_of = np.repeat(np.arange(n_rows), np.diff(w.indptr))

    def smallest_fitting(group: np.ndarray, n_groups: int, starts: np.ndarray) -> np.ndarray:
        # Per group (contiguous entries from ``starts``), the smallest exponent in
        # exp_range with every rounded mantissa in [m_lo, m_hi]; fitting is monotone in
        # the exponent, so scan upwards. A group whose largest |target| is A fits at no e
        # with A / 2**e > max(-m_lo, m_hi) + 1/2, so the scan starts below the smallest
        # such bound of the groups (by two, against the rounding of the log).
        exp = np.full(n_groups, e_max, np.int64)
        undecided = np.ones(n_groups, bool)
        smallest = float(np.maximum.reduceat(np.abs(target), starts).min())
        first = e_min
        if smallest > 0:
            bound = smallest / (max(-m_lo, m_hi) + 0.5)
            first = min(max(e_min, math.floor(math.log2(bound)) - 2), e_max)
        for e in range(first, e_max + 1):
            m = np.round(target / 2.0 ** e)
            bad = np.zeros(n_groups, bool)
            bad[group[(m < m_lo) | (m > m_hi)]] = True
            exp[undecided & ~bad] = e
            undecided &= bad
            if not undecided.any():
                break
        return exp

    if per_row and target.size:
        has = np.diff(w.indptr) > 0
        row_exps = smallest_fitting(row_of, n_rows, w.indptr[:-1][has])
        # The whole matrix fits at e iff each of its rows does (fitting is monotone in
        # e), so its exponent is its rows' largest (e_max where a row fits at none); it
        # is the exponent of the rows without weights.
        exps = np.where(has, row_exps, row_exps[has].max())
    else:
        shared = (smallest_fitting(np.zeros(target.size, np.int64), 1, np.zeros(1, np.int64))[0]
                  if target.size else 0)
        exps = np.full(n_rows, shared, np.int64)
    mant = np.round(target / 2.0 ** exps[row_of])
    n_clipped = int(np.count_nonzero((mant < m_lo) | (mant > m_hi)))
    mant = np.clip(mant, m_lo, m_hi)
    n_flushed = int(np.count_nonzero((mant == 0) & (w.data != 0)))
    w_int = sp.csr_matrix((mant.astype(np.int32) * step, w.indices.copy(), w.indptr.copy()),
                          shape=w.shape)
    return w_int, exps, mode, n_clipped, n_flushed


def _rel_errors(w_float: sp.csr_matrix, w_q: sp.csr_matrix) -> tuple[float, float, float]:
    # Same sparsity pattern by construction; compare entry by entry.
    nz = w_float.data != 0
    if not np.any(nz):
        return 0.0, 0.0, 0.0
    diff = w_q.data[nz] - w_float.data[nz]
    rel = np.abs(diff) / np.abs(w_float.data[nz])
    rms = float(np.sqrt(np.mean(diff ** 2)) / np.sqrt(np.mean(w_float.data[nz] ** 2)))
    return float(rel.max()), float(rel.mean()), rms


def default_scale(net: SpikingNetwork, headroom_bits: int = 6) -> float:
    """Largest power of two with max active threshold * scale <= 2**(23 - headroom_bits)."""
    active = net.neuron_active if net.neuron_active.any() else np.ones(net.n_total_neurons, bool)
    return scale_for_threshold(float(np.max(net.v_threshold[active])), headroom_bits)


def scale_for_threshold(vmax: float, headroom_bits: int = 6) -> float:
    """Largest power of two with ``vmax * scale <= 2**(23 - headroom_bits)``: the default
    scale of a network whose largest active threshold is ``vmax``."""
    return 2.0 ** math.floor(UV_BITS - 1 - headroom_bits - math.log2(vmax))


def quantize(net: SpikingNetwork, *, scale: float | None = None, headroom_bits: int = 6,
             weight_exp: str = "per_neuron") -> FixedPointNetwork:
    """Loihi integer parameters of ``net`` and their quantisation error.

    Parameters
    ----------
    net : SpikingNetwork
        Pruned synapses and synapses of pruned neurons are left out (effective weights).
    scale : float, optional
        Integer units of ``u``/``v`` per float membrane unit; default
        :func:`default_scale` (module docstring).
    headroom_bits : int
        Bits of the 24-bit ``u``/``v`` range kept above the largest threshold when
        ``scale`` is chosen automatically (default 6: up to 64 thresholds).
    weight_exp : "per_neuron" | "shared"
        One weight exponent per postsynaptic neuron (Lava: one Sparse process per
        distinct exponent) or one per matrix (module docstring).
    """
    if not isinstance(net, SpikingNetwork):
        raise ValueError(f"net must be a SpikingNetwork, got {type(net).__name__}")
    if isinstance(headroom_bits, bool) or not isinstance(headroom_bits, (int, np.integer)) \
            or not 0 <= headroom_bits <= 16:
        raise ValueError(f"headroom_bits must be an integer in [0, 16], got {headroom_bits!r}")
    if weight_exp not in ("per_neuron", "shared"):
        raise ValueError(f"weight_exp must be 'per_neuron' or 'shared', got {weight_exp!r}")
    per_row = weight_exp == "per_neuron"
    if scale is None:
        scale = default_scale(net, int(headroom_bits))
    else:
        scale = float(scale)
        if not (np.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be a positive number, got {scale}")

    unity = 2 ** DECAY_BITS
    du = np.clip(np.round(net.du * unity) - 1, 0, unity - 1).astype(np.int64)
    dv = np.clip(np.round(net.dv * unity), 0, unity - 1).astype(np.int64)

    vth_target = net.v_threshold * scale / 2.0 ** VTH_SHIFT
    vth = np.clip(np.round(vth_target), 1, 2**VTH_BITS - 1).astype(np.int64)
    vsub = None
    if net.reset_amount is not None:
        own = np.clip(np.round(net.reset_amount * scale), 1, 2**23 - 1).astype(np.int64)
        vsub = np.where(net.reset_amount == net.v_threshold, vth << VTH_SHIFT, own)

    half = 2 ** (BIAS_MANT_BITS - 1)
    b_target = net.bias * scale
    bias_exp = np.zeros(net.n_total_neurons, np.int64)
    for _ in range(BIAS_EXP_MAX):
        # Raise the exponent only where the mantissa does not fit yet: the smallest
        # fitting exponent keeps the most bits.
        m = np.round(b_target / 2.0 ** bias_exp)
        bias_exp = np.where((m > half - 1) | (m < -half), bias_exp + 1, bias_exp)
    mant_f = np.round(b_target / 2.0 ** bias_exp)
    biases_clipped = int(np.count_nonzero((mant_f > half - 1) | (mant_f < -half)))
    bias_mant = np.clip(mant_f, -half, half - 1).astype(np.int64)

    w_eff = sp.csr_matrix(net.effective_weights())
    w_eff.sort_indices()
    w_int, w_exp, w_mode, w_clip, w_flush = quantize_weights(w_eff, scale, per_row=per_row)
    win_eff = sp.csr_matrix(net.effective_input_weights())
    win_eff.sort_indices()
    win_int, win_exp, win_mode, win_clip, win_flush = quantize_weights(win_eff, scale,
                                                                       per_row=per_row)

    w_q = _dequantize(w_int, w_exp, scale)
    win_q = _dequantize(win_int, win_exp, scale)
    w_max, w_mean, w_rms = _rel_errors(w_eff, w_q)
    wi_max, wi_mean, wi_rms = _rel_errors(win_eff, win_q)
    active = net.neuron_active

    def worst(values: np.ndarray) -> float:
        return float(np.max(values[active])) if active.any() else 0.0

    eff_bias = (bias_mant << bias_exp) / scale
    error = QuantizationError(
        weight_max_rel=w_max, weight_mean_rel=w_mean, weight_rms_rel=w_rms,
        weights_clipped=w_clip, weights_flushed=w_flush, input_weight_max_rel=wi_max,
        input_weight_mean_rel=wi_mean, input_weight_rms_rel=wi_rms,
        input_weights_clipped=win_clip, input_weights_flushed=win_flush,
        threshold_max_rel=worst(np.abs(vth * 2.0**VTH_SHIFT / scale - net.v_threshold)
                                / net.v_threshold),
        bias_max_abs=worst(np.abs(eff_bias - net.bias)),
        biases_clipped=biases_clipped,
        du_max_abs=worst(np.abs((du + 1) / unity - net.du)),
        dv_max_abs=worst(np.abs(dv / unity - net.dv)),
    )
    return FixedPointNetwork(du=du, dv=dv, vth=vth, bias_mant=bias_mant, bias_exp=bias_exp,
                             weights=w_int, weight_exp=w_exp, sign_mode=w_mode,
                             input_weights=win_int, input_weight_exp=win_exp,
                             input_sign_mode=win_mode, scale=scale, error=error, vsub=vsub)
