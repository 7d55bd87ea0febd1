"""Pricing of one run on one hardware profile: the placement on the profile's cores, and
the synaptic, neuron-update, routing, memory and static terms of the energy account (the
equations and sources are in :mod:`lnp_neuro.hardware.energy`' module docstring).

Kept apart from :mod:`lnp_neuro.hardware.energy` (counting SOPs and assembling the report): this
module changes with how a chip is priced, that one with what a run is counted as.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._util.validation import check_int
from ..model.network import SpikingNetwork
from .mapping import MappingError, core_limits, map_to_cores, spike_latency
from .profiles import ENERGY_TERMS


def _placement(profile, net: SpikingNetwork, raster: np.ndarray, strategy: str, seed: int,
               mappings: dict | None):
    """(Mapping or None, why there is none) of ``net`` on ``profile``'s cores."""

    if mappings and mappings.get(profile.name) is not None:
        return mappings[profile.name], None
    limits = core_limits(profile)
    if limits is None:
        return None, f"profile {profile.name!r} has no core capacity data to place the network"
    try:
        return map_to_cores(net, limits, strategy, spikes=raster, seed=seed), None
    except MappingError as exc:
        return None, str(exc)


def _routing_term(profile, mapping, no_mapping: str | None) -> tuple[float | None, dict, str]:
    """Routing energy: per-message energy x spike messages + per-hop energies x hops
    (Davies et al., IEEE Micro 2018, Table 1) + chip-to-chip energy x chip crossings.

    Returns (joules or None, the counts and parts, a note naming what is not modelled).
    """
    routing = None if mapping is None else mapping.routing
    if routing is None:
        why = no_mapping or "no spike raster was placed"
        return None, {}, f"not modelled: the spikes could not be routed ({why})"
    info = {"strategy": mapping.strategy, **{k: v for k, v in routing.summary().items()
                                              if k != "core_traffic"}}
    parts: dict[str, float] = {}
    notes: list[str] = []
    if profile.energy_per_spike_message is not None:
        parts["messages"] = profile.energy_per_spike_message.si * routing.messages
    hop_fields = (profile.energy_per_hop_ew, profile.energy_per_hop_ns)
    if any(q is not None for q in hop_fields):
        if routing.hop_count is None:
            notes.append("tile hops not counted (the profile has no mesh_tiles_x / mesh_tiles_y)")
        else:
            for name, q, hops in (("hops_ew", profile.energy_per_hop_ew, routing.total_hops_ew),
                                  ("hops_ns", profile.energy_per_hop_ns, routing.total_hops_ns)):
                if q is not None:
                    parts[name] = q.si * hops
                elif hops:
                    notes.append(f"{hops} {name.replace('_', ' ')} counted, no energy figure")
    chip_hops = routing.total_chip_hops
    if chip_hops:
        if profile.energy_per_chip_hop is not None:
            parts["chip_hops"] = profile.energy_per_chip_hop.si * chip_hops
        else:
            notes.append(f"chip-to-chip: {chip_hops} chip crossing(s) counted, their energy not "
                         f"modelled (the profile gives no energy_per_chip_hop)")
    lat = (profile.latency_per_spike_message, profile.latency_per_hop_ew,
           profile.latency_per_hop_ns)
    if all(q is not None for q in lat):
        info["latency"] = spike_latency(routing, *(q.si for q in lat))
    info["parts_joules"] = parts
    note = "; ".join(notes)
    return float(sum(parts.values())), info, note


def _working_set_bits(profile, n_synapses: int, n_neurons: int) -> float:
    per_syn = profile.bytes_per_synapse.si if profile.bytes_per_synapse is not None else 0
    per_neuron = profile.bytes_per_neuron.si if profile.bytes_per_neuron is not None else 0
    return float(n_synapses * per_syn + n_neurons * per_neuron)


def _memory_term(profile, report: dict, sops: int, n_steps: int) -> tuple[float, dict]:
    """Memory traffic of a von-Neumann machine: accesses per SOP, neuron update and spike,
    each priced at the smallest level of the hierarchy that holds the working set
    (Horowitz, ISSCC 2014, energy table)."""
    bits = _working_set_bits(profile, report["synapses"], report["neurons"])
    level = profile.memory_level_for(bits)
    counts = {"sop": (profile.memory_accesses_per_sop, sops),
              "neuron_update": (profile.memory_accesses_per_neuron_update,
                                report["neurons"] * n_steps),
              "spike": (profile.memory_accesses_per_spike, report["spikes"])}
    accesses = {k: int(q.si) * n for k, (q, n) in counts.items() if q is not None}
    total = sum(accesses.values())
    return level.energy_per_access.si * total, {
        "level": level.name, "working_set_bytes": bits / 8,
        "energy_per_access_joules": level.energy_per_access.si,
        "accesses": accesses}


