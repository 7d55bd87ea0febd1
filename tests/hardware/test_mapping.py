"""Placement of neurons and synapses onto cores under a profile's limits, and the spike
traffic, hops and chip crossings of a raster on the placement."""

import numpy as np
import pytest
import scipy.sparse as sp

from lnp_neuro import SpikingNetwork, simulate
from lnp_neuro.hardware.mapping import (CoreLimits, MappingError, Routing, _repair, core_limits,
                                        core_positions, map_to_cores, route_spikes,
                                        spike_latency)
from lnp_neuro.hardware.profiles import load_profile
from lnp_neuro.model.build import chrsnn


def chain(fan_ins, cluster=None):
    """A network whose neuron i receives fan_ins[i] synapses (from distinct neurons)."""
    n = max(len(fan_ins), max(fan_ins) + 1)
    rows, cols = [], []
    for i, k in enumerate(fan_ins):
        pres = [j for j in range(n) if j != i][:k]
        rows += [i] * k
        cols += pres
    w = sp.csr_matrix((np.full(len(rows), 0.1), (rows, cols)), shape=(n, n))
    return SpikingNetwork(weights=w, input_weights=np.ones((n, 1)), tau_mem=0.02,
                          tau_syn=0.005, v_threshold=1.0, bias=0.0, cluster=cluster)


def test_first_fit_by_hand():
    net = chain([3, 3, 3, 1, 0])
    # 2 neurons or 6 synapses per core: cores {0,1} (6 syn), {2,3} (4), {4} (0)
    m = map_to_cores(net, CoreLimits("toy", neurons_per_core=2, synapses_per_core=6, cores_per_chip=8),
                     strategy="first-fit")
    assert m.core_of_neuron.tolist() == [0, 0, 1, 1, 2]
    assert m.neurons_on_core.tolist() == [2, 2, 1]
    assert m.synapses_on_core.tolist() == [6, 4, 0]
    s = m.summary()
    assert s["cores_used"] == 3 and s["chips_used"] == 1 and s["strategy"] == "first-fit"
    assert s["neuron_utilisation"] == pytest.approx(5 / 6)
    assert s["synapse_utilisation"] == pytest.approx(10 / 18)


def test_synapse_memory_closes_a_core():
    net = chain([3, 3, 3, 1, 0])
    m = map_to_cores(net, CoreLimits("toy", neurons_per_core=10, synapses_per_core=5, cores_per_chip=8),
                     strategy="first-fit")
    # 3 | 3 | 3+1+0
    assert m.core_of_neuron.tolist() == [0, 1, 2, 2, 2]


def test_pruned_neurons_and_synapses_take_no_space():
    net = chain([3, 3, 3, 1, 0]).copy(neuron_active=[True, False, True, True, True])
    for strategy in ("first-fit", "partition"):
        m = map_to_cores(net, CoreLimits("toy", neurons_per_core=10, synapses_per_core=100,
                                         cores_per_chip=1), strategy=strategy)
        assert m.core_of_neuron[1] == -1
        assert m.synapses_on_core.tolist() == [5]
    # synapses from or to neuron 1 no longer count: fan-ins 2 (from 2, 3), -, 2 (from 0, 3), 1, 0
    assert m.synapses_on_core.tolist() == [5]


def test_clusters_stay_contiguous():
    net = chrsnn(40, 4, seed=0).copy()
    shuffled = net.copy(cluster=np.random.default_rng(1).permutation(net.cluster))
    m = map_to_cores(shuffled, CoreLimits("toy", neurons_per_core=10, synapses_per_core=10**6,
                                          cores_per_chip=8), strategy="first-fit")
    for k in range(4):
        assert len(set(m.core_of_neuron[shuffled.cluster == k].tolist())) == 1


