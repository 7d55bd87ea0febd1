"""SOP counting and the energy accountant, against counts done by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from lnp_neuro.hardware.energy import (ann_equivalent_macs, count_sops, energy_report, fan_out,
                                       sop_ratio, sops_per_step)
from lnp_neuro.hardware.profiles import load_profile
from lnp_neuro.model.network import SpikingNetwork

# Synapses pre -> post of a 4-neuron network, counted by hand below.
#   0->1, 0->2, 1->2, 2->0, 3->0, 3->1, 3->2
EDGES = [(0, 1), (0, 2), (1, 2), (2, 0), (3, 0), (3, 1), (3, 2)]
# Spikes: t0 {0, 3}, t1 {0, 1}, t2 {2, 3}  ->  counts n0=2, n1=1, n2=1, n3=2
RASTER = np.array([[1, 0, 0, 1],
                   [1, 1, 0, 0],
                   [0, 0, 1, 1]], dtype=bool)


def weights() -> sp.csr_matrix:
    pre = [e[0] for e in EDGES]
    post = [e[1] for e in EDGES]
    return sp.csr_matrix((np.arange(1.0, len(EDGES) + 1), (post, pre)), shape=(4, 4))


def canonical_index(w: sp.csr_matrix, pre: int, post: int) -> int:
    """Position of synapse pre->post among the stored entries of canonical CSR W[post, pre]."""
    start, stop = w.indptr[post], w.indptr[post + 1]
    return start + int(np.flatnonzero(w.indices[start:stop] == pre)[0])


def pruned_masks(w: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Neuron 2 pruned, synapse 3->0 pruned."""
    neuron_active = np.array([True, True, False, True])
    synapse_active = np.ones(w.nnz, bool)
    synapse_active[canonical_index(w, 3, 0)] = False
    return neuron_active, synapse_active


def network(pruned: bool) -> SpikingNetwork:
    w = weights()
    n_act, s_act = pruned_masks(sp.csr_matrix(w)) if pruned else (None, None)
    win = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]]))
    return SpikingNetwork(weights=w, input_weights=win, tau_mem=0.02, tau_syn=0.005,
                          v_threshold=1.0, bias=0.0, dt=1e-3, neuron_active=n_act,
                          synapse_active=s_act)


def test_dense_sops_counted_by_hand():
    # fan-out: n0 -> {1, 2} = 2, n1 -> {2} = 1, n2 -> {0} = 1, n3 -> {0, 1, 2} = 3
    assert fan_out(weights(), model="dense").tolist() == [2, 1, 1, 3]
    # 2*2 + 1*1 + 1*1 + 2*3
    assert count_sops(RASTER, weights(), model="dense") == 12


def test_dense_model_ignores_masks():
    w = weights()
    n_act, s_act = pruned_masks(w)
    assert count_sops(RASTER, w, n_act, s_act, model="dense") == 12


def test_and_mask_sops_counted_by_hand():
    w = weights()
    n_act, s_act = pruned_masks(w)
    # Surviving synapses: 0->1 and 3->1 only (0->2, 1->2, 3->2 lose their post neuron,
    # 2->0 its pre neuron, 3->0 is itself pruned).
    assert fan_out(w, n_act, s_act).tolist() == [1, 0, 0, 1]
    # n0 spikes twice, n3 twice; n2's spike never counts.
    assert count_sops(RASTER, w, n_act, s_act) == 4


def test_and_mask_without_masks_equals_dense():
    assert count_sops(RASTER, weights(), model="and-mask") == 12


def test_pruned_synapse_alone_never_counts():
    w = weights()
    s_act = np.ones(w.nnz, bool)
    s_act[canonical_index(w, 3, 1)] = False
    # Only n3's fan-out drops, from 3 to 2; n3 spikes twice: 12 - 2.
    assert count_sops(RASTER, w, synapse_active=s_act) == 10


def test_pruned_neuron_spikes_never_count():
    w = weights()
    n_act = np.array([True, True, True, False])
    # n3's own spikes (2 x 3 SOPs) go, and n0/n1/n2 synapses onto n3: none exist.
    assert count_sops(RASTER, w, n_act) == 12 - 6


