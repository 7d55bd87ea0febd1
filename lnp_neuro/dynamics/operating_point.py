"""The spiking network's operating point and the linear rate dynamics around it.

LNP reads the stability of a spiking network off a rate model linearised "around
criticality" (Chakraborty et al., ICLR 2024, Sec. 3.1 Eq. 2 and Suppl. A.2, after Sadeh &
Rotter 2014: a linear theory based on firing rates approximates spiking networks). Suppl.
A.2 says the firing rates are "approximated by the spike frequency of the untrained SNN".
This module takes that literally: it runs the spiking network on a task-agnostic drive,
measures every neuron's rate and gain there, and builds the linear rate dynamics of that
operating point. It replaces, as LNP's default, the autonomous tanh surrogate of
:func:`lnp_neuro.dynamics.lyapunov.network_spectrum`, whose slope-1 neurons at rate 0 are not the
network that is deployed (docs/design.md, "Operating point").

Gain (linear response of one neuron at its own input, "frozen input")
--------------------------------------------------------------------
The native simulator's float mode (Lava's LIF, :mod:`lnp_neuro.engines.simulator`) gives each
neuron's synaptic current ``u_i(t)`` on the drive. The membrane is then re-run alone on
that same current with an extra constant input ``+-h`` thresholds per step::

    v_i(t) = v_i(t-1) (1 - dv_i) + u_i(t) + bias_i +- h v_th,i,   spike and reset as usual

and ``kappa_i = (n_i(+h) - n_i(-h)) / (2 h T)`` (spikes per step per threshold per step) is
the slope of the neuron's transfer function at its real input statistics, the quantity
mean-field theory calls ``phi'`` (e.g. Ostojic, Nat. Neurosci. 2014, Eq. 5). Common random
numbers: both runs see the same current, so the difference is not sampling noise.

Linear rate dynamics
--------------------
A presynaptic rate change ``dr_j`` (spikes per step) changes neuron i's current by
``w_ij dr_j / du_i`` at steady state, i.e. its drive by ``w_ij dr_j / (du_i v_th,i)``
thresholds per step. The effective (rate-to-rate, dimensionless) coupling is::

    M = diag(kappa / (du v_th)) W                       (active neurons, W[post, pre])

and the rate dynamics of design section 2, linearised at the operating point, are the
time-invariant map::

    dr_{t+1} = J dr_t,      J = diag(1 - a) + diag(a) M,      a = dt / tau_mem

whose Lyapunov exponents are ``log|mu_k(J)| / dt`` (for a constant Jacobian the QR method
of :mod:`lnp_neuro.dynamics.lyapunov` converges to the log-moduli of its eigenvalues), computed by
ARPACK. The continuous-time form ``A = diag(1/tau_mem) (M - I)`` is step I's linearised
network (Eq. 2). ``lambda_max < 0`` iff the asynchronous state is linearly stable; its
sign is set by ``M`` (the classical criterion: leading eigenvalue of the effective
connectivity below 1), the time constants set its magnitude.

The estimate is deterministic for a given drive; its spread over independent drives is
reported as the standard error (:func:`operating_lambda_max`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._util.parallel import csr_operator
from ..model.network import SpikingNetwork

__all__ = [
    "OperatingPoint",
    "poisson_drive",
    "operating_point",
    "effective_coupling",
    "LinearSpectrum",
    "linear_response_spectrum",
    "LambdaEstimate",
    "operating_lambda_max",
    "OperatingPointMemo",
    "DEFAULT_DRIVE_RATE",
]

#: Per-step spike probability of each input channel of the task-agnostic drive (50 Hz at
#: dt = 1 ms): the drive every LNP estimate uses, the same for every network compared.
DEFAULT_DRIVE_RATE = 0.05

_DENSE_MAX = 400  # below this many neurons a dense eigendecomposition is exact and fast
_DENSE_FALLBACK_MAX = 6000  # a dense fallback when ARPACK does not converge (~1 GB at most)
# ARPACK is asked for at least this many eigenvalues. With one, its implicit restarts
# can stall when the leading real eigenvalue sits just above a complex pair; asked for a
# few it separates them and converges (docs/algorithm.md, "ARPACK").
_ARPACK_MIN_K = 4
# Restarts before the dense fallback: ten times the most a converging call needs
# (docs/algorithm.md, "ARPACK"), so the cap binds only on a stall.
_ARPACK_MAX_RESTARTS = 300


@dataclass(eq=False)
class OperatingPoint:
    """Rates and gains of the active neurons of a network on one drive.

    Attributes
    ----------
    active : int array (n,), indices of the active neurons.
    rates : array (n,), spikes per step, averaged after the transient.
    gains : array (n,), ``kappa``: spikes per step per threshold per step of extra input.
    n_steps : steps averaged.
    """

    active: np.ndarray
    rates: np.ndarray
    gains: np.ndarray
    n_steps: int

    def __post_init__(self) -> None:
        self.active = np.asarray(self.active, dtype=np.int64)
        self.rates = np.asarray(self.rates, dtype=np.float64)
        self.gains = np.asarray(self.gains, dtype=np.float64)
        n = self.active.size
        if self.rates.shape != (n,) or self.gains.shape != (n,):
            raise ValueError(f"rates and gains must have shape ({n},), got "
                             f"{self.rates.shape} and {self.gains.shape}")
        if int(self.n_steps) < 1:
            raise ValueError(f"n_steps must be >= 1, got {self.n_steps}")

    @property
    def fraction_firing(self) -> float:
        return float(np.mean(self.rates > 0)) if self.rates.size else 0.0


def poisson_drive(net: SpikingNetwork, n_steps: int, seed, rate: float = DEFAULT_DRIVE_RATE
                  ) -> np.ndarray:
    """Independent Poisson spikes ``[n_steps, n_inputs]`` with per-step probability ``rate``."""
    if not 0 < float(rate) <= 1:
        raise ValueError(f"rate must be in (0, 1], got {rate}")
    if int(n_steps) < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    return np.random.default_rng(seed).random((int(n_steps), net.n_inputs)) < float(rate)


def operating_point(net: SpikingNetwork, input_spikes, *, n_transient: int = 200,
                    step: float = 0.02) -> OperatingPoint:
    """Rates and frozen-input gains of ``net`` on ``input_spikes`` (module docstring).

    ``step`` is ``h`` in thresholds per step; ``n_transient`` first steps are discarded.
    """
    from ..engines.simulator import simulate

    if not isinstance(net, SpikingNetwork):
        raise ValueError(f"net must be a SpikingNetwork, got {type(net).__name__}")
    x = np.asarray(input_spikes)
    if x.ndim != 2 or x.shape[0] <= n_transient:
        raise ValueError(f"input_spikes must be (T, n_inputs) with T > n_transient="
                         f"{n_transient}, got shape {x.shape}")
    if not (np.isfinite(step) and step > 0):
        raise ValueError(f"step must be a positive number, got {step}")
    active = np.flatnonzero(net.neuron_active)
    res = simulate(net, x, mode="float", record_state=True)
    u = res.u[n_transient:, active]
    spikes = res.spikes[n_transient:, active]
    keep = 1.0 - net.dv[active]
    vth = net.v_threshold[active]
    drive = net.bias[active]
    v0 = res.v[n_transient - 1, active] if n_transient > 0 else np.zeros(active.size)
    u_by_neuron = np.ascontiguousarray(u.T)
    counts = []
    for sign in (-1.0, 1.0):
        n = np.zeros(active.size)
        _frozen_input_counts(u_by_neuron, v0, keep, drive + sign * step * vth, vth, n)
        counts.append(n)
    t = u.shape[0]
    gains = (counts[1] - counts[0]) / (2.0 * step * t)
    return OperatingPoint(active=active, rates=spikes.mean(axis=0), gains=gains, n_steps=t)


@numba.njit(cache=True, nogil=True)
def _frozen_input_counts(u, v0, keep, extra, vth, counts):
    # The membrane of each neuron re-run alone on its recorded current (module docstring):
    # v = v * keep + u_t + extra, spike above vth and reset, the same float operations in
    # the same order as the vectorised form.
    n_steps = u.shape[1]
    for i in range(v0.shape[0]):
        v = v0[i]
        k = keep[i]
        e = extra[i]
        th = vth[i]
        c = 0.0
        for t in range(n_steps):
            v = v * k + u[i, t] + e
            if v > th:
                c += 1.0
                v = 0.0
        counts[i] = c


def effective_coupling(net: SpikingNetwork, op: OperatingPoint) -> sp.csr_matrix:
    """``M = diag(kappa / (du v_th)) W`` between the active neurons (module docstring)."""
    active = op.active
    if not np.array_equal(active, np.flatnonzero(net.neuron_active)):
        raise ValueError("the operating point was measured on other active neurons than net's")
    w = sp.csr_matrix(net.effective_weights()[active][:, active])
    w.sort_indices()
    scale = op.gains / (net.du[active] * net.v_threshold[active])
    return sp.csr_matrix(sp.diags(scale) @ w)


class LinearSpectrum:
    """Leading exponents of the linear rate map at an operating point.

    ``exponents`` (1/s, descending), ``vectors`` (n, k) eigenvector moduli squared
    (normalised columns), ``neuron_exponents`` per active neuron (design section 2's loading
    rule on these vectors), ``active`` their indices, ``coupling_abscissa`` the largest
    real part of an eigenvalue of ``M`` (1 is the instability threshold of the rate
    dynamics, whatever the time constants; ``lambda_max`` of a stable network is mostly
    the leak of its slowest neuron, this is the network's own distance from instability).

    Give ``coupling_abscissa`` or ``coupling`` (``M``): from ``coupling`` it is computed on
    first access. It is a second ARPACK run that LNP's pipeline never reads, so a
    measurement pays for it only when a report asks.
    """

    def __init__(self, exponents, vectors, neuron_exponents, active,
                 coupling_abscissa: float | None = None,
                 coupling: sp.csr_matrix | None = None) -> None:
        self.exponents = exponents
        self.vectors = vectors
        self.neuron_exponents = neuron_exponents
        self.active = active
        if coupling_abscissa is None and coupling is None:
            coupling_abscissa = float("nan")
        self._coupling_abscissa = coupling_abscissa
        self._coupling = coupling

    @property
    def coupling_abscissa(self) -> float:
        if self._coupling_abscissa is None:
            self._coupling_abscissa = _leading_real_part(self._coupling)
            self._coupling = None
        return self._coupling_abscissa

    @property
    def lambda_max(self) -> float:
        return float(self.exponents[0])


def linear_response_spectrum(net: SpikingNetwork, op: OperatingPoint, k: int = 8
                             ) -> LinearSpectrum:
    """The ``k`` leading exponents ``log|mu(J)| / dt`` of ``J = diag(1-a) + diag(a) M``."""
    from .lyapunov import per_neuron_exponents

    n = op.active.size
    if n == 0:
        raise ValueError("net has no active neuron")
    k = int(k)
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, {n}], got {k}")
    a = net.dv[op.active]
    coupling = effective_coupling(net, op)
    jac = sp.diags(1.0 - a) + sp.diags(a) @ coupling
    values = vecs = None
    n_wanted = max(k, _ARPACK_MIN_K)
    if n > _DENSE_MAX and n_wanted < n - 1:
        # Leaks of similar neurons cluster the leading moduli, hence the wide Krylov space.
        try:
            values, vecs = _arpack_eigs(jac, n_wanted, "LM", ncv=max(4 * n_wanted, 64))
        except spla.ArpackNoConvergence:
            if n > _DENSE_FALLBACK_MAX:
                raise
    if values is None:
        values, vecs = np.linalg.eig(jac.toarray())
    modulus = np.abs(values)
    order = np.lexsort((np.arange(modulus.size), -modulus))[:k]
    with np.errstate(divide="ignore"):
        exponents = np.log(modulus[order]) / net.dt
    weight = np.abs(vecs[:, order]) ** 2
    weight /= np.maximum(weight.sum(axis=0, keepdims=True), 1e-300)
    loading = np.sqrt(weight)
    neuron = per_neuron_exponents(exponents, loading)
    return LinearSpectrum(exponents=exponents, vectors=weight, neuron_exponents=neuron,
                          active=op.active.copy(), coupling=coupling)


def _arpack_eigs(matrix, k: int, which: str, ncv: int, return_eigenvectors: bool = True):
    """``scipy.sparse.linalg.eigs`` with the settings every spectrum here shares.

    v0 and rng fixed: ARPACK's default start vector is random, and so is the vector it asks
    for when its Krylov space closes early (scipy draws both from the OS). Sorted CSR: each
    row summed in ascending column order, the products of the former ``tocsc()`` bit for
    bit, without CSC's scatter, rows split over the cores. At most
    ``_ARPACK_MAX_RESTARTS`` restarts, then ``ArpackNoConvergence``.
    """
    csr = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
    csr.sort_indices()
    n = csr.shape[0]
    return spla.eigs(csr_operator(csr), k=k, which=which, v0=np.ones(n), tol=1e-9,
                     rng=np.random.default_rng(0), ncv=min(n - 1, ncv),
                     maxiter=_ARPACK_MAX_RESTARTS, return_eigenvectors=return_eigenvectors)


def _leading_real_part(matrix: sp.csr_matrix) -> float:
    n = matrix.shape[0]
    if matrix.nnz == 0:
        return 0.0
    if n > _DENSE_MAX:
        try:
            vals = _arpack_eigs(matrix, 1, "LR", ncv=64, return_eigenvectors=False)
            return float(vals.real.max())
        except spla.ArpackNoConvergence:
            if n > _DENSE_FALLBACK_MAX:
                return float("nan")
    return float(np.linalg.eigvals(matrix.toarray()).real.max())


@dataclass(eq=False)
class LambdaEstimate:
    """``lambda_max`` of the operating-point linearisation over independent drives.

    ``values`` one per drive (1/s), ``mean``, ``stderr`` (standard error of the mean; 0
    with one drive), ``fraction_firing`` and ``rate_hz`` averaged over the drives;
    ``spectra`` and ``operating_points`` one per drive.
    """

    values: np.ndarray
    mean: float
    stderr: float
    fraction_firing: float
    rate_hz: float
    spectra: list
    operating_points: list

    @property
    def coupling_abscissa(self) -> float:
        """Mean over drives of the largest real part of an eigenvalue of ``M``."""
        return float(np.mean([s.coupling_abscissa for s in self.spectra]))

    def as_dict(self) -> dict:
        return {"mean": self.mean, "stderr": self.stderr,
                "values": [float(v) for v in self.values],
                "coupling_abscissa": self.coupling_abscissa,
                "fraction_firing": self.fraction_firing, "rate_hz": self.rate_hz}


class OperatingPointMemo:
    """The operating points and spectra of the last few networks measured, by content.

    An operating point is a deterministic function of the network's parameters and the
    drive, and its ``k`` leading exponents are a deterministic function of the operating
    point (seeded ARPACK), so a network measured again on the same drive (LNP's step IV
    evaluates the network it then hands to the closing measurement) reuses both, bit for
    bit. Networks are recognised by a hash of every array the simulation reads, never by
    identity.
    """

    def __init__(self, size: int = 16) -> None:
        self.size = int(size)
        self._points: dict[tuple, OperatingPoint] = {}
        self._spectra: dict[tuple, LinearSpectrum] = {}

    @staticmethod
    def fingerprint(net: SpikingNetwork) -> str:
        import hashlib
        h = hashlib.blake2b(digest_size=20)
        for mat in (net.weights, net.input_weights):
            h.update(repr((mat.shape, mat.format, mat.dtype.str)).encode())
            for arr in (mat.indptr, mat.indices, mat.data):
                h.update(np.ascontiguousarray(arr).tobytes())
        for arr in (net.synapse_active, net.neuron_active, net.tau_mem, net.tau_syn,
                    net.v_threshold, net.bias):
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update(repr(float(net.dt)).encode())
        return h.hexdigest()

    def get(self, key: tuple) -> OperatingPoint | None:
        return self._points.get(key)

    def put(self, key: tuple, point: OperatingPoint) -> None:
        self._store(self._points, key, point)

    def get_spectrum(self, key: tuple, k: int) -> LinearSpectrum | None:
        return self._spectra.get((*key, int(k)))

    def put_spectrum(self, key: tuple, k: int, spectrum: LinearSpectrum) -> None:
        self._store(self._spectra, (*key, int(k)), spectrum)

    def _store(self, table: dict, key: tuple, value) -> None:
        # The oldest entries go first once ``size`` is exceeded.
        table[key] = value
        while len(table) > self.size:
            table.pop(next(iter(table)))


def operating_lambda_max(net: SpikingNetwork, *, n_drives: int = 4, n_steps: int = 1000,
                         seed: int = 0, rate: float = DEFAULT_DRIVE_RATE, k: int = 4,
                         n_transient: int = 200,
                         memo: OperatingPointMemo | None = None) -> LambdaEstimate:
    """``lambda_max`` at the operating point on ``n_drives`` Poisson drives.

    Drive ``i`` is :func:`poisson_drive` with seed ``(seed, i)``, so two networks estimated
    with the same ``seed`` see the same drives (common random numbers), and the difference
    of their estimates is not drive noise. ``memo`` reuses the operating points of a
    network measured before on the same drives (:class:`OperatingPointMemo`).
    """
    if int(n_drives) < 1:
        raise ValueError(f"n_drives must be >= 1, got {n_drives}")
    from .._util.parallel import map_blocks

    fingerprint = None if memo is None else OperatingPointMemo.fingerprint(net)

    def measure(i: int) -> tuple[OperatingPoint, LinearSpectrum]:
        key = (fingerprint, int(seed), i, float(rate), int(n_steps), int(n_transient))
        op = None if memo is None else memo.get(key)
        if op is None:
            x = poisson_drive(net, n_transient + int(n_steps), [int(seed), i], rate)
            op = operating_point(net, x, n_transient=n_transient)
            if memo is not None:
                memo.put(key, op)
        k_used = min(int(k), op.active.size)
        spec = None if memo is None else memo.get_spectrum(key, k_used)
        if spec is None:
            spec = linear_response_spectrum(net, op, k_used)
            if memo is not None:
                memo.put_spectrum(key, k_used, spec)
        return op, spec

    # The drives are independent measurements, each with its own seed: they share the
    # cores (the simulator's kernels and scipy's sparse products release the GIL), and
    # the thread count changes nothing in them.
    results = map_blocks(measure, int(n_drives))
    points = [op for op, _ in results]
    values, fractions, rates, spectra = [], [], [], []
    for op, spec in results:
        spectra.append(spec)
        values.append(spec.lambda_max)
        fractions.append(op.fraction_firing)
        rates.append(float(op.rates.mean()) / net.dt)
    values = np.asarray(values)
    stderr = float(values.std(ddof=1) / np.sqrt(values.size)) if values.size > 1 else 0.0
    return LambdaEstimate(values=values, mean=float(values.mean()), stderr=stderr,
                          fraction_firing=float(np.mean(fractions)),
                          rate_hz=float(np.mean(rates)), spectra=spectra,
                          operating_points=list(points))