def test_every_broken_limit_is_named():
    net = chain([4, 1, 1, 1, 1])
    limits = CoreLimits("toychip", neurons_per_core=1, synapses_per_core=3, cores_per_chip=2,
                        max_fan_in=2, max_fan_out=1)
    with pytest.raises(MappingError) as err:
        map_to_cores(net, limits)
    text = str(err.value)
    assert "toychip" in text
    assert "max_fan_in 2 (neuron 0 has fan-in 4)" in text
    assert "max_fan_out 1" in text
    assert "synapses_per_core 3; neuron 0 has 4" in text


def test_too_many_cores():
    net = chain([1, 1, 1, 1, 1])
    with pytest.raises(MappingError, match=r"needs 5 cores but cores_per_chip 2 x max_chips 2 = 4"):
        map_to_cores(net, CoreLimits("toy", neurons_per_core=1, synapses_per_core=10,
                                     cores_per_chip=2, max_chips=2), strategy="first-fit")
    with pytest.raises(MappingError, match=r"needs 5 cores but cores_per_chip 2 x max_chips 2 = 4"):
        map_to_cores(net, CoreLimits("toy", neurons_per_core=1, synapses_per_core=10,
                                     cores_per_chip=2, max_chips=2), strategy="partition")


def test_limits_validation():
    with pytest.raises(ValueError, match="neurons_per_core must be a positive integer"):
        CoreLimits("x", neurons_per_core=0, synapses_per_core=1, cores_per_chip=1)
    with pytest.raises(ValueError, match="mesh_tiles_x and mesh_tiles_y go together"):
        CoreLimits("x", 1, 1, 1, mesh_tiles_x=2)
    with pytest.raises(ValueError, match="cannot hold 8 cores"):
        CoreLimits("x", 1, 1, 8, mesh_tiles_x=2, mesh_tiles_y=1, cores_per_tile=2)
    with pytest.raises(ValueError, match="strategy must be one of first-fit, partition"):
        map_to_cores(chain([1, 1]), CoreLimits("x", 1, 1, 2), strategy="random")


# ----------------------------------------------------------------- routing by hand
def network(edges, n):
    """Neurons 0..n-1 with the synapses pre -> post of ``edges`` (weight 0.1)."""
    pre = [e[0] for e in edges]
    post = [e[1] for e in edges]
    w = sp.csr_matrix((np.full(len(edges), 0.1), (post, pre)), shape=(n, n))
    return SpikingNetwork(weights=w, input_weights=np.ones((n, 1)), tau_mem=0.02,
                          tau_syn=0.005, v_threshold=1.0, bias=0.0)


# 8 neurons, 2 per core, first-fit: cores {0,1} {2,3} {4,5} {6,7}. On a 2 x 2 mesh of
# one-core tiles the cores sit at (0,0) (1,0) (0,1) (1,1).
# Neuron 0 reaches neuron 1 (own core), 2 and 3 (core 1: one message for both) and
# 7 (core 3, one E-W and one N-S hop). It spikes twice; neuron 5 spikes once, no synapses.
STAR = [(0, 1), (0, 2), (0, 3), (0, 7)]
MESH_2X2 = CoreLimits("mesh", neurons_per_core=2, synapses_per_core=10, cores_per_chip=4,
                      mesh_tiles_x=2, mesh_tiles_y=2)


def star_raster():
    raster = np.zeros((3, 8), bool)
    raster[0, 0] = raster[2, 0] = raster[1, 5] = True
    return raster