def test_stored_zero_weight_is_a_synapse():
    w = sp.csr_matrix((np.r_[0.0, np.ones(6)], ([1, 2, 2, 0, 0, 1, 2], [0, 0, 1, 2, 3, 3, 3])),
                      shape=(4, 4))
    assert w.nnz == 7
    assert count_sops(RASTER, w, model="dense") == 12


def test_sops_per_step_sums_to_total():
    w = weights()
    n_act, s_act = pruned_masks(w)
    # t0: n0 (1) + n3 (1); t1: n0 (1) + n1 (0); t2: n2 (0) + n3 (1)
    assert sops_per_step(RASTER, w, n_act, s_act).tolist() == [2, 1, 1]
    assert sops_per_step(RASTER, w, model="dense").tolist() == [5, 3, 4]


def test_integer_raster_accepted_and_bad_input_rejected():
    assert count_sops(RASTER.astype(np.int8), weights(), model="dense") == 12
    with pytest.raises(ValueError, match="spikes"):
        count_sops(RASTER.astype(int) * 2, weights())
    with pytest.raises(ValueError, match="columns"):
        count_sops(RASTER[:, :3], weights())
    with pytest.raises(ValueError, match="model"):
        count_sops(RASTER, weights(), model="sparse")
    with pytest.raises(ValueError, match="synapse_active"):
        count_sops(RASTER, weights(), synapse_active=np.ones(3, bool))
    with pytest.raises(ValueError, match="neuron_active"):
        count_sops(RASTER, weights(), neuron_active=np.ones(5, bool))
    with pytest.raises(ValueError, match="weights"):
        count_sops(RASTER, weights().toarray())


def test_matches_network_masks_and_loop_reference():
    """Vectorised count equals a plain loop over spikes and synapses on a random network."""
    rng = np.random.default_rng(3)
    n = 60
    w = sp.random(n, n, density=0.1, random_state=np.random.RandomState(1), format="csr")
    net = SpikingNetwork(weights=w, input_weights=sp.csr_matrix((n, 2)), tau_mem=0.02,
                         tau_syn=0.005, v_threshold=1.0, bias=0.0,
                         neuron_active=rng.random(n) > 0.3,
                         synapse_active=rng.random(w.nnz) > 0.4)
    raster = rng.random((25, n)) < 0.2
    pre, post = net.synapse_pre_post()
    keep = net.synapse_and_mask()
    expected = sum(int(raster[t, pre[k]]) for t in range(25) for k in range(len(pre)) if keep[k])
    assert count_sops(raster, net.weights, net.neuron_active, net.synapse_active) == expected
    assert count_sops(raster, net.weights, model="dense") == int(raster[:, pre].sum())


def test_sop_ratio_by_hand():
    # unpruned dense 12 / pruned AND-mask 4
    assert sop_ratio(network(False), RASTER, network(True), RASTER) == pytest.approx(3.0)
    silent = np.zeros_like(RASTER)
    assert sop_ratio(network(False), RASTER, network(True), silent) is None


def test_ann_equivalent_macs_by_hand():
    macs = ann_equivalent_macs(network(True), 3)
    assert macs["dense"] == 3 * 3 * 3          # T * N_active^2
    assert macs["sparse"] == 3 * 2             # T * active synapses (0->1, 3->1)
    assert macs["input_dense"] == 3 * 3 * 2    # T * N_active * n_in
    assert macs["input_sparse"] == 3 * 2       # input weights onto neurons 0 and 1


def _write_profile(tmp_path, text: str, name: str = "toy"):
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return load_profile(path)


TOY = '''
name = "toy"
title = "toy chip"
kind = "neuromorphic"
description = "round numbers for a hand-computed energy"
energy_per_sop = {value = 1, unit = "pJ", source = "test"}
energy_per_neuron_update = {value = 10, unit = "pJ", source = "test"}
energy_per_spike = {value = 100, unit = "pJ", source = "test"}
static_power = {value = 1, unit = "mW", source = "test"}
neurons_per_core = {value = 2, unit = "neurons", source = "test"}
synapses_per_core = {value = 2, unit = "synapses", source = "test"}
cores_per_chip = {value = 1, unit = "cores", source = "test"}
'''


