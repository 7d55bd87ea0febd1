"""Synaptic-operation (SOP) counting and the energy accountant (design section 5).

Energy model of the paper (Chakraborty et al., ICLR 2024, Sec. 4 "Energy Efficiency" and
Suppl. A.5; its formulas were lost in extraction, design section 5 fixes them)::

    E = E_sop * SOPs

    dense:     SOPs = sum_i s_i * f_i
               s_i = spikes emitted by neuron i, f_i = its fan-out (stored synapses of
               column i of W[post, pre]); masks are ignored.
    AND-mask:  SOPs = sum_i s_i * sum_j (m_i AND m_ij AND m_j)
               (Shi et al., ICLR 2024, "Towards energy efficient spiking neural networks:
               an unstructured pruning framework", Sec. 3, energy model of sparse SNNs):
               a spike only costs on synapses whose presynaptic neuron i, synapse ij and
               postsynaptic neuron j are all unpruned.

    SOP ratio = SOPs(dense model, unpruned network) / SOPs(AND-mask model, pruned network),
               both driven by the same input (paper Sec. 4; design section 5).

Both counts are one matrix-vector product: per-neuron spike counts ``c = spikes.sum(0)``
times a per-neuron fan-out vector, so counting never touches the weights more than once.

The accountant (:func:`energy_report`) prices the run on every hardware profile
(:mod:`lnp_neuro.hardware.profiles`) with the same five terms (design section 5)::

    synaptic      = E_sop * SOPs_and_mask (+ input SOPs)
    neuron_update = E_neuron_update * N_active * T + E_spike * spikes_emitted
    routing       = E_message * spike_messages + E_hop_ew * hops_ew + E_hop_ns * hops_ns
                    + E_chip_hop * chip_hops          (Davies et al., IEEE Micro 2018, Table 1)
    memory        = E_access(level) * (a_sop * SOPs + a_update * N_active * T + a_spike * spikes)
                    (von-Neumann profiles; Horowitz, ISSCC 2014: the level is the smallest
                    cache, else DRAM, that holds the working set)
    static        = P_static * chips * T * seconds_per_step

The spike messages and hops come from placing the network on the profile's cores
(:mod:`lnp_neuro.hardware.mapping`, ``mapping_strategy`` "partition" or "first-fit") and routing
the raster over the chip's mesh. A term a profile does not price is reported as None with
its reason ("included" in another figure, or "not modelled"), never as a silent 0; the
total ``energy_joules`` sums the modelled terms and ``arithmetic_joules`` the synaptic and
neuron-update terms alone (the arithmetic-only lower bound).

The operation count of the non-spiking equivalent of the same recurrent computation
(a rate network ``r_t = phi(W r_{t-1} + ...)`` stepped T times)::

    ann_macs_dense  = T * N_active * N_active     (dense matrix-vector product, N_post x N_pre)
    ann_macs_sparse = T * S_active                (sparse matrix-vector product: one MAC per
                                                   active synapse)

priced with the reference profiles' ``energy_per_mac`` (Horowitz, ISSCC 2014), and their
memory traffic (``memory_accesses_per_mac``) where the profile has a memory hierarchy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._util.validation import check_int
from ..model.network import SpikingNetwork, canonical_csr
# Pricing on a hardware profile.
from .energy_pricing import _placement, _price
from .mapping import STRATEGIES
from .profiles import HardwareProfile, list_profiles, load_profile

__all__ = [
    "SOP_MODELS",
    "fan_out",
    "count_sops",
    "sops_per_step",
    "sop_ratio",
    "ann_equivalent_macs",
    "energy_report",
]

SOP_MODELS = ("and-mask", "dense")


def _as_csr(weights: Any) -> sp.csr_matrix:
    """Canonical CSR of ``weights``, without a copy when it already is canonical."""
    if not sp.issparse(weights):
        raise ValueError(
            f"weights must be a scipy.sparse matrix W[post, pre] whose stored entries are the "
            f"synapses, got {type(weights).__name__}")
    if (isinstance(weights, sp.csr_matrix) and weights.has_canonical_format
            and weights.shape[0] == weights.shape[1]):
        return weights
    csr = canonical_csr(weights, "weights")
    if csr.shape[0] != csr.shape[1]:
        raise ValueError(f"weights must be square (N, N), got shape {csr.shape}")
    return csr


def _mask(value: Any, size: int, name: str, what: str) -> np.ndarray | None:
    if value is None:
        return None
    arr = np.asarray(value)
    if arr.dtype != bool:
        if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
            raise ValueError(f"{name} must be a boolean array, got dtype {arr.dtype}")
        if arr.size and not np.all((arr == 0) | (arr == 1)):
            raise ValueError(f"{name} must be boolean (or 0/1), got other values")
        arr = arr.astype(bool)
    if arr.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},) ({what}), got {arr.shape}")
    return arr


def _check_model(model: str) -> str:
    if model not in SOP_MODELS:
        raise ValueError(f"model must be one of {SOP_MODELS}, got {model!r}")
    return model


def fan_out(weights: Any, neuron_active: Any = None, synapse_active: Any = None,
            model: str = "and-mask") -> np.ndarray:
    """Per presynaptic neuron, the number of synapses a spike of it costs (int64 [N]).

    ``model="dense"``: f_i = stored synapses in column i of ``W[post, pre]`` (masks ignored).
    ``model="and-mask"``: f_i = sum_j (m_i AND m_ij AND m_j) (Shi et al., ICLR 2024); a
    missing mask means "all active". ``synapse_active`` is aligned with the stored entries
    of the canonical CSR form of ``weights`` (as in :class:`SpikingNetwork`).
    """
    _check_model(model)
    w = _as_csr(weights)
    n = w.shape[0]
    pre = w.indices
    if model == "dense":
        return np.bincount(pre, minlength=n).astype(np.int64)
    neuron = _mask(neuron_active, n, "neuron_active", "one entry per neuron")
    synapse = _mask(synapse_active, w.nnz, "synapse_active",
                    "one entry per stored synapse of the canonical CSR weights")
    keep = np.ones(w.nnz, bool) if synapse is None else synapse.copy()
    if neuron is not None:
        post = np.repeat(np.arange(n), np.diff(w.indptr))
        keep &= neuron[pre] & neuron[post]
    return np.bincount(pre[keep], minlength=n).astype(np.int64)


def _spike_matrix(spikes: Any, n: int, name: str = "spikes") -> np.ndarray:
    """Validate a raster [T, N] of 0/1 spikes; returns it as a uint8/bool array (no copy if bool)."""
    if sp.issparse(spikes):
        spikes = spikes.toarray()
    arr = np.asarray(spikes)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D raster [T, N], got {arr.ndim} dimension(s)")
    if arr.shape[1] != n:
        raise ValueError(f"{name} has {arr.shape[1]} columns but the network has {n} neurons "
                         f"(expected a raster [T, {n}])")
    if arr.dtype == bool:
        return arr
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{name} must be boolean or 0/1 numbers, got dtype {arr.dtype}")
    if arr.size and not np.all((arr == 0) | (arr == 1)):
        raise ValueError(f"{name} must contain only 0/1 (one spike per neuron per step at most)")
    return arr.astype(bool)


def count_sops(spikes: Any, weights: Any, neuron_active: Any = None, synapse_active: Any = None,
               model: str = "and-mask") -> int:
    """Total synaptic operations of a spike raster on a network (design section 5).

    Parameters
    ----------
    spikes : array [T, N] of bool or 0/1
        Spike raster (rows = time steps).
    weights : sparse (N, N)
        ``W[post, pre]``; stored entries are the synapses.
    neuron_active, synapse_active : bool arrays, optional
        Pruning masks (per neuron; per stored synapse of the canonical CSR).
    model : "and-mask" | "dense"
        ``dense``: sum_i s_i f_i, masks ignored. ``and-mask`` (Shi et al., ICLR 2024):
        sum_i s_i sum_j (m_i AND m_ij AND m_j); a pruned neuron's spikes and a pruned
        synapse never count.
    """
    _check_model(model)
    w = _as_csr(weights)
    raster = _spike_matrix(spikes, w.shape[0])
    counts = np.count_nonzero(raster, axis=0).astype(np.int64)
    return int(counts @ fan_out(w, neuron_active, synapse_active, model))


def sops_per_step(spikes: Any, weights: Any, neuron_active: Any = None,
                  synapse_active: Any = None, model: str = "and-mask") -> np.ndarray:
    """SOPs of every time step (int64 [T]); sums to :func:`count_sops`."""
    _check_model(model)
    w = _as_csr(weights)
    raster = _spike_matrix(spikes, w.shape[0])
    f = fan_out(w, neuron_active, synapse_active, model)
    return raster.astype(np.int64) @ f


def _net_sops(net: SpikingNetwork, spikes: Any, model: str) -> int:
    return count_sops(spikes, net.weights, net.neuron_active, net.synapse_active, model=model)


def sop_ratio(unpruned: SpikingNetwork, unpruned_spikes: Any, pruned: SpikingNetwork,
              pruned_spikes: Any) -> float | None:
    """SOPs of the unpruned network (dense model) / SOPs of the pruned one (AND-mask model).

    Both rasters must come from the same input (paper Sec. 4, design section 5). Returns
    None when the pruned network performs no SOP (the ratio is unbounded).
    """
    _check_network(unpruned, "unpruned")
    _check_network(pruned, "pruned")
    before = _net_sops(unpruned, unpruned_spikes, "dense")
    after = _net_sops(pruned, pruned_spikes, "and-mask")
    return None if after == 0 else before / after


def ann_equivalent_macs(net: SpikingNetwork, n_steps: int) -> dict[str, int]:
    """MACs of the non-spiking (rate) equivalent of the recurrent layer over ``n_steps``.

    ``dense``: a dense N_active x N_active matrix-vector product per step (what a GPU/CPU
    running the same recurrent layer as a dense RNN does). ``sparse``: one MAC per active
    synapse per step (a sparse matrix-vector product that skips pruned weights).
    ``input_dense`` / ``input_sparse``: the input projection, N_active x n_in per step, or
    one MAC per stored input weight onto an active neuron.
    """
    _check_network(net, "net")
    n_steps = check_int(n_steps, "n_steps", 0)
    n_active = net.n_active_neurons
    win = net.input_weights
    rows_active = net.neuron_active[np.repeat(np.arange(win.shape[0]), np.diff(win.indptr))]
    return {
        "dense": n_steps * n_active * n_active,
        "sparse": n_steps * net.n_active_synapses,
        "input_dense": n_steps * n_active * net.n_inputs,
        "input_sparse": n_steps * int(np.count_nonzero(rows_active)),
    }


def _check_network(net: Any, name: str) -> None:
    if not isinstance(net, SpikingNetwork):
        raise ValueError(f"{name} must be a SpikingNetwork, got {type(net).__name__}")


def _input_sops(net: SpikingNetwork, input_spikes: Any) -> int:
    """Input-layer SOPs: input spikes times their fan-out onto active neurons."""
    win = net.input_weights
    arr = _spike_matrix(input_spikes, win.shape[1], "input_spikes")
    rows = np.repeat(np.arange(win.shape[0]), np.diff(win.indptr))
    keep = net.neuron_active[rows]
    f_in = np.bincount(win.indices[keep], minlength=win.shape[1]).astype(np.int64)
    return int(np.count_nonzero(arr, axis=0).astype(np.int64) @ f_in)


def _resolve_profiles(profiles: Any) -> list:

    if profiles is None:
        return [load_profile(name) for name in list_profiles()]
    if isinstance(profiles, (str, HardwareProfile)):
        profiles = [profiles]
    out = []
    for item in profiles:
        if isinstance(item, HardwareProfile):
            out.append(item)
        elif isinstance(item, str):
            out.append(load_profile(item))
        else:
            raise ValueError(
                f"profiles must hold profile names or HardwareProfile objects, got "
                f"{type(item).__name__}")
    names = [p.name for p in out]
    if len(set(names)) != len(names):
        raise ValueError(f"profiles lists a profile twice: {names}")
    return out


def _positive_or_none(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number of seconds, got {value}")
    return value


def _raster_sops(net: SpikingNetwork, raster: np.ndarray, input_spikes: Any, n_steps: int):
    """Spike counts per neuron and the run's SOPs: dense, AND-mask and input-layer."""
    counts = np.count_nonzero(raster, axis=0).astype(np.int64)
    sops_dense = int(counts @ fan_out(net.weights, model="dense"))
    sops_mask = int(counts @ fan_out(net.weights, net.neuron_active, net.synapse_active,
                                     "and-mask"))
    spikes_active = int(counts[net.neuron_active].sum())
    sops_input = None
    if input_spikes is not None:
        n_in_steps = np.shape(input_spikes)[0] if np.ndim(input_spikes) else 0
        if n_in_steps != n_steps:
            raise ValueError(f"input_spikes has {n_in_steps} steps but spikes has {n_steps}")
        sops_input = _input_sops(net, input_spikes)
    return counts, sops_dense, sops_mask, spikes_active, sops_input