def test_hops_on_a_two_by_two_mesh_by_hand():
    m = map_to_cores(network(STAR, 8), MESH_2X2, strategy="first-fit", spikes=star_raster())
    assert m.core_of_neuron.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    r = m.routing
    # per spike of neuron 0: messages to cores 0, 1, 3
    assert r.traffic.tolist() == [[2, 2, 0, 2], [0] * 4, [0] * 4, [0] * 4]
    assert r.messages == 6 and r.inter_core_spikes == 4
    # to core 1: 1 E-W hop; to core 3: 1 E-W + 1 N-S; twice
    assert (r.total_hops_ew, r.total_hops_ns, r.hop_count) == (4, 2, 6)
    assert r.total_chip_hops == 0
    s = m.summary()
    assert (s["inter_core_spikes"], s["hop_count"], s["spike_messages"]) == (4, 6, 6)
    assert s["core_traffic"] == r.traffic.tolist()
    # latency: own core 2 ns, core 1 2 + 4, core 3 2 + 4 + 6 ns; mean over 6 messages
    lat = spike_latency(r, 2e-9, 4e-9, 6e-9)
    assert lat["max_seconds"] == pytest.approx(12e-9)
    assert lat["mean_seconds"] == pytest.approx((2 * 2 + 2 * 6 + 2 * 12) * 1e-9 / 6)


def test_two_cores_one_hop_by_hand():
    """The smallest mesh: two one-core tiles side by side, one synapse between them."""
    net = network([(0, 1)], 2)
    limits = CoreLimits("pair", 1, 10, 2, mesh_tiles_x=2, mesh_tiles_y=1)
    raster = np.array([[1, 0], [1, 1], [1, 0]], bool)   # neuron 0 spikes 3 times
    for strategy in ("first-fit", "partition"):
        r = map_to_cores(net, limits, strategy, spikes=raster).routing
        assert (r.inter_core_spikes, r.total_hops_ew, r.total_hops_ns) == (3, 3, 0)


def test_chips_join_edge_to_edge():
    # 4 cores, 2 per chip (a 2 x 1 mesh each): chips 0 and 1 side by side, so core 3 is
    # 3 E-W hops from core 0 and one chip crossing away.
    limits = CoreLimits("chips", 1, 10, cores_per_chip=2, mesh_tiles_x=2, mesh_tiles_y=1)
    x, y, cx, cy = core_positions(4, limits)
    assert x.tolist() == [0, 1, 2, 3] and y.tolist() == [0, 0, 0, 0]
    assert cx.tolist() == [0, 0, 1, 1] and cy.tolist() == [0, 0, 0, 0]
    net = network([(0, 3), (0, 1)], 4)
    raster = np.zeros((2, 4), bool)
    raster[:, 0] = True
    m = map_to_cores(net, limits, "first-fit", spikes=raster)
    assert m.chips_used == 2
    r = m.routing
    assert (r.inter_core_spikes, r.total_hops_ew, r.total_chip_hops) == (4, 2 * (1 + 3), 2)
    # five chips: a grid 3 wide, chip 3 on the second row
    x, y, cx, cy = core_positions(10, limits)
    assert (cx[6], cy[6], x[6], y[6]) == (0, 1, 0, 1)


def test_route_spikes_counts_only_the_and_mask():
    net = network(STAR, 8)
    keep = np.ones(net.weights.nnz, bool)
    keep[np.flatnonzero(net.weights.indices == 0)[-1]] = False   # drop 0 -> 7 (row 7)
    pruned = net.copy(synapse_active=keep)
    core_of = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    r = route_spikes(pruned, core_of, 4, star_raster())
    assert r.traffic[0].tolist() == [2, 2, 0, 0] and r.hop_count is None
    with pytest.raises(ValueError, match="raster"):
        route_spikes(net, core_of, 4, np.zeros((2, 3), bool))


# ------------------------------------------------------------------ partitioning
def interleaved_cliques(n: int = 16) -> SpikingNetwork:
    """Two all-to-all cliques, even and odd neurons: first-fit in index order mixes them."""
    edges = [(i, j) for parity in (0, 1) for i in range(parity, n, 2)
             for j in range(parity, n, 2) if i != j]
    return network(edges, n)


