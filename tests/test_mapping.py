"""Placement of neurons and synapses onto cores under a profile's limits."""

import numpy as np
import pytest
import scipy.sparse as sp

from lnp_neuro import SpikingNetwork
from lnp_neuro.mapping import CoreLimits, MappingError, map_to_cores
from lnp_neuro.models import chrsnn


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
    m = map_to_cores(net, CoreLimits("toy", neurons_per_core=2, synapses_per_core=6, cores_per_chip=8))
    assert m.core_of_neuron.tolist() == [0, 0, 1, 1, 2]
    assert m.neurons_on_core.tolist() == [2, 2, 1]
    assert m.synapses_on_core.tolist() == [6, 4, 0]
    s = m.summary()
    assert s["cores_used"] == 3 and s["chips_used"] == 1
    assert s["neuron_utilisation"] == pytest.approx(5 / 6)
    assert s["synapse_utilisation"] == pytest.approx(10 / 18)


def test_synapse_memory_closes_a_core():
    net = chain([3, 3, 3, 1, 0])
    m = map_to_cores(net, CoreLimits("toy", neurons_per_core=10, synapses_per_core=5, cores_per_chip=8))
    # 3 | 3 | 3+1+0
    assert m.core_of_neuron.tolist() == [0, 1, 2, 2, 2]


def test_pruned_neurons_and_synapses_take_no_space():
    net = chain([3, 3, 3, 1, 0]).copy(neuron_active=[True, False, True, True, True])
    m = map_to_cores(net, CoreLimits("toy", neurons_per_core=10, synapses_per_core=100, cores_per_chip=1))
    assert m.core_of_neuron[1] == -1
    # synapses from or to neuron 1 no longer count: fan-ins 2 (from 2, 3), -, 2 (from 0, 3), 1, 0
    assert m.synapses_on_core.tolist() == [5]


def test_clusters_stay_contiguous():
    net = chrsnn(40, 4, seed=0).copy()
    shuffled = net.copy(cluster=np.random.default_rng(1).permutation(net.cluster))
    m = map_to_cores(shuffled, CoreLimits("toy", neurons_per_core=10, synapses_per_core=10**6, cores_per_chip=8))
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
                                     cores_per_chip=2, max_chips=2))


def test_limits_validation():
    with pytest.raises(ValueError, match="neurons_per_core must be a positive integer"):
        CoreLimits("x", neurons_per_core=0, synapses_per_core=1, cores_per_chip=1)