def test_energy_report_known_answer(tmp_path):
    toy = _write_profile(tmp_path, TOY)
    mac = load_profile("cpu-mac")
    rep = energy_report(network(True), RASTER, profiles=[toy, mac],
                        baseline=(network(False), RASTER))
    assert rep["sops_dense"] == 12 and rep["sops_and_mask"] == 4
    assert rep["mask_sop_ratio"] == pytest.approx(3.0)
    assert rep["sop_ratio"] == pytest.approx(3.0)
    assert rep["baseline"]["sops_dense"] == 12
    assert rep["spikes"] == 5 and rep["spikes_of_pruned_neurons"] == 1
    assert rep["neurons"] == 3 and rep["synapses"] == 2
    t = rep["profiles"]["toy"]
    assert t["terms"]["synaptic"] == pytest.approx(4e-12)
    # N_active * T updates at 10 pJ, plus 100 pJ per spike
    assert t["terms"]["neuron_update"] == pytest.approx(3 * 3 * 10e-12 + 5 * 100e-12)
    assert t["term_parts"]["neuron_update"] == {"updates": pytest.approx(90e-12),
                                                "spikes": pytest.approx(500e-12)}
    # 3 neurons at 2 per core -> 2 cores -> 2 one-core chips, for 3 steps of 1 ms
    assert t["cores_lower_bound"] == 2 and t["cores"] == 2 and t["chips"] == 2
    assert t["terms"]["static"] == pytest.approx(1e-3 * 2 * 3e-3)
    # The toy has no routing or memory figures: not modelled, said, never a silent 0.
    assert t["terms"]["routing"] is None and t["term_status"]["routing"] == "not modelled"
    assert t["terms"]["memory"] is None and "no figure" in t["term_notes"]["memory"]
    assert t["energy_joules"] == pytest.approx(6e-6 + 4e-12 + 90e-12 + 500e-12)
    assert t["arithmetic_joules"] == pytest.approx(4e-12 + 90e-12 + 500e-12)
    # cpu-mac: arithmetic (0.9 pJ per SOP, 11 pJ per neuron update) plus memory traffic.
    # Working set 2 synapses x 8 B + 3 neurons x 28 B = 100 B: the 8 KB cache, 10 pJ per
    # access. Accesses: 3 per SOP x 4 + 10 per update x 9 + 2 per spike x 5 = 112.
    m = rep["profiles"]["cpu-mac"]
    assert m["terms"]["synaptic"] == pytest.approx(4 * 0.9e-12)
    assert m["terms"]["neuron_update"] == pytest.approx(9 * 11e-12)
    assert m["term_parts"]["memory"]["level"] == "8 KB cache"
    assert m["term_parts"]["memory"]["accesses"] == {"sop": 12, "neuron_update": 90, "spike": 10}
    assert m["terms"]["memory"] == pytest.approx(112 * 10e-12)
    assert m["arithmetic_joules"] == pytest.approx(3.6e-12 + 99e-12)
    assert m["energy_joules"] == pytest.approx(3.6e-12 + 99e-12 + 1120e-12)
    assert m["term_status"] == {"synaptic": "modelled", "neuron_update": "modelled",
                                "routing": "included", "memory": "modelled",
                                "static": "not modelled"}
    assert m["terms"]["static"] is None and m["terms"]["routing"] is None
    assert m["ann_energy_dense_joules"] == pytest.approx(27 * 4.6e-12)
    assert m["ann_energy_sparse_joules"] == pytest.approx(6 * 4.6e-12)
    # one weight read per MAC, both working sets in the 8 KB cache
    assert m["ann_memory_dense_joules"] == pytest.approx(27 * 10e-12)
    assert m["ann_memory_sparse_joules"] == pytest.approx(6 * 10e-12)
    assert m["cores"] is None and m["chips"] is None
    # active synapses 0->1 and 3->1: neuron 1 has fan-in 2, neurons 0 and 3 fan-out 1
    assert rep["max_fan_in"] == 2 and rep["max_fan_out"] == 1
    assert t["limits_exceeded"] == []
    json.dumps(rep, allow_nan=False)