def _run_summary(net: SpikingNetwork, n_steps: int, counts: np.ndarray, sops_dense: int,
                 sops_mask: int, spikes_active: int, sops_input) -> dict[str, Any]:
    """The hardware-independent part of the report: sizes, spikes, SOPs and ANN MACs."""
    return {
        "steps": n_steps,
        "dt": net.dt,
        "seconds_simulated": n_steps * net.dt,
        "neurons": net.n_active_neurons,
        "neurons_total": net.n_total_neurons,
        "synapses": net.n_active_synapses,
        "synapses_stored": int(net.weights.nnz),
        "spikes": spikes_active,
        "spikes_of_pruned_neurons": int(counts.sum()) - spikes_active,
        "mean_rate_hz": (spikes_active / (net.n_active_neurons * n_steps * net.dt)
                         if net.n_active_neurons and n_steps else 0.0),
        "sops_dense": sops_dense,
        "sops_and_mask": sops_mask,
        "sops_input": sops_input,
        "mask_sop_ratio": None if sops_mask == 0 else sops_dense / sops_mask,
        "baseline": None,
        "sop_ratio": None,
        "ann_macs": ann_equivalent_macs(net, n_steps),
        "profiles": {},
    }


def _add_baseline(report: dict[str, Any], baseline, n_steps: int, sops_mask: int) -> None:
    """Add the unpruned run's sizes and the SOP ratio ``dense SOPs(base) / AND-mask SOPs``."""
    if not (isinstance(baseline, (tuple, list)) and len(baseline) == 2):
        raise ValueError("baseline must be a pair (unpruned_net, unpruned_spikes)")
    base_net, base_spikes = baseline
    _check_network(base_net, "baseline[0]")
    base_raster = _spike_matrix(base_spikes, base_net.n_total_neurons, "baseline spikes")
    if base_raster.shape[0] != n_steps:
        raise ValueError(f"baseline spikes has {base_raster.shape[0]} steps but spikes has "
                         f"{n_steps}; the SOP ratio compares runs on the same input")
    base_dense = _net_sops(base_net, base_raster, "dense")
    report["baseline"] = {
        "neurons": base_net.n_active_neurons, "synapses": base_net.n_active_synapses,
        "sops_dense": base_dense,
        "spikes": int(np.count_nonzero(base_raster)),
    }
    report["sop_ratio"] = None if sops_mask == 0 else base_dense / sops_mask


