"""Per-projection SOPs, cores per population and weight bits per projection
(:mod:`lnp_neuro.hardware.projections`), against counts made by hand with explicit loops,
and against the totals of the energy report."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import chain_graph, drive, recurrent_graph

from lnp_neuro.engines.fixed_point import quantize
from lnp_neuro.hardware.energy import energy_report
from lnp_neuro.hardware.mapping import CoreLimits, map_to_cores
from lnp_neuro.hardware.neurobench import neurobench_metrics
from lnp_neuro.hardware.projections import (layout_for, population_cores,
                                            projection_quantisation, projection_sops,
                                            reservoir_layout)
from lnp_neuro.model import flatten
from lnp_neuro.model.network import SpikingNetwork


def _pruned_recurrent_graph():
    """recurrent_graph with a pruned neuron in R and in I, and pruned synapses in every
    projection between populations and in the input projection."""
    g = recurrent_graph()
    g.populations["R"].neuron_active[[3, 11]] = False
    g.populations["I"].neuron_active[1] = False
    for proj in g.projections:
        proj.synapse_active[::4] = False
    return g


GRAPHS = {"chain": chain_graph, "recurrent": recurrent_graph,
          "recurrent_pruned": _pruned_recurrent_graph}


def _raster(layout, steps: int = 60, seed: int = 3) -> np.ndarray:
    """A random raster of the graph's spiking neurons (the accounting takes any raster;
    non-spiking readouts never spike)."""
    rng = np.random.default_rng(seed)
    s = rng.random((steps, layout.network.n_total_neurons)) < 0.25
    return s & layout.network.spiking[None, :]


def _hand_sops(graph, layout, spikes, inputs) -> dict:
    """AND-mask SOPs per projection, one spike and one synapse at a time."""
    out = {}
    for proj in graph.projections:
        coo = proj.weights.tocoo()
        target = graph.populations[proj.target]
        if proj.source in graph.inputs:
            a, _ = layout.input_offsets[proj.source]
            src_raster = inputs[:, a:a + graph.inputs[proj.source]]
            src_active = np.ones(src_raster.shape[1], bool)
        else:
            a, b = layout.offsets[proj.source]
            src_raster = spikes[:, a:b]
            src_active = graph.populations[proj.source].neuron_active
        total = 0
        for t in range(src_raster.shape[0]):
            for pre in np.flatnonzero(src_raster[t]):
                for k in range(coo.nnz):
                    if (coo.col[k] == pre and proj.synapse_active[k] and src_active[pre]
                            and target.neuron_active[coo.row[k]]):
                        total += 1
        out[proj.name] = total
    return out


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_projection_sops_match_a_hand_count(name):
    graph = GRAPHS[name]()
    layout = flatten(graph)
    spikes, inputs = _raster(layout), drive(graph, steps=60)
    rows = projection_sops(layout, spikes, inputs)
    assert [r["name"] for r in rows] == [p.name for p in graph.projections]
    assert {r["name"]: r["sops"] for r in rows} == _hand_sops(graph, layout, spikes, inputs)
    for row, proj in zip(rows, graph.projections):
        assert (row["source"], row["target"]) == (proj.source, proj.target)
        assert row["synapses_stored"] <= proj.weights.nnz


def test_projection_kinds():
    rows = projection_sops(flatten(recurrent_graph()), _raster(flatten(recurrent_graph())))
    assert [r["kind"] for r in rows] == ["input", "recurrent", "feed-forward", "readout"]
    assert rows[0]["sops"] is None        # no input spikes given


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_projection_sops_sum_to_the_run_totals(name):
    graph = GRAPHS[name]()
    layout = flatten(graph)
    net = layout.network
    spikes, inputs = _raster(layout), drive(graph, steps=60)
    rows = projection_sops(layout, spikes, inputs)
    report = energy_report(net, spikes, "loihi2", input_spikes=inputs)
    inner = [r for r in rows if r["kind"] != "input"]
    assert sum(r["sops"] for r in inner) == report["sops_and_mask"]
    assert sum(r["sops_dense"] for r in inner) == report["sops_dense"]
    assert sum(r["synapses"] for r in inner) == net.n_active_synapses
    assert sum(r["sops"] for r in rows if r["kind"] == "input") == report["sops_input"]
    # The SOPs energy prices and NeuroBench's accumulate operations: both layers.
    acs = neurobench_metrics(net, spikes, inputs)["synaptic_operations"]["effective_acs"]
    assert sum(r["sops"] for r in rows) == acs


def _reservoir(pruned: bool, n: int = 30, n_in: int = 4, seed: int = 5) -> SpikingNetwork:
    rng = np.random.default_rng(seed)
    w = sp.random(n, n, density=0.2, random_state=rng, format="csr")
    win = sp.random(n, n_in, density=0.5, random_state=rng, format="csr")
    kwargs = {}
    if pruned:
        kwargs = {"neuron_active": rng.random(n) > 0.2,
                  "synapse_active": rng.random(w.nnz) > 0.3}
    return SpikingNetwork(weights=w, input_weights=win, tau_mem=0.02, tau_syn=0.005,
                          v_threshold=1.0, bias=0.0, dt=1e-3, **kwargs)


@pytest.mark.parametrize("pruned", [False, True])
def test_reservoir_split_is_the_energy_reports(pruned):
    net = _reservoir(pruned)
    rng = np.random.default_rng(0)
    spikes = rng.random((50, net.n_total_neurons)) < 0.3
    inputs = rng.random((50, net.n_inputs)) < 0.4
    layout = reservoir_layout(net)
    assert layout.network is net and layout_for(net).offsets == layout.offsets
    # The layout is the one flatten gives the reservoir's graph.
    assert flatten(layout.graph).offsets == layout.offsets
    rows = projection_sops(layout, spikes, inputs)
    report = energy_report(net, spikes, "loihi2", input_spikes=inputs)
    assert [(r["name"], r["kind"]) for r in rows] == [
        ("input->reservoir", "input"), ("reservoir->reservoir", "recurrent")]
    assert rows[0]["sops"] == report["sops_input"]
    assert rows[1]["sops"] == report["sops_and_mask"]
    assert rows[1]["sops_dense"] == report["sops_dense"]
    assert rows[1]["synapses"] == report["synapses"]
    assert rows[0]["synapses"] == report["ann_macs"]["input_sparse"] // 50


def test_population_cores_follow_the_placement():
    graph = _pruned_recurrent_graph()
    layout = flatten(graph)
    limits = CoreLimits("tiny", neurons_per_core=8, synapses_per_core=200, cores_per_chip=16)
    mapping = map_to_cores(layout.network, limits, "first-fit")
    rows = population_cores(layout, mapping)
    assert [r["name"] for r in rows] == list(graph.populations)
    core_of = mapping.core_of_neuron
    for row in rows:
        a, b = layout.offsets[row["name"]]
        assert row["neurons"] == b - a
        assert row["neurons_active"] == int(graph.populations[row["name"]].neuron_active.sum())
        expected = sorted({int(c) for c in core_of[a:b] if c >= 0})
        assert row["cores"] == expected and row["cores_used"] == len(expected)
        assert sum(row["neurons_on_cores"]) == row["neurons_active"]
    assert sum(sum(r["neurons_on_cores"]) for r in rows) == int(mapping.neurons_on_core.sum())
    assert all(r["cores"] is None for r in population_cores(layout, None))


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_projection_quantisation_covers_the_matrices(name):
    layout = flatten(GRAPHS[name]())
    fp = quantize(layout.network)
    rows = projection_quantisation(layout, fp)
    inputs = [r for r in rows if r["kind"] == "input"]
    inner = [r for r in rows if r["kind"] != "input"]
    assert sum(r["weights"] for r in inner) == fp.weights.nnz
    assert sum(r["weights"] for r in inputs) == fp.input_weights.nnz
    assert sum(r["weights_flushed"] for r in inner) == fp.error.weights_flushed
    assert sum(r["weights_flushed"] for r in inputs) == fp.error.input_weights_flushed
    for row in rows:
        exps = fp.input_weight_exp if row["kind"] == "input" else fp.weight_exp
        assert exps.min() <= row["exponent_min"] <= row["exponent_max"] <= exps.max()
        assert row["mantissa_bits"] == 8 and 0 < row["mantissa_bits_used"] <= 8
    if len(inner) == 1:   # one block: the matrix's own error
        assert inner[0]["weight_rms_rel"] == pytest.approx(fp.error.weight_rms_rel)
