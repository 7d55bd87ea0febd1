"""The framework-neutral recurrent spiking network (design section 1).

A :class:`SpikingNetwork` is data only: per-neuron current-based LIF parameters, sparse
recurrent and input weights, identities (excitatory/inhibitory, cluster) and the
active/pruned masks that pruning sets. Back ends (the native simulator, Lava, norse) and
exporters (NIR) read it; nothing here runs a simulation.

Discrete-time semantics (shared by every back end, identical to Lava's ``LIF`` process
with ``Sparse`` synapses, in ``floating_pt``)::

    a_in[t] = W_in x[t-1] + W s[t-1]                  (every Sparse synapse: one-step delay)
    u[t]    = u[t-1] * (1 - du) + a_in[t]             du = dt / tau_syn
    v[t]    = v[t-1] * (1 - dv) + u[t] + bias         dv = dt / tau_mem
    s[t]    = v[t] > v_threshold ;  v[t] <- 0 where s[t]
                                              (v[t] <- v[t] - v_threshold where s[t] for
                                               a neuron with reset_subtract; s[t] = 0
                                               always for a non-spiking neuron)

so a weight is the jump of the synaptic current ``u`` (in units of the membrane
potential) caused by one presynaptic spike. The input spikes of step ``t`` reach the
neurons at step ``t + 1``, like the recurrent ones: in Lava both paths are ``Sparse``
processes, which deliver what they receive one step later.

This is the forward-Euler discretisation of NIR's ``CubaLIF`` (``tau_syn dI/dt = -I + w_in S``, ``tau_mem dv/dt = (v_leak - v) + r I``) as the NIR
steppers (snnTorch, norse) apply it, with ``r = tau_mem / dt``, ``w_in = tau_syn / dt``,
``v_leak = bias * tau_mem / dt`` and ``v_reset = 0``; :mod:`lnp_neuro.nir.reservoir_files` writes
exactly that mapping.

Weights follow NIR's convention ``W[post, pre]``. Stored entries of ``weights`` are the
synapses (a stored zero is still a synapse); ``synapse_active`` is aligned with the
entries of the canonical CSR form (sorted indices, no duplicates).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._util.bounded_json import loads_bounded

__all__ = ["SpikingNetwork", "canonical_csr", "synapse_mask", "RATE_UNIT_HZ"]

_FORMAT_VERSION = 1

#: The firing rate that counts as rate 1 in the rate surrogate (design section 2). The
#: surrogate's tanh rates live in [-1, 1]; a spiking neuron's rate is a few tens of Hz,
#: so measuring rates in units of 50 Hz puts the surrogate's transition to chaos (gain 1,
#: Sompolinsky et al. 1988) where the spiking network turns from input-driven to
#: recurrently amplified (measured on HRSNN, N = 1000: see tests/model/test_network.py).
RATE_UNIT_HZ = 50.0


def canonical_csr(matrix: Any, name: str, shape: tuple[int, int] | None = None) -> sp.csr_matrix:
    """Return ``matrix`` as float64 CSR with sorted indices and summed duplicates.

    Raises ``ValueError`` naming ``name`` when the shape is wrong or a value is not finite.
    """
    if sp.issparse(matrix):
        csr = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
    else:
        arr = np.asarray(matrix, dtype=np.float64)
        if arr.ndim != 2:
            raise ValueError(f"{name} must be a 2-D matrix, got {arr.ndim} dimension(s)")
        csr = sp.csr_matrix(arr)
    csr.sum_duplicates()
    csr.sort_indices()
    if shape is not None and csr.shape != tuple(shape):
        raise ValueError(f"{name} has shape {csr.shape}, expected {tuple(shape)}")
    if csr.nnz and not np.all(np.isfinite(csr.data)):
        bad = int(np.count_nonzero(~np.isfinite(csr.data)))
        raise ValueError(f"{name} has {bad} non-finite (NaN or inf) weight(s)")
    csr.indices = csr.indices.astype(np.int32, copy=False)
    csr.indptr = csr.indptr.astype(np.int64 if csr.nnz > 2**31 - 1 else np.int32, copy=False)
    return csr


def synapse_mask(value: Any, nnz: int, where: str = "") -> np.ndarray:
    """A copy of ``value`` as one bool per stored synapse (all True when None); the
    ValueError names ``where`` (a projection) when the length is wrong."""
    if value is None:
        return np.ones(nnz, bool)
    mask = np.asarray(value, dtype=bool)
    if mask.shape != (nnz,):
        raise ValueError(f"{where + ': ' if where else ''}synapse_active must have one entry "
                         f"per stored synapse ({nnz}), got shape {mask.shape}")
    return mask.copy()


def _scale_rows(mat: sp.csr_matrix, factors: np.ndarray) -> sp.csr_matrix:
    """``diag(factors) @ mat`` keeping the canonical entry order of ``mat``."""
    out = mat.copy()
    out.data = out.data * np.repeat(factors, np.diff(out.indptr))
    return out


def _per_neuron(value: Any, n: int, name: str, dtype=np.float64,
                allow_inf: bool = False) -> np.ndarray:
    arr = np.asarray(value, dtype=dtype)
    if arr.ndim == 0:
        arr = np.full(n, arr, dtype=dtype)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) (one value per neuron), got {arr.shape}")
    if np.issubdtype(arr.dtype, np.floating):
        bad = np.isnan(arr) | (np.isinf(arr) & ~(allow_inf & (arr > 0)))
        if np.any(bad):
            raise ValueError(f"{name} has non-finite (NaN or inf) values")
    return arr.copy()


def _deprecated_count(old: str, new: str) -> property:
    """A read-only alias ``old`` of the count ``new`` that warns (DeprecationWarning)."""

    def get(self) -> int:
        warnings.warn(f"SpikingNetwork.{old} is deprecated (ambiguous between active and all "
                      f"neurons or synapses); use SpikingNetwork.{new}", DeprecationWarning,
                      stacklevel=2)
        return getattr(self, new)

    get.__doc__ = f"Deprecated alias of :attr:`{new}`; warns."
    return property(get)


class _TooLarge(ValueError):
    pass


def _check_unpacked_size(path: Path, npz) -> None:
    """Refuse an .npz whose members would unpack to more memory than is available.

    The sizes come from the zip directory, before anything is decompressed (a few
    compressed bytes can stand for gigabytes of zeros).
    """
    from .._util.limits import available_memory, format_bytes

    total = sum(info.file_size for info in npz.zip.infolist())
    available = available_memory()
    if available is not None and total > available:
        raise _TooLarge(f"{path}: its arrays unpack to {format_bytes(total)}, more than the "
                         f"{format_bytes(available)} of memory available")


def _checked_csr_parts(path: Path, key: str, data: dict):
    """``(data, indices, indptr, shape)`` of a stored CSR matrix, checked before use.

    The shape must be two non-negative integers matching ``indptr``; ``indptr`` must run
    from 0 to ``len(indices)`` without decreasing, ``indices`` must lie in
    ``[0, n_columns)``, and ``data`` must have one value per index. A file that claims
    10^8 neurons but stores a handful of numbers fails here, not in an allocation.
    """
    values, indices, indptr, shape = (np.asarray(data[f"{key}_{part}"])
                                      for part in ("data", "indices", "indptr", "shape"))
    shape_name = f"{key}_shape"
    if shape.shape != (2,) or shape.dtype.kind not in "iu" or np.any(shape < 0):
        raise ValueError(f"{path}: {shape_name} must be two non-negative integers, got {shape!r}")
    n_rows, n_cols = (int(v) for v in shape)
    if indptr.ndim != 1 or indptr.dtype.kind not in "iu" or len(indptr) != n_rows + 1:
        raise ValueError(f"{path}: {key}_indptr must hold {shape_name}[0] + 1 = {n_rows + 1} "
                         f"integers, has shape {indptr.shape} (dtype {indptr.dtype})")
    if indices.ndim != 1 or indices.dtype.kind not in "iu" or values.shape != indices.shape:
        raise ValueError(f"{path}: {key}_indices and {key}_data must be 1-D of equal length "
                         f"(integers and numbers), got {indices.shape} {indices.dtype} and "
                         f"{values.shape} {values.dtype}")
    if values.dtype.kind not in "biuf":
        raise ValueError(f"{path}: {key}_data must be numbers, got dtype {values.dtype}")
    if indptr[0] != 0 or indptr[-1] != len(indices) or np.any(np.diff(indptr) < 0):
        raise ValueError(f"{path}: {key}_indptr must rise from 0 to {len(indices)} "
                         f"(the number of stored entries) without decreasing")
    if len(indices) and (indices.min() < 0 or indices.max() >= n_cols):
        raise ValueError(f"{path}: {key}_indices has column indices outside [0, {n_cols}) "
                         f"(found {int(indices.min())}..{int(indices.max())})")
    return values, indices, indptr, (n_rows, n_cols)


@dataclass(eq=False)
class SpikingNetwork:
    """A recurrent layer of current-based LIF neurons with sparse synapses.

    Parameters
    ----------
    weights : sparse (N, N)
        Recurrent weights ``W[post, pre]``; stored entries are the synapses.
    input_weights : sparse (N, n_in)
        Input projection ``W_in[post, input]``.
    tau_mem, tau_syn : array (N,)
        Membrane and synaptic time constants in seconds, each ``>= dt``.
    v_threshold : array (N,)
        Firing threshold (> 0).
    bias : array (N,)
        Constant input added to ``v`` every step.
    dt : float
        Time step in seconds.
    excitatory : bool array (N,), optional
        Dale identity of each neuron (True: excitatory). Defaults to all True.
    cluster : int array (N,), optional
        Cluster label per neuron (CHRSNN), or None.
    neuron_active, synapse_active : bool arrays, optional
        Pruning masks; default all active. ``synapse_active`` is aligned with the stored
        entries of the canonical CSR ``weights``.
    reset_subtract : bool array (N,), optional
        True where a spike subtracts ``v_threshold`` from ``v`` (snnTorch's default reset)
        instead of setting ``v`` to 0. Default all False.
    reset_amount : float array (N,), optional
        What a spike subtracts from ``v`` where ``reset_subtract``; default (None) the
        threshold. snnTorch's delayed subtraction is ``v_threshold / beta`` here
        (:meth:`lnp_neuro.model.population.Population.reset_amount`).
    spiking : bool array (N,), optional
        False for a non-spiking neuron (NIR's ``LI`` and ``Integrator``, a readout): it
        integrates like the others but never spikes or resets. Default all True.
    bias_onset : int array (N,), optional
        Step from which each neuron's bias acts (0 before it). Default all 0 (the bias
        acts from the first step). A graph imported from a framework that delivers
        feed-forward edges in the same step sets it to each population's shift, so that
        the bias starts when the source framework's first step reaches the population
        (:func:`lnp_neuro.model.flat.flatten`).
    metadata : dict
        JSON-serialisable facts (model name, seed, pruning history summary, ...).
    """

    weights: sp.csr_matrix
    input_weights: sp.csr_matrix
    tau_mem: np.ndarray
    tau_syn: np.ndarray
    v_threshold: np.ndarray
    bias: np.ndarray
    dt: float = 1e-3
    excitatory: np.ndarray | None = None
    cluster: np.ndarray | None = None
    neuron_active: np.ndarray | None = None
    synapse_active: np.ndarray | None = None
    metadata: dict = field(default_factory=dict)
    reset_subtract: np.ndarray | None = None
    spiking: np.ndarray | None = None
    bias_onset: np.ndarray | None = None
    reset_amount: np.ndarray | None = None

    def __post_init__(self) -> None:
        try:
            self.dt = float(self.dt)
        except (TypeError, ValueError):
            raise ValueError(f"dt must be a number of seconds, got {self.dt!r}") from None
        if not np.isfinite(self.dt) or self.dt <= 0:
            raise ValueError(f"dt must be a positive number of seconds, got {self.dt}")
        self.weights = canonical_csr(self.weights, "weights")
        n_rows, n_cols = self.weights.shape
        if n_rows != n_cols:
            raise ValueError(f"weights must be square (N, N), got shape {self.weights.shape}")
        n = n_rows
        if n < 1:
            raise ValueError("weights must describe at least one neuron")
        if not sp.issparse(self.input_weights):
            arr = np.asarray(self.input_weights, dtype=np.float64)
            if arr.ndim != 2 or arr.shape[0] != n:
                raise ValueError(
                    f"input_weights must have shape ({n}, n_inputs), got {arr.shape}")
        elif self.input_weights.shape[0] != n:
            raise ValueError(
                f"input_weights must have shape ({n}, n_inputs), got {self.input_weights.shape}")
        self.input_weights = canonical_csr(self.input_weights, "input_weights")

        for name in ("tau_mem", "tau_syn"):
            # tau_mem = inf is a neuron without leak (NIR's IF and Integrator, dv = 0).
            arr = _per_neuron(getattr(self, name), n, name,
                              allow_inf=name == "tau_mem")
            if np.any(arr <= 0):
                i = int(np.flatnonzero(arr <= 0)[0])
                raise ValueError(f"{name} must be positive; neuron {i} has {name}={arr[i]}")
            if np.any(arr < self.dt * (1 - 1e-12)):
                i = int(np.flatnonzero(arr < self.dt)[0])
                raise ValueError(
                    f"{name} must be >= dt={self.dt} (decay factor dt/tau <= 1); "
                    f"neuron {i} has {name}={arr[i]}")
            setattr(self, name, arr)
        self.v_threshold = _per_neuron(self.v_threshold, n, "v_threshold")
        if np.any(self.v_threshold <= 0):
            i = int(np.flatnonzero(self.v_threshold <= 0)[0])
            raise ValueError(f"v_threshold must be positive; neuron {i} has {self.v_threshold[i]}")
        self.bias = _per_neuron(self.bias, n, "bias")

        self.excitatory = (np.ones(n, bool) if self.excitatory is None
                           else _per_neuron(self.excitatory, n, "excitatory", bool))
        if self.cluster is not None:
            self.cluster = _per_neuron(self.cluster, n, "cluster", np.int64)
            if np.any(self.cluster < 0):
                raise ValueError("cluster labels must be non-negative integers")
        self.neuron_active = (np.ones(n, bool) if self.neuron_active is None
                              else _per_neuron(self.neuron_active, n, "neuron_active", bool))
        self.reset_subtract = (np.zeros(n, bool) if self.reset_subtract is None
                               else _per_neuron(self.reset_subtract, n, "reset_subtract", bool))
        if self.reset_amount is not None:
            self.reset_amount = _per_neuron(self.reset_amount, n, "reset_amount")
            if np.any(self.reset_amount <= 0):
                i = int(np.flatnonzero(self.reset_amount <= 0)[0])
                raise ValueError(f"reset_amount must be positive; neuron {i} has "
                                 f"{self.reset_amount[i]}")
        self.spiking = (np.ones(n, bool) if self.spiking is None
                        else _per_neuron(self.spiking, n, "spiking", bool))
        self.bias_onset = (np.zeros(n, np.int64) if self.bias_onset is None
                           else _per_neuron(self.bias_onset, n, "bias_onset", np.int64))
        if np.any(self.bias_onset < 0):
            raise ValueError("bias_onset must hold non-negative steps")
        self.synapse_active = synapse_mask(self.synapse_active, self.weights.nnz)
        if not isinstance(self.metadata, dict):
            raise ValueError(f"metadata must be a dict, got {type(self.metadata).__name__}")
        try:
            json.dumps(self.metadata)
        except TypeError as exc:
            raise ValueError(f"metadata must be JSON-serialisable: {exc}") from None

    # ----------------------------------------------------------------- counts
    @property
    def n_total_neurons(self) -> int:
        """Number of neurons, pruned ones included (the rows of ``weights``)."""
        return self.weights.shape[0]

    @property
    def n_active_neurons(self) -> int:
        """Number of active (unpruned) neurons."""
        return int(np.count_nonzero(self.neuron_active))

    @property
    def n_active_synapses(self) -> int:
        """Number of active synapses whose pre- and postsynaptic neurons are both active."""
        return int(np.count_nonzero(self.synapse_and_mask()))

    @property
    def n_inputs(self) -> int:
        return self.input_weights.shape[1]

    @property
    def subtract_amount(self) -> np.ndarray:
        """What a spike subtracts from ``v`` where ``reset_subtract`` (per neuron)."""
        return self.v_threshold if self.reset_amount is None else self.reset_amount

    @property
    def is_plain_lif(self) -> bool:
        """True when every neuron spikes and resets to zero (the reservoir's neurons):
        the form every engine has always run, with no per-neuron reset or output flags."""
        return bool(self.spiking.all() and not self.reset_subtract.any())

    @property
    def has_bias_onset(self) -> bool:
        """Whether some neuron's bias starts after the first step (``bias_onset``)."""
        return bool(self.bias_onset.any())

    @property
    def density(self) -> float:
        """Active synapses per possible synapse between active neurons:
        ``n_active_synapses / n_active_neurons**2`` (0 without active neurons)."""
        n = self.n_active_neurons
        return self.n_active_synapses / (n * n) if n else 0.0

    size = _deprecated_count("size", "n_total_neurons")
    n_neurons = _deprecated_count("n_neurons", "n_active_neurons")
    n_synapses = _deprecated_count("n_synapses", "n_active_synapses")

    # ------------------------------------------------------------- derived views
    def synapse_pre_post(self) -> tuple[np.ndarray, np.ndarray]:
        """(pre, post) index of every stored synapse, aligned with ``synapse_active``."""
        w = self.weights
        post = np.repeat(np.arange(w.shape[0], dtype=np.int64), np.diff(w.indptr))
        return w.indices.astype(np.int64), post

    def synapse_and_mask(self) -> np.ndarray:
        """Per stored synapse: presynaptic neuron AND synapse AND postsynaptic neuron active."""
        pre, post = self.synapse_pre_post()
        return self.synapse_active & self.neuron_active[pre] & self.neuron_active[post]

    def effective_weights(self) -> sp.csr_matrix:
        """Recurrent weights with pruned synapses and synapses of pruned neurons removed."""
        keep = self.synapse_and_mask()
        w = self.weights
        if keep.all():
            return w.copy()
        pre, post = self.synapse_pre_post()
        out = sp.csr_matrix((w.data[keep], (post[keep], pre[keep])), shape=w.shape)
        out.sort_indices()
        return out

    def effective_input_weights(self) -> sp.csr_matrix:
        """Input weights onto active neurons only."""
        if self.neuron_active.all():
            return self.input_weights.copy()
        return _scale_rows(self.input_weights, self.neuron_active.astype(np.float64))

    @property
    def rate_gain(self) -> np.ndarray:
        """Steady-state gain ``g_i = (tau_syn_i/dt) (tau_mem_i/dt) (RATE_UNIT_HZ dt) / v_threshold_i``.

        A constant presynaptic rate ``rho`` (spikes per step) through weight ``w`` holds
        ``u = w rho tau_syn / dt`` and ``v = u tau_mem / dt`` (the fixed points of the
        dynamics in the module docstring). With rates measured in units of
        :data:`RATE_UNIT_HZ`, ``g * w`` is the coupling of the rate surrogate (design section
        2): drive, in thresholds, per unit presynaptic rate.
        """
        return ((self.tau_syn / self.dt) * (self.tau_mem / self.dt)
                * (RATE_UNIT_HZ * self.dt) / self.v_threshold)

    def rate_coupling(self) -> sp.csr_matrix:
        """Recurrent coupling of the rate surrogate, ``diag(rate_gain) @ effective_weights``."""
        return _scale_rows(self.effective_weights(), self.rate_gain)

    def rate_input_coupling(self) -> sp.csr_matrix:
        """Input coupling of the rate surrogate, ``diag(rate_gain) @ effective_input_weights``."""
        return _scale_rows(self.effective_input_weights(), self.rate_gain)

    @property
    def du(self) -> np.ndarray:
        """Per-step decay of the synaptic current (Lava's ``du``)."""
        return self.dt / self.tau_syn

    @property
    def dv(self) -> np.ndarray:
        """Per-step decay of the membrane potential (Lava's ``dv``)."""
        return self.dt / self.tau_mem

    # ---------------------------------------------------------------- editing
    def copy(self, **changes: Any) -> "SpikingNetwork":
        """A deep copy, with ``changes`` applied to fields (validated again)."""
        base = dict(
            weights=self.weights.copy(), input_weights=self.input_weights.copy(),
            tau_mem=self.tau_mem.copy(), tau_syn=self.tau_syn.copy(),
            v_threshold=self.v_threshold.copy(), bias=self.bias.copy(),
            excitatory=self.excitatory.copy(),
            cluster=None if self.cluster is None else self.cluster.copy(),
            neuron_active=self.neuron_active.copy(), synapse_active=self.synapse_active.copy(),
            metadata=json.loads(json.dumps(self.metadata)),
            reset_subtract=self.reset_subtract.copy(), spiking=self.spiking.copy(),
            bias_onset=self.bias_onset.copy(),
            reset_amount=None if self.reset_amount is None else self.reset_amount.copy(),
        )
        if "weights" in changes and "synapse_active" not in changes:
            base["synapse_active"] = None
        base.update(changes)
        return replace(self, **base)

    def compact(self) -> tuple["SpikingNetwork", np.ndarray]:
        """Drop pruned neurons and synapses; returns (network, kept original indices)."""
        keep = np.flatnonzero(self.neuron_active)
        w = self.effective_weights()[keep][:, keep]
        net = SpikingNetwork(
            weights=w, input_weights=self.input_weights[keep],
            tau_mem=self.tau_mem[keep], tau_syn=self.tau_syn[keep],
            v_threshold=self.v_threshold[keep], bias=self.bias[keep], dt=self.dt,
            excitatory=self.excitatory[keep],
            cluster=None if self.cluster is None else self.cluster[keep],
            metadata=json.loads(json.dumps(self.metadata)),
            reset_subtract=self.reset_subtract[keep], spiking=self.spiking[keep],
            bias_onset=self.bias_onset[keep],
            reset_amount=None if self.reset_amount is None else self.reset_amount[keep],
        )
        return net, keep

    # ---------------------------------------------------------------- file I/O
    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the network to ``path`` (.npz, no pickles), atomically."""
        path = Path(path)
        if path.suffix != ".npz":
            raise ValueError(f"{path}: a network file must end in .npz")
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
        arrays = {
            "format_version": np.array(_FORMAT_VERSION),
            "dt": np.array(self.dt),
            "tau_mem": self.tau_mem, "tau_syn": self.tau_syn,
            "v_threshold": self.v_threshold, "bias": self.bias,
            "excitatory": self.excitatory,
            "has_cluster": np.array(self.cluster is not None),
            "cluster": self.cluster if self.cluster is not None else np.zeros(0, np.int64),
            "neuron_active": self.neuron_active, "synapse_active": self.synapse_active,
            "metadata_json": np.array(json.dumps(self.metadata, sort_keys=True)),
        }
        if not self.is_plain_lif:  # only then: files of plain networks are unchanged
            arrays["reset_subtract"] = self.reset_subtract
            arrays["spiking"] = self.spiking
        if self.reset_amount is not None:
            arrays["reset_amount"] = self.reset_amount
        if self.has_bias_onset:  # likewise: only a network with an onset stores it
            arrays["bias_onset"] = self.bias_onset
        for key, mat in (("w", self.weights), ("win", self.input_weights)):
            arrays[f"{key}_data"] = mat.data
            arrays[f"{key}_indices"] = mat.indices
            arrays[f"{key}_indptr"] = mat.indptr
            arrays[f"{key}_shape"] = np.array(mat.shape, dtype=np.int64)
        from .._util.io import atomic_write
        with atomic_write(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "SpikingNetwork":
        """Read a network written by :meth:`save`; never unpickles."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such network file")
        try:
            with np.load(path, allow_pickle=False) as z:
                _check_unpacked_size(path, z)
                data = {k: z[k] for k in z.files}
        except _TooLarge:
            raise
        except Exception as exc:  # zipfile.BadZipFile, ValueError (pickled arrays), OSError
            raise ValueError(f"{path}: not a readable lnp_neuro network file ({exc})") from None
        required = {"format_version", "dt", "tau_mem", "tau_syn", "v_threshold", "bias",
                    "w_data", "w_indices", "w_indptr", "w_shape",
                    "win_data", "win_indices", "win_indptr", "win_shape"}
        missing = sorted(required - set(data))
        if missing:
            raise ValueError(f"{path}: not an lnp_neuro network file (missing {', '.join(missing)})")
        version = int(data["format_version"])
        if version > _FORMAT_VERSION:
            raise ValueError(f"{path}: format version {version} is newer than this lnp_neuro "
                             f"reads ({_FORMAT_VERSION})")

        def mat(key: str) -> sp.csr_matrix:
            parts = _checked_csr_parts(path, key, data)
            return sp.csr_matrix(parts[:3], shape=parts[3])

        n_rows = _checked_csr_parts(path, "w", data)[3][0]
        for key in ("tau_mem", "tau_syn", "v_threshold", "bias"):
            if np.ndim(data[key]) != 1 or len(data[key]) != n_rows:
                raise ValueError(f"{path}: {key} has shape {np.shape(data[key])}, but w_shape "
                                 f"declares {n_rows} neurons")

        try:
            return cls(
                weights=mat("w"), input_weights=mat("win"),
                tau_mem=data["tau_mem"], tau_syn=data["tau_syn"],
                v_threshold=data["v_threshold"], bias=data["bias"], dt=float(data["dt"]),
                excitatory=data.get("excitatory"),
                cluster=data["cluster"] if bool(data.get("has_cluster", False)) else None,
                neuron_active=data.get("neuron_active"),
                synapse_active=data.get("synapse_active"),
                metadata=(loads_bounded(str(data["metadata_json"]), "metadata_json")
                          if "metadata_json" in data else {}),
                reset_subtract=data.get("reset_subtract"), spiking=data.get("spiking"),
                bias_onset=data.get("bias_onset"),
                reset_amount=data.get("reset_amount"),
            )
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    def summary(self) -> str:
        """A short human-readable description."""
        kind = self.metadata.get("model", "network")
        lines = [
            f"{kind}: {self.n_active_neurons}/{self.n_total_neurons} neurons active, "
            f"{self.n_active_synapses} active synapses (density {self.density:.4f}), "
            f"{self.n_inputs} inputs",
            f"  excitatory {int(self.excitatory[self.neuron_active].sum())}, "
            f"inhibitory {int((~self.excitatory[self.neuron_active]).sum())}",
            f"  tau_mem {1e3 * self.tau_mem.min():.2f}..{1e3 * self.tau_mem.max():.2f} ms "
            f"(mean {1e3 * self.tau_mem.mean():.2f}), tau_syn mean {1e3 * self.tau_syn.mean():.2f} ms, "
            f"dt {1e3 * self.dt:g} ms",
        ]
        if self.cluster is not None:
            lines.append(f"  clusters: {len(np.unique(self.cluster))}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"SpikingNetwork(n_active_neurons={self.n_active_neurons}/"
                f"{self.n_total_neurons}, n_active_synapses={self.n_active_synapses}, "
                f"n_inputs={self.n_inputs}, dt={self.dt})")