def _add_max_degrees(report: dict[str, Any], net: SpikingNetwork) -> None:
    """Add the largest fan-in and fan-out of the active (AND-mask) network."""
    keep = net.synapse_and_mask()
    pre, post = net.synapse_pre_post()
    n = net.n_total_neurons
    report["max_fan_in"] = int(np.bincount(post[keep], minlength=n).max(initial=0))
    report["max_fan_out"] = int(np.bincount(pre[keep], minlength=n).max(initial=0))


def energy_report(net: SpikingNetwork, spikes: Any, profiles: Any = None,
                  baseline: tuple[SpikingNetwork, Any] | None = None, *,
                  input_spikes: Any = None, cores_used: int | dict[str, int] | None = None,
                  seconds_per_step: float | None = None, mapping_strategy: str = "partition",
                  mappings: dict | None = None, seed: int = 0) -> dict[str, Any]:
    """Energy account of one run of ``net`` (JSON-serialisable dict).

    Parameters
    ----------
    net : SpikingNetwork
        The (possibly pruned) network that produced ``spikes``; its masks select the
        AND-mask SOPs.
    spikes : array [T, N]
        Its spike raster.
    profiles : None, name, HardwareProfile, or a sequence of them
        Hardware profiles to price the run on (None: every shipped profile).
    baseline : (unpruned_net, unpruned_spikes), optional
        The unpruned network and its raster on the same input; gives ``sop_ratio``.
    input_spikes : array [T, n_in], optional
        When given, input-layer SOPs are counted (``sops_input``) and priced with the
        recurrent ones.
    cores_used : int or {profile: int}, optional
        Cores occupied by the placed network, overriding the placement's count for the
        static term. Default: the cores of the placement, else the capacity lower bound
        ``max(ceil(N / neurons_per_core), ceil(S / synapses_per_core))``.
    seconds_per_step : float, optional
        Wall-clock time of one step on the chip, for the static-power term. Default ``dt``
        (the chip runs in real time, as SpiNNaker and TrueNorth do by design).
    mapping_strategy : "partition" | "first-fit"
        How the network is placed on each profile's cores (:func:`lnp_neuro.hardware.mapping.map_to_cores`).
    mappings : {profile: Mapping}, optional
        Placements already made (the deployer's, for its target); the others are made here.
    seed : int
        Seed of the partitioner.

    Returns
    -------
    dict with ``steps``, ``neurons``, ``synapses``, ``spikes``, ``sops_dense``,
    ``sops_and_mask``, ``mask_sop_ratio`` (dense / AND-mask SOPs of this very raster: what
    the masks alone save), ``baseline`` and ``sop_ratio`` (None without a baseline),
    ``ann_macs``, ``max_fan_in``/``max_fan_out`` of the active network, and ``profiles``
    ({name: {"energy_joules", "arithmetic_joules", "terms" ({term: J or None}),
    "term_status" ({term: "modelled" | "included" | "not modelled"}), "term_notes",
    "term_parts", "routing" (strategy, spike_messages, inter_core_spikes, hop_count, ...),
    "cores_lower_bound", "cores", "chips", "limits_exceeded" (per-neuron limits of the
    profile the network breaks), "ann_energy_dense_joules", ...}}). An undefined ratio
    (division by zero SOPs) is None.
    """
    _check_network(net, "net")
    raster = _spike_matrix(spikes, net.n_total_neurons)
    n_steps = int(raster.shape[0])
    seconds_per_step = _positive_or_none(seconds_per_step, "seconds_per_step") or net.dt
    counts, sops_dense, sops_mask, spikes_active, sops_input = _raster_sops(
        net, raster, input_spikes, n_steps)
    sops_priced = sops_mask + (sops_input or 0)
    with_input = input_spikes is not None
    report = _run_summary(net, n_steps, counts, sops_dense, sops_mask, spikes_active,
                          sops_input)
    if baseline is not None:
        _add_baseline(report, baseline, n_steps, sops_mask)
    _add_max_degrees(report, net)
    if mapping_strategy not in STRATEGIES:
        raise ValueError(f"mapping_strategy must be one of {', '.join(STRATEGIES)}, got "
                         f"{mapping_strategy!r}")
    report["mapping_strategy"] = mapping_strategy
    for profile in _resolve_profiles(profiles):
        mapping, no_mapping = _placement(profile, net, raster, mapping_strategy, seed, mappings)
        report["profiles"][profile.name] = _price(profile, report, sops_priced, n_steps,
                                                  seconds_per_step, cores_used, with_input,
                                                  mapping, no_mapping)
    return report


def profiles_for_target(target_profile) -> list:
    """Every shipped profile, plus ``target_profile`` (a HardwareProfile) when it is a
    user's own file; a user profile may not reuse a shipped profile's name with other
    numbers (the report keys energies by name)."""

    shipped = [load_profile(name) for name in list_profiles()]
    for i, profile in enumerate(shipped):
        if profile.name == target_profile.name:
            if profile != target_profile:
                raise ValueError(
                    f"{target_profile.path}: profile name {target_profile.name!r} is a shipped "
                    f"profile's name but the numbers differ; give your profile its own name")
            return shipped
    return shipped + [target_profile]