# 8 neurons, 2 per core on a 2 x 2 mesh of one-core tiles (first-fit: cores {0,1} {2,3}
# {4,5} {6,7} at (0,0) (1,0) (0,1) (1,1)). Neuron 0 reaches its own core, core 1 (two
# synapses, one message) and core 3 (one E-W and one N-S hop); it spikes twice.
STAR = [(0, 1), (0, 2), (0, 3), (0, 7)]
MESHCHIP = TOY.replace('value = 2, unit = "synapses"', 'value = 10, unit = "synapses"') \
    .replace('cores_per_chip = {value = 1', 'cores_per_chip = {value = 4') + \
    """energy_per_spike_message = {value = 1.7, unit = "pJ", source = "test"}
energy_per_hop_ew = {value = 3.0, unit = "pJ", source = "test"}
energy_per_hop_ns = {value = 4.0, unit = "pJ", source = "test"}
mesh_tiles_x = {value = 2, unit = "tiles", source = "test"}
mesh_tiles_y = {value = 2, unit = "tiles", source = "test"}
"""


def star_network() -> SpikingNetwork:
    pre = [e[0] for e in STAR]
    post = [e[1] for e in STAR]
    w = sp.csr_matrix((np.full(len(STAR), 0.5), (post, pre)), shape=(8, 8))
    return SpikingNetwork(weights=w, input_weights=sp.csr_matrix((8, 1)), tau_mem=0.02,
                          tau_syn=0.005, v_threshold=1.0, bias=0.0, dt=1e-3)


def star_raster() -> np.ndarray:
    raster = np.zeros((3, 8), bool)
    raster[0, 0] = raster[2, 0] = raster[1, 5] = True
    return raster


def test_routing_term_by_hand(tmp_path):
    chip = _write_profile(tmp_path, MESHCHIP, "toy")
    rep = energy_report(star_network(), star_raster(), profiles=[chip],
                        mapping_strategy="first-fit")
    t = rep["profiles"]["toy"]
    r = t["routing"]
    assert (r["strategy"], r["spike_messages"], r["inter_core_spikes"]) == ("first-fit", 6, 4)
    assert (r["hops_ew"], r["hops_ns"], r["hop_count"], r["chip_hops"]) == (4, 2, 6, 0)
    # 6 messages x 1.7 pJ + 4 E-W hops x 3.0 pJ + 2 N-S hops x 4.0 pJ = 30.2 pJ
    assert r["parts_joules"] == {"messages": pytest.approx(10.2e-12),
                                 "hops_ew": pytest.approx(12e-12),
                                 "hops_ns": pytest.approx(8e-12)}
    assert t["terms"]["routing"] == pytest.approx(30.2e-12)
    assert t["term_status"]["routing"] == "modelled" and "routing" not in t["term_notes"]
    # synaptic 4 SOPs (two spikes x fan-out 4) x 1 pJ; updates 8 x 3 x 10 pJ + 3 spikes x 100 pJ
    assert t["energy_joules"] == pytest.approx(8e-12 + 240e-12 + 300e-12 + 30.2e-12
                                               + 1e-3 * 1 * 3e-3)
    # The partition puts 0 with its targets where capacity allows: never more messages.
    part = energy_report(star_network(), star_raster(), profiles=[chip])["profiles"]["toy"]
    assert part["routing"]["strategy"] == "partition"
    assert part["routing"]["inter_core_spikes"] <= 4


def test_chip_to_chip_crossings_are_counted(tmp_path):
    # Two cores per chip: neuron 0's messages to cores 1 and 3 leave chip 0 once (core 3).
    two_per_chip = MESHCHIP.replace('cores_per_chip = {value = 4', 'cores_per_chip = {value = 2') \
        .replace('mesh_tiles_y = {value = 2', 'mesh_tiles_y = {value = 1')
    chip = _write_profile(tmp_path, two_per_chip, "toy")
    t = energy_report(star_network(), star_raster(), profiles=[chip],
                      mapping_strategy="first-fit")["profiles"]["toy"]
    # chips side by side: core 3 is 3 E-W hops away and 1 chip crossing; twice
    assert t["routing"]["chip_hops"] == 2 and t["chips"] == 2
    assert t["routing"]["hops_ew"] == 2 * (1 + 3) and t["routing"]["hops_ns"] == 0
    assert "chip-to-chip: 2 chip crossing(s) counted" in t["term_notes"]["routing"]
    priced = _write_profile(tmp_path, two_per_chip + 'energy_per_chip_hop = {value = 50, '
                                                     'unit = "pJ", source = "test"}\n', "toy")
    t2 = energy_report(star_network(), star_raster(), profiles=[priced],
                       mapping_strategy="first-fit")["profiles"]["toy"]
    assert t2["terms"]["routing"] - t["terms"]["routing"] == pytest.approx(2 * 50e-12)


