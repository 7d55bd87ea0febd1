"""Spike-for-spike parity of lnp_neuro.engines.simulator with Lava (Loihi2SimCfg), both modes.

Each case builds random networks with excitatory and inhibitory weights, heterogeneous
du/dv/thresholds, biases of very different sizes (so several bias exponents occur in
fixed point), input spikes, and in one case pruning masks and a non-zero initial state.
Rasters must be non-trivial (some but not all neurons spike) so parity cannot pass
vacuously.
"""

import numpy as np
import pytest

from lnp_neuro import models
from lnp_neuro.engines.fixed_point import quantize
from lnp_neuro.engines.lava.backend import run_lava
from lnp_neuro.engines.simulator import simulate

STEPS = 500


def _heterogeneous(net, rng):
    n = net.n_total_neurons
    bias = rng.normal(0.0, 0.03, n)
    bias[rng.random(n) < 0.15] *= 12          # a few large biases: exponents 1..3
    return net.copy(v_threshold=rng.uniform(0.7, 2.5, n), bias=bias,
                    tau_syn=rng.uniform(1e-3, 12e-3, n))


def _case(name):
    rng = np.random.default_rng({"hrsnn": 11, "chrsnn": 12, "pruned": 13}[name])
    initial = None
    if name == "hrsnn":
        net = models.hrsnn(60, 0.15, seed=1, gain=1.5, input_scale=0.8, n_inputs=4)
    elif name == "chrsnn":
        net = models.chrsnn(80, 4, seed=2, intra_density=0.3, inter_density=0.03,
                            gain=1.8, input_scale=0.9, n_inputs=3)
    else:
        net = models.hrsnn(70, 0.2, seed=3, gain=2.0, input_scale=0.8, n_inputs=4)
    net = _heterogeneous(net, rng)
    if name == "pruned":
        net = net.copy(synapse_active=rng.random(net.weights.nnz) > 0.4,
                       neuron_active=rng.random(net.n_total_neurons) > 0.25)
        initial = {"v": rng.uniform(-0.5, 1.0, net.n_total_neurons),
                   "u": rng.normal(0, 0.2, net.n_total_neurons)}
    x = rng.random((STEPS, net.n_inputs)) < 0.12
    return net, x, initial


def _assert_nontrivial(spikes, net):
    fired = spikes[:, net.neuron_active].any(axis=0)
    assert 0 < fired.mean() < 1, f"{fired.mean():.2f} of the neurons fired"
    assert 0.001 < spikes[:, net.neuron_active].mean() < 0.5


@pytest.mark.parametrize("name", ["hrsnn", "chrsnn", "pruned"])
@pytest.mark.parametrize("mode", ["fixed", "float"])
def test_raster_equals_lava(name, mode):
    net, x, initial = _case(name)
    ours = simulate(net, x, mode=mode, initial_state=initial)
    _assert_nontrivial(ours.spikes, net)
    lava = run_lava(net, x, mode=mode, initial_state=initial)
    assert lava.shape == ours.spikes.shape
    mismatch = np.argwhere(lava != ours.spikes)
    assert mismatch.size == 0, f"first differing (step, neuron): {mismatch[:5].tolist()}"
    if mode == "fixed":
        q = quantize(net)
        assert len(set(q.bias_exp[net.neuron_active].tolist())) >= 2
        # several recurrent Sparse processes (one per weight exponent) in Lava
        assert len(set(q.weight_exp[net.neuron_active].tolist())) >= 2
        assert q.sign_mode == "mixed"
    if name == "pruned":
        assert not lava[:, ~net.neuron_active].any()


def test_backend_without_active_neurons_or_steps_does_not_start_lava():
    net, x, _ = _case("hrsnn")
    silent = net.copy(neuron_active=np.zeros(net.n_total_neurons, bool))
    assert not run_lava(silent, x[:10]).any()
    assert run_lava(net, x[:0]).shape == (0, net.n_total_neurons)


def test_backend_validates_its_arguments():
    net, x, _ = _case("hrsnn")
    with pytest.raises(ValueError, match="mode"):
        run_lava(net, x, mode="double")
    with pytest.raises(ValueError, match="input_spikes"):
        run_lava(net, x[:, :2])
    with pytest.raises(ValueError, match="input_spikes"):
        run_lava(net, x * 3)
    with pytest.raises(ValueError, match="initial_state"):
        run_lava(net, x[:5], initial_state={"w": 0.0})
    with pytest.raises(ValueError, match="net"):
        run_lava("net", x)


def test_fixed_parity_with_a_custom_quantisation():
    # Any FixedPointNetwork (here a coarser scale, 9 bits of headroom, one shared weight
    # exponent, i.e. a single recurrent Sparse) runs identically.
    net, x, _ = _case("chrsnn")
    q = quantize(net, headroom_bits=9, weight_exp="shared")
    assert q.scale == quantize(net).scale / 8 and len(set(q.weight_exp.tolist())) == 1
    ours = simulate(net, x, mode="fixed", quantization=q)
    _assert_nontrivial(ours.spikes, net)
    np.testing.assert_array_equal(run_lava(net, x, mode="fixed", quantization=q), ours.spikes)


@pytest.mark.parametrize("mode", ["fixed", "float"])
def test_lava_engine_runs_the_handed_over_graph(tmp_path, mode):
    """The hand-over: a pruned network compacted and written to network.nir, read back and
    run by the lava engine of the registry, agrees spike for spike with its parity
    reference (the native engine) and with the masked network's raster on the kept ids."""
    from lnp_neuro.deploy import hand_over
    from lnp_neuro.engines.base import get_engine, parity
    net, x, _ = _case("pruned")
    deployed = hand_over(net, tmp_path / "network.nir")
    kept = np.flatnonzero(net.neuron_active)
    np.testing.assert_array_equal(deployed.neuron_ids, kept)
    assert deployed.network.n_total_neurons == kept.size
    lava = get_engine("lava")
    run = lava.run(deployed, x, mode)
    reference = get_engine(lava.parity_reference).run(deployed, x, mode)
    assert reference.engine == "native"
    _assert_nontrivial(run.spikes, deployed.network)
    assert parity(run, reference) == 0
    np.testing.assert_array_equal(run.spikes, simulate(net, x, mode=mode).spikes[:, kept])
