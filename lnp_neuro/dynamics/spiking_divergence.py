"""Twin-simulation divergence of a spiking network (LNP paper, Chakraborty et al. ICLR
2024, appendix A.1, steps 1-6; design section 2).

Two simulations of the spiking network, the second with a small membrane-potential
perturbation, and the slope of the log-distance of their membrane potentials over the
initial growth window: the direct estimate of the largest Lyapunov exponent that the
rate-surrogate spectra of :mod:`lnp_neuro.dynamics.lyapunov` are compared with.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._util.validation import check_int, check_positive
from ..engines.simulator import simulate
from ..model.network import SpikingNetwork

__all__ = ["SpikingDivergence", "spiking_divergence", "spiking_lambda_max"]


@dataclass(eq=False)
class SpikingDivergence:
    """Divergence of twin spiking simulations (:func:`spiking_divergence`).

    Attributes
    ----------
    lambda_max : least-squares slope of ``log_divergence`` over the fit window, per second.
    log_divergence : array (n_steps + 1,), mean over trials of ``log d_t``, where ``d_t`` is
        the Euclidean distance of the membrane-potential vectors (active neurons) of the
        perturbed and the reference run after step t; ``d_0 = perturbation sqrt(n_active)``.
    trial_log_divergence : array (n_trials, n_steps + 1), the same per trial.
    fit_steps : number of steps in the fit window (points 0..fit_steps are fitted).
    saturated : True when the divergence reached ``saturation_fraction`` of the way (in
        log) to the saturation distance, i.e. the window ended before saturation.
    saturation_log_distance : log of ``sqrt(2 sum_i var_t v_i)``, the expected distance of
        two independent states of the reference run.
    dt : seconds per step.
    """

    lambda_max: float
    log_divergence: np.ndarray
    trial_log_divergence: np.ndarray
    fit_steps: int
    saturated: bool
    saturation_log_distance: float
    dt: float

    def __post_init__(self) -> None:
        self.log_divergence = np.asarray(self.log_divergence, dtype=np.float64)
        self.trial_log_divergence = np.asarray(self.trial_log_divergence, dtype=np.float64)
        if self.log_divergence.ndim != 1 or self.log_divergence.size < 2:
            raise ValueError("log_divergence must be 1-D with at least two points")
        if self.trial_log_divergence.ndim != 2 or \
                self.trial_log_divergence.shape[1] != self.log_divergence.size:
            raise ValueError("trial_log_divergence must have shape (n_trials, n_steps + 1)")
        self.fit_steps = check_int(self.fit_steps, "fit_steps", 1)
        if self.fit_steps >= self.log_divergence.size:
            raise ValueError("fit_steps must be < len(log_divergence)")
        self.dt = check_positive(self.dt, "dt")

    @property
    def times(self) -> np.ndarray:
        """Seconds after the perturbation of each point of ``log_divergence``."""
        return np.arange(self.log_divergence.size) * self.dt


def _bernoulli_drive(rng: np.random.Generator, n_steps: int, n_inputs: int,
                     rate: float) -> np.ndarray:
    return rng.random((n_steps, n_inputs)) < rate


def spiking_divergence(net: SpikingNetwork, n_steps: int, input_spikes: Any = None,
                       perturbation: float = 1e-2, seed: int | None = None,
                       n_trials: int = 5, *, n_transient: int = 200,
                       input_rate: float = 0.1, saturation_fraction: float = 0.9,
                       divergence_floor: float = 1e-12) -> SpikingDivergence:
    """Twin-simulation divergence of the spiking network (LNP paper appendix A.1, 1-6).

    1. The reference run starts from rest and runs ``n_transient`` steps on the input, so
       the perturbation hits a network in its driven regime.
    2. A twin starts from the same state (synaptic currents and in-flight synaptic input
       included) with ``v`` of the active neurons displaced along a random direction
       (drawn from ``seed``) of Euclidean norm ``d_0 = perturbation * sqrt(n_active)``,
       i.e. ``perturbation`` is the RMS displacement per neuron.
    3. Both run ``n_steps`` more steps on the same input with
       :func:`lnp_neuro.engines.simulator.simulate` (``mode="float"``).
    4. The divergence ``d_t = ||v_twin(t) - v_ref(t)||_2`` over active neurons is the
       membrane-potential distance (the paper lists spike-timing, spike-count or membrane
       metrics; the membrane distance is defined before any spike differs). ``log d_t``
       is floored at ``log(divergence_floor * d_0)``: a reset at the same step in both
       runs erases a membrane difference exactly, and log 0 would break the fit.
    5. Steps 2-4 are repeated for ``n_trials`` directions and ``log d_t`` is averaged
       over trials (the mean log-distance of Rosenstein et al. 1993 / Kantz 1994).
    6. The exponent is the least-squares slope of the mean log-distance against time
       over the initial growth window: from t = 0 until the curve first reaches
       ``saturation_fraction`` of the way (in log) from ``log d_0`` to the saturation
       level ``log sqrt(2 sum_i var_t v_i(t))`` of the reference run (the expected
       distance of two independent states); if it never does, over all ``n_steps``.

    Caveat (why this is a finite-size exponent): between spikes the discrete-time LIF
    map is linear and contracting (``v <- (1 - dv) v``), and a common reset erases a
    membrane difference, so an infinitesimal perturbation always decays. Divergence
    needs a spike that moves or appears, which needs a displacement comparable to the
    distance of some membrane from threshold. The result therefore depends on
    ``perturbation`` and on ``n_steps``. Default 1e-2 per neuron: with 1e-3, whether a
    spike moves within 300 steps is a matter of chance (HRSNN, N = 300, gain 0.5,
    Poisson drive: 3 of 4 networks diverged, estimates -1..+117 /s; with 1e-2 all 4,
    +31..+38 /s). A network whose spikes move but do not cascade (weak coupling; tonic
    or Poisson-driven firing) gives a slope near 0 that shrinks like 1/n_steps.

    Parameters
    ----------
    net : the network.
    n_steps : steps after the perturbation (>= 2).
    input_spikes : optional (n_transient + n_steps, n_inputs) bool / 0-1 spikes; default a
        seeded Bernoulli drive with probability ``input_rate`` per input and step.
    perturbation : RMS membrane displacement per active neuron (> 0).
    seed : seed of the drive and of the perturbation directions (same seed, same result).
    n_trials : perturbation directions averaged (>= 1).
    n_transient : steps of the reference run before the perturbation.
    input_rate : spike probability of the default drive.
    saturation_fraction : end of the growth window, in (0, 1].
    divergence_floor : relative floor of ``d_t`` (0 < floor < 1).
    """
    n_steps, n_transient, n_trials, perturbation, input_rate, saturation_fraction, \
        divergence_floor = _check_options(net, n_steps, n_transient, n_trials, perturbation,
                                          input_rate, saturation_fraction, divergence_floor,
                                          seed)
    active = _active_neurons(net)
    rng = np.random.default_rng(seed)
    drive = _drive(net, rng, input_spikes, n_transient + n_steps, input_rate)
    start, v_ref, v0, u0 = _reference_run(net, drive, n_transient, active)
    curves = _twin_log_distances(net, drive[n_transient:], rng, start, v0, u0, v_ref, active,
                                 n_trials, perturbation, divergence_floor)
    mean_curve = curves.mean(axis=0)
    slope, fit_steps, saturated, log_sat = _growth_window_slope(mean_curve, v_ref,
                                                                 saturation_fraction, n_steps)
    return SpikingDivergence(lambda_max=float(slope / net.dt), log_divergence=mean_curve,
                             trial_log_divergence=curves, fit_steps=fit_steps,
                             saturated=saturated, saturation_log_distance=float(log_sat),
                             dt=net.dt)


def _check_options(net: Any, n_steps: Any, n_transient: Any, n_trials: Any,
                   perturbation: Any, input_rate: Any, saturation_fraction: Any,
                   divergence_floor: Any, seed: Any) -> tuple:
    """Validate the arguments of :func:`spiking_divergence` and return them normalised.

    Returns ``(n_steps, n_transient, n_trials, perturbation, input_rate,
    saturation_fraction, divergence_floor)``; raises ValueError on the first bad one.
    """
    if not isinstance(net, SpikingNetwork):
        raise ValueError(f"net must be a SpikingNetwork, got {type(net).__name__}")
    n_steps = check_int(n_steps, "n_steps", 2)
    n_transient = check_int(n_transient, "n_transient", 0)
    n_trials = check_int(n_trials, "n_trials", 1)
    perturbation = check_positive(perturbation, "perturbation")
    input_rate = float(input_rate)
    if not (np.isfinite(input_rate) and 0 <= input_rate <= 1):
        raise ValueError(f"input_rate must be a probability in [0, 1], got {input_rate}")
    saturation_fraction = float(saturation_fraction)
    if not (np.isfinite(saturation_fraction) and 0 < saturation_fraction <= 1):
        raise ValueError(f"saturation_fraction must be in (0, 1], got {saturation_fraction}")
    divergence_floor = float(divergence_floor)
    if not (np.isfinite(divergence_floor) and 0 < divergence_floor < 1):
        raise ValueError(f"divergence_floor must be in (0, 1), got {divergence_floor}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise ValueError(f"seed must be an integer or None, got {seed!r}")
    return (n_steps, n_transient, n_trials, perturbation, input_rate, saturation_fraction,
            divergence_floor)


def _active_neurons(net: SpikingNetwork) -> np.ndarray:
    """Indices of the active neurons, whose membranes are perturbed and compared."""
    active = np.flatnonzero(net.neuron_active)
    if active.size == 0:
        raise ValueError("net has no active neuron")
    return active


def _drive(net: SpikingNetwork, rng: np.random.Generator, input_spikes: Any, total: int,
           input_rate: float) -> np.ndarray:
    """Input spikes of all ``total`` steps: the given ones (checked, cut) or a Bernoulli drive.

    The default drive is the first draw of ``rng``, before the perturbation directions.
    """
    if input_spikes is None:
        return _bernoulli_drive(rng, total, net.n_inputs, input_rate)
    drive = np.asarray(input_spikes)
    if drive.ndim != 2 or drive.shape[1] != net.n_inputs:
        raise ValueError(f"input_spikes must have shape (T, n_inputs={net.n_inputs}), "
                         f"got {drive.shape}")
    if drive.shape[0] < total:
        raise ValueError(f"input_spikes has {drive.shape[0]} time steps, need "
                         f"n_transient + n_steps = {total}")
    return drive[:total]


def _reference_run(net: SpikingNetwork, drive: np.ndarray, n_transient: int,
                   active: np.ndarray) -> tuple:
    """Steps 1 and 3 for the reference: transient from rest, then the recorded run.

    Returns ``(start, v_ref, v0, u0)``: the state after the transient (None without one),
    the reference membranes of the active neurons after each step (n_steps, n_active), and
    the full membrane and synaptic-current vectors the twins start from.
    """
    if n_transient:
        start = simulate(net, drive[:n_transient], mode="float").final_state
    else:
        start = None
    reference = simulate(net, drive[n_transient:], mode="float", record_state=True,
                         initial_state=start)
    v_ref = reference.v[:, active]
    if start is None:
        v0 = np.zeros(net.n_total_neurons)
        u0 = np.zeros(net.n_total_neurons)
    else:
        v0, u0 = start.v, start.u
    return start, v_ref, v0, u0


def _twin_log_distances(net: SpikingNetwork, drive: np.ndarray, rng: np.random.Generator,
                        start: Any, v0: np.ndarray, u0: np.ndarray, v_ref: np.ndarray,
                        active: np.ndarray, n_trials: int, perturbation: float,
                        divergence_floor: float) -> np.ndarray:
    """Steps 2-5 per trial: perturb, run the twin, floored ``log d_t``; (n_trials, n_steps + 1).

    ``d_0 = perturbation * sqrt(n_active)`` along a random direction drawn from ``rng``;
    ``log d_t`` is floored at ``log(divergence_floor * d_0)`` (a common reset gives d_t = 0).
    """
    n_steps = drive.shape[0]
    initial_distance = perturbation * np.sqrt(active.size)
    floor = np.log(divergence_floor * initial_distance)
    curves = np.empty((n_trials, n_steps + 1))
    for trial in range(n_trials):
        direction = rng.standard_normal(active.size)
        direction *= initial_distance / np.linalg.norm(direction)
        v_twin0 = v0.copy()
        v_twin0[active] += direction
        if start is None:
            twin_start: Any = {"v": v_twin0, "u": u0}
        else:
            twin_start = type(start)(v=v_twin0, u=u0, pending_input=start.pending_input,
                                     pending_recurrent=start.pending_recurrent,
                                     mode=start.mode)
        twin = simulate(net, drive, mode="float", record_state=True, initial_state=twin_start)
        dist = np.linalg.norm(twin.v[:, active] - v_ref, axis=1)
        with np.errstate(divide="ignore"):
            curves[trial, 0] = np.log(initial_distance)
            curves[trial, 1:] = np.maximum(np.log(dist), floor)
    return curves


def _growth_window_slope(mean_curve: np.ndarray, v_ref: np.ndarray,
                         saturation_fraction: float, n_steps: int) -> tuple:
    """Step 6: least-squares slope (per step) of the mean log-distance over the growth window.

    The window ends where the curve first reaches ``saturation_fraction`` of the way (in
    log) to ``log sqrt(2 sum_i var_t v_i)`` of the reference run, else after ``n_steps``.
    Returns ``(slope, fit_steps, saturated, log_saturation_distance)``.
    """
    saturation = float(np.sqrt(2.0 * v_ref.var(axis=0).sum()))
    log_sat = np.log(saturation) if saturation > 0 else -np.inf
    threshold = mean_curve[0] + saturation_fraction * (log_sat - mean_curve[0])
    reached = np.flatnonzero(mean_curve[1:] >= threshold) + 1 if log_sat > mean_curve[0] \
        else np.zeros(0, np.int64)
    fit_steps = int(reached[0]) if reached.size else n_steps
    t = np.arange(fit_steps + 1, dtype=np.float64)
    slope = np.polyfit(t, mean_curve[: fit_steps + 1], 1)[0]
    return slope, fit_steps, bool(reached.size), log_sat


def spiking_lambda_max(net: SpikingNetwork, n_steps: int, input_spikes: Any = None,
                       perturbation: float = 1e-2, seed: int | None = None,
                       n_trials: int = 5, **options: Any) -> float:
    """Largest Lyapunov exponent (per second) of the spiking network itself.

    ``spiking_divergence(...).lambda_max``: twin simulations with a membrane perturbation,
    slope of the mean log-distance over the growth window (LNP paper appendix A.1, steps
    1-6; see :func:`spiking_divergence` for every choice and option).
    """
    return spiking_divergence(net, n_steps, input_spikes, perturbation, seed, n_trials,
                              **options).lambda_max