def test_partition_separates_what_first_fit_mixes():
    net = interleaved_cliques(16)
    raster = np.ones((5, 16), bool)
    limits = CoreLimits("half", 8, 1000, 2, mesh_tiles_x=2, mesh_tiles_y=1)
    first = map_to_cores(net, limits, "first-fit", spikes=raster)
    part = map_to_cores(net, limits, "partition", spikes=raster, seed=3)
    # first-fit: 0..7 | 8..15, every neuron has clique mates on the other core
    assert first.routing.inter_core_spikes == 16 * 5
    # partition: one clique per core, nothing crosses
    assert part.routing.inter_core_spikes == 0 and part.routing.hop_count == 0
    assert sorted(part.neurons_on_core.tolist()) == [8, 8]
    assert len(set(part.core_of_neuron[::2].tolist())) == 1
    assert part.summary()["strategy"] == "partition"


def test_partition_is_deterministic_and_respects_capacity():
    net = chrsnn(120, 3, seed=2, n_inputs=6)
    raster = simulate(net, np.random.default_rng(0).random((150, 6)) < 0.1).spikes
    limits = CoreLimits("small", 50, 800, 4)
    a = map_to_cores(net, limits, "partition", spikes=raster, seed=5)
    b = map_to_cores(net, limits, "partition", spikes=raster, seed=5)
    assert np.array_equal(a.core_of_neuron, b.core_of_neuron)
    assert a.neurons_on_core.max() <= 50 and a.synapses_on_core.max() <= 800
    assert a.neurons_on_core.sum() == 120
    fan_in = np.bincount(net.synapse_pre_post()[1], minlength=120)
    assert a.synapses_on_core.tolist() == np.bincount(a.core_of_neuron, weights=fan_in).tolist()


def test_repair_moves_overflow_to_the_best_core():
    # Path 0-1-2-3 (edge weights 5, 1, 5): all on core 0 of 2, two neurons per core.
    graph = sp.csr_matrix(np.array([[0, 5, 0, 0], [5, 0, 1, 0], [0, 1, 0, 5], [0, 0, 5, 0]]))
    parts = _repair(np.zeros(4, np.int64), 2, graph, np.zeros(4, np.int64),
                    CoreLimits("r", 2, 10, 2))
    # The first move costs 5 (an end of the path, the cheapest), the second gains 4 back:
    # {0, 1} | {2, 3}, only the weight-1 edge cut.
    assert parts[0] == parts[1] != parts[2] == parts[3]
    assert _repair(np.zeros(3, np.int64), 1, graph[:3, :3], np.zeros(3, np.int64),
                   CoreLimits("r", 2, 10, 1)) is None


def test_chrsnn_400_partition_sends_fewer_inter_core_spikes():
    """The issue's case: a 4-cluster CHRSNN of 400 neurons on 128-neuron cores."""
    net = chrsnn(400, 4, seed=0, n_inputs=48)
    raster = simulate(net, np.random.default_rng(0).random((300, 48)) < 0.05, mode="fixed").spikes
    limits = CoreLimits("smallcore", 128, 131072, 128, cores_per_tile=4, mesh_tiles_x=8,
                        mesh_tiles_y=4)
    first = map_to_cores(net, limits, "first-fit", spikes=raster)
    part = map_to_cores(net, limits, "partition", spikes=raster, seed=0)
    assert first.cores_used == part.cores_used == 4
    assert part.routing.inter_core_spikes < first.routing.inter_core_spikes
    assert part.routing.messages < first.routing.messages


def test_core_limits_from_profiles():
    loihi = core_limits(load_profile("loihi"))
    assert (loihi.neurons_per_core, loihi.cores_per_chip, loihi.cores_per_tile,
            loihi.mesh_tiles_x, loihi.mesh_tiles_y) == (1024, 128, 4, 8, 4)
    assert loihi.max_chips is None        # a larger network spans chips
    assert core_limits(load_profile("cpu-mac")) is None
    assert not core_limits(load_profile("spinnaker2")).has_mesh
    with pytest.raises(ValueError, match="no router mesh"):
        core_positions(2, core_limits(load_profile("spinnaker2")))
    with pytest.raises(ValueError, match="square"):
        Routing(np.zeros((2, 3)))