def test_shipped_profiles_list_every_term():
    from lnp_neuro.hardware.profiles import ENERGY_TERMS
    rep = energy_report(network(True), RASTER)
    for name, entry in rep["profiles"].items():
        assert list(entry["terms"]) == list(ENERGY_TERMS), name
        for term, value in entry["terms"].items():
            if value is None:
                assert entry["term_status"][term] in ("included", "not modelled"), (name, term)
                assert entry["term_notes"][term], (name, term)
            else:
                assert entry["term_status"][term] == "modelled"
    loihi = rep["profiles"]["loihi"]
    assert loihi["terms"]["static"] is None
    assert loihi["term_notes"]["static"].startswith("not modelled: ")
    assert loihi["terms"]["routing"] > 0


def test_user_profile_is_priced_beside_the_shipped_ones(tmp_path):
    from lnp_neuro.hardware.energy import profiles_for_target
    from lnp_neuro.hardware.profiles import list_profiles
    user = _write_profile(tmp_path, TOY.replace('"toy"', '"smallcore"'), "smallcore")
    profiles = profiles_for_target(user)
    assert [p.name for p in profiles] == list_profiles() + ["smallcore"]
    rep = energy_report(network(True), RASTER, profiles=profiles)
    assert rep["profiles"]["smallcore"]["terms"]["synaptic"] == pytest.approx(4e-12)
    # a shipped profile as the target: no duplicate
    assert [p.name for p in profiles_for_target(load_profile("loihi"))] == list_profiles()
    clash = _write_profile(tmp_path, TOY.replace('"toy"', '"loihi"'), "loihi")
    with pytest.raises(ValueError, match="shipped profile's name but the numbers differ"):
        profiles_for_target(clash)


def test_energy_report_flags_fan_in_beyond_the_chip(tmp_path):
    tight = _write_profile(tmp_path, TOY + 'max_fan_in = {value = 1, unit = "synapses", '
                                          'source = "test"}\n')
    rep = energy_report(network(True), RASTER, profiles=[tight])
    assert rep["profiles"]["toy"]["limits_exceeded"] == ["max_fan_in 2 > 1"]


def test_energy_report_inputs_and_overrides(tmp_path):
    toy = _write_profile(tmp_path, TOY)
    inputs = np.array([[1, 0], [1, 1], [0, 0]], dtype=bool)
    rep = energy_report(network(True), RASTER, profiles=[toy], input_spikes=inputs,
                        cores_used=5, seconds_per_step=1e-6)
    # input 0 reaches neurons {0, 2}, input 1 {1, 2}; neuron 2 is pruned: fan-out 1 each.
    assert rep["sops_input"] == 3
    t = rep["profiles"]["toy"]
    assert t["sops_priced"] == 4 + 3
    assert t["cores"] == 5 and t["chips"] == 5
    assert t["terms"]["static"] == pytest.approx(1e-3 * 5 * 3e-6)


def test_energy_report_default_profiles_are_all_shipped_ones():
    from lnp_neuro.hardware.profiles import list_profiles
    rep = energy_report(network(True), RASTER)
    assert sorted(rep["profiles"]) == list_profiles()
    loihi = rep["profiles"]["loihi"]
    assert loihi["terms"]["synaptic"] == pytest.approx(4 * 23.6e-12)
    assert all(math.isfinite(p["energy_joules"]) for p in rep["profiles"].values())


def test_energy_report_rejects_mismatched_baseline():
    short = RASTER[:2]
    with pytest.raises(ValueError, match="same input"):
        energy_report(network(True), RASTER, profiles="cpu-mac", baseline=(network(False), short))
    with pytest.raises(ValueError, match="baseline"):
        energy_report(network(True), RASTER, profiles="cpu-mac", baseline=network(False))
    with pytest.raises(ValueError, match="SpikingNetwork"):
        energy_report("net", RASTER)