def _price(profile, report: dict, sops: int, n_steps: int, seconds_per_step: float,
           cores_used: Any, with_input: bool, mapping, no_mapping: str | None
           ) -> dict[str, Any]:
    """Every energy term of one profile (design section 5); a term the profile does not
    price is None with its reason in ``term_notes``, never a silent 0."""

    terms: dict[str, float | None] = dict.fromkeys(ENERGY_TERMS)
    notes: dict[str, str] = {}
    parts: dict[str, Any] = {}
    terms["synaptic"] = profile.energy_per_sop.si * sops
    if profile.term_statement("neuron_update") is None:
        update = {}
        if profile.energy_per_neuron_update is not None:
            update["updates"] = profile.energy_per_neuron_update.si * report["neurons"] * n_steps
        if profile.energy_per_spike is not None:
            update["spikes"] = profile.energy_per_spike.si * report["spikes"]
        terms["neuron_update"] = float(sum(update.values()))
        parts["neuron_update"] = update
    routing_info: dict[str, Any] = {}
    if mapping is not None and mapping.routing is not None:
        routing_info = {"strategy": mapping.strategy,
                        **{k: v for k, v in mapping.routing.summary().items()
                           if k != "core_traffic"}}
    if profile.term_statement("routing") is None:
        terms["routing"], routing_info, note = _routing_term(profile, mapping, no_mapping)
        if note:
            notes["routing"] = note
    if profile.term_statement("memory") is None:
        terms["memory"], parts["memory"] = _memory_term(profile, report, sops, n_steps)
    cores_bound = profile.cores_needed(report["neurons"], report["synapses"])
    if isinstance(cores_used, dict):
        cores = cores_used.get(profile.name)
    else:
        cores = cores_used
    if cores is None:
        cores = mapping.cores_used if mapping is not None else cores_bound
    if cores is not None:
        cores = check_int(cores, "cores_used", 0)
    chips = None
    if cores is not None and profile.cores_per_chip is not None:
        chips = max(1, math.ceil(cores / profile.cores_per_chip.si)) if cores else 0
    if profile.static_power is not None:
        # Static power is a chip figure: charge every chip the network occupies (one when
        # the profile has no capacity data) for the real-time duration of the run.
        n_chips = chips if chips is not None else 1
        terms["static"] = profile.static_power.si * n_chips * n_steps * seconds_per_step
    status = {}
    for term in ENERGY_TERMS:
        statement = profile.term_statement(term)
        if statement is None:
            status[term] = "modelled"
        else:
            status[term] = statement.status
            notes[term] = f"{statement.status}: {statement.reason}"
    if terms["routing"] is None and status["routing"] == "modelled":
        status["routing"] = "not modelled"
    cap = profile.capacity()
    exceeded = [f"{key} {report[key]} > {cap[key]}" for key in ("max_fan_in", "max_fan_out")
                if cap[key] is not None and report[key] > cap[key]]
    modelled = [v for v in terms.values() if v is not None]
    out: dict[str, Any] = {
        "energy_joules": float(sum(modelled)),
        # Arithmetic only (synaptic events and neuron updates): the lower bound most
        # SNN-vs-ANN comparisons quote; energy_joules adds routing, memory and static.
        "arithmetic_joules": float(terms["synaptic"] + (terms["neuron_update"] or 0.0)),
        "terms": {k: (None if v is None else float(v)) for k, v in terms.items()},
        "term_status": status,
        "term_notes": notes,
        "term_parts": parts,
        "routing": routing_info or None,
        "limits_exceeded": exceeded,
        "sops_priced": sops,
        "cores_lower_bound": cores_bound,
        "cores": cores,
        "chips": chips,
        "fits_one_chip": None if chips is None else chips <= 1,
        "mapping_error": no_mapping if mapping is None and cores_bound is not None else None,
        "estimate": profile.has_estimates(),
    }
    if profile.energy_per_mac is not None:
        macs = report["ann_macs"]
        e_mac = profile.energy_per_mac.si
        # Same scope as the SNN count: the input projection only when its spikes were counted.
        dense = macs["dense"] + (macs["input_dense"] if with_input else 0)
        sparse = macs["sparse"] + (macs["input_sparse"] if with_input else 0)
        out["ann_energy_dense_joules"] = e_mac * dense
        out["ann_energy_sparse_joules"] = e_mac * sparse
        if profile.memory_accesses_per_mac is not None and profile.memory_levels:
            per_mac = int(profile.memory_accesses_per_mac.si)
            weight_bits = profile.weight_bits.si if profile.weight_bits is not None else 32
            n = report["neurons"]
            dense_level = profile.memory_level_for(n * n * weight_bits)
            sparse_level = profile.memory_level_for(
                _working_set_bits(profile, report["synapses"], 0))
            out["ann_memory_dense_joules"] = dense_level.energy_per_access.si * per_mac * dense
            out["ann_memory_sparse_joules"] = sparse_level.energy_per_access.si * per_mac * sparse
    return out