def test_energy_report_rejects_input_of_other_length():
    with pytest.raises(ValueError, match="input_spikes"):
        energy_report(network(True), RASTER, profiles="cpu-mac",
                      input_spikes=np.zeros((2, 2), bool))
    with pytest.raises(ValueError, match="seconds_per_step"):
        energy_report(network(True), RASTER, profiles="cpu-mac", seconds_per_step=0)
    with pytest.raises(ValueError, match="mapping_strategy must be one of first-fit, partition"):
        energy_report(network(True), RASTER, profiles="cpu-mac", mapping_strategy="best")



@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12), st.integers(1, 15), st.integers(0, 2**32 - 1))
def test_count_properties(n, steps, seed):
    """Against a direct double loop; masks only remove SOPs; counts add over time splits."""
    rng = np.random.default_rng(seed)
    w = sp.csr_matrix(rng.random((n, n)) < 0.4, dtype=float)
    n_act = rng.random(n) < 0.7
    s_act = rng.random(w.nnz) < 0.7
    raster = rng.random((steps, n)) < 0.3
    dense = count_sops(raster, w, model="dense")
    masked = count_sops(raster, w, n_act, s_act)
    coo = w.tocoo()
    order = np.lexsort((coo.col, coo.row))   # canonical CSR order: by post, then pre
    post, pre = coo.row[order], coo.col[order]
    expected = sum(int(raster[t, pre[k]]) for t in range(steps) for k in range(len(pre))
                   if n_act[pre[k]] and s_act[k] and n_act[post[k]])
    assert masked == expected <= dense == int(raster[:, pre].sum())
    cut = steps // 2
    assert masked == (count_sops(raster[:cut], w, n_act, s_act)
                      + count_sops(raster[cut:], w, n_act, s_act))


def test_report_lists_every_term_and_draws_the_core_traffic(tmp_path):
    """The HTML report: every term of every profile, and the traffic heat map."""
    from lnp_neuro.hardware.mapping import core_limits, map_to_cores
    from lnp_neuro.report.render import write_report
    chip = _write_profile(tmp_path, MESHCHIP, "toy")
    net, raster = star_network(), star_raster()
    mapping = map_to_cores(net, core_limits(chip), "first-fit", spikes=raster)
    acc = energy_report(net, raster, profiles=["loihi", "cpu-mac", "truenorth", chip],
                        mapping_strategy="first-fit", mappings={"toy": mapping})
    run = tmp_path / "run"
    run.mkdir()
    (run / "report.json").write_text(json.dumps({
        "label": "star", "profile": "toy", "steps": 3, "dt": 1e-3,
        "energy_joules": acc["profiles"]["toy"]["energy_joules"],
        "energy_by_profile": {k: v["energy_joules"] for k, v in acc["profiles"].items()},
        "energy": acc, "mapping": mapping.summary()}, allow_nan=False))
    write_report(run, tmp_path / "out")
    md = (tmp_path / "out" / "report.md").read_text()
    md = md[md.index("## Runs side by side"):]   # after the headline's row per run
    rows = [line for line in md.splitlines() if line.startswith("| star | ")]
    # one term row per profile, the target marked; every cell filled
    assert [r.split(" | ")[1] for r in rows] == ["loihi", "cpu-mac", "truenorth", "toy (target)"]
    cells = {r.split(" | ")[1]: r.split(" | ")[2:] for r in rows}
    assert cells["truenorth"][1:5] == ["included"] * 4
    assert cells["cpu-mac"][2] == "included" and cells["cpu-mac"][4] == "not modelled"
    assert cells["loihi"][4] == "not modelled" and cells["loihi"][3] == "included"
    assert "routing term (J)" in md and "arithmetic only (J)" in md
    assert "loihi, static: not modelled: " in md
    assert "| inter-core spike messages | 4 |" in md and "| mesh hops | 6 |" in md
    assert "| spike latency, max (ns) | n/a |" in md     # the toy has no latencies
    heat = tmp_path / "out" / "core_traffic_star.png"
    assert heat.read_bytes().startswith(b"\x89PNG")
    assert "![Spike messages between cores, star (diagonal: within a core)]" in md
