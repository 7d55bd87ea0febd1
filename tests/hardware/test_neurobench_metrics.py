"""Our NeuroBench metrics against NeuroBench's own metric code on the PyTorch twin."""

import numpy as np
import pytest

from lnp_neuro.engines.simulator import simulate
from lnp_neuro.hardware.neurobench import neurobench_metrics
from lnp_neuro.model.build import hrsnn

torch = pytest.importorskip("torch")
nb_workload = pytest.importorskip("neurobench.metrics.workload")
nb_static = pytest.importorskip("neurobench.metrics.static")
from neurobench.models import TorchModel  # noqa: E402


class _Twin(torch.nn.Module):
    """The network as NeuroBench sees it: an input and a recurrent Linear layer over the
    active neurons, a spiking nonlinearity, four float32 parameters per neuron. It replays
    a recorded run: at step t the recurrent layer reads the spikes of step t."""

    def __init__(self, net):
        super().__init__()
        active = np.flatnonzero(net.neuron_active)
        w = net.effective_weights().toarray()[np.ix_(active, active)]
        w_in = net.effective_input_weights().toarray()[active]
        self.active = active
        self.inp = torch.nn.Linear(w_in.shape[1], active.size, bias=False)
        self.rec = torch.nn.Linear(active.size, active.size, bias=False)
        with torch.no_grad():
            self.inp.weight.copy_(torch.tensor(w_in, dtype=torch.float32))
            self.rec.weight.copy_(torch.tensor(w, dtype=torch.float32))
        self.spike = torch.nn.ReLU()
        for name in ("du", "dv", "v_threshold", "bias"):
            value = np.asarray(getattr(net, name), dtype=np.float64)[active]
            self.register_buffer(name, torch.tensor(value, dtype=torch.float32))

    def forward(self, batch):
        n_in = self.inp.in_features
        for t in range(batch.shape[1]):
            self.inp(batch[:, t, :n_in])
            s = self.spike(batch[:, t, n_in:])
            self.rec(s)
        return batch[:, -1, n_in:]


def _pruned_run(seed=0):
    net = hrsnn(60, 0.2, seed=seed, n_inputs=6)
    rng = np.random.default_rng(seed)
    net.neuron_active[rng.choice(60, 9, replace=False)] = False
    net.synapse_active[rng.random(net.synapse_active.size) < 0.3] = False
    x = rng.random((150, 6)) < 0.2
    spikes = simulate(net, x, mode="float").spikes
    return net, x, spikes


def test_metrics_equal_neurobench_on_the_twin():
    net, x, spikes = _pruned_run()
    twin = _Twin(net)
    model = TorchModel(twin)
    model.register_hooks()
    batch = torch.tensor(np.hstack([x, spikes[:, twin.active]])[None], dtype=torch.float32)
    preds = model(batch)
    data = (batch, preds)
    theirs_sops = nb_workload.SynapticOperations()(model, preds, data)
    theirs_act = nb_workload.ActivationSparsity()(model, preds, data)
    theirs_conn = nb_static.ConnectionSparsity()(model)
    theirs_foot = nb_static.Footprint()(model)
    ours = neurobench_metrics(net, spikes, x)
    assert ours["synaptic_operations"]["effective_acs"] == theirs_sops["Effective_ACs"]
    assert theirs_sops["Effective_MACs"] == 0
    assert ours["activation_sparsity"] == pytest.approx(theirs_act, abs=1e-12)
    # NeuroBench rounds connection sparsity to 4 decimals.
    assert round(ours["connection_sparsity"], 4) == theirs_conn
    assert ours["footprint_bytes"] == theirs_foot
    assert 0 < ours["synaptic_operations"]["recurrent"] < ours["synaptic_operations"]["effective_acs"]


def test_pruned_spikes_and_synapses_do_not_count():
    net, x, spikes = _pruned_run(1)
    base = neurobench_metrics(net, spikes, x)
    # Spikes in a pruned neuron's column change nothing.
    noisy = spikes.copy()
    noisy[:, np.flatnonzero(~net.neuron_active)] = True
    assert neurobench_metrics(net, noisy, x) == base
    # Pruning one more synapse of a neuron that fires lowers the count by its spikes.
    pre, post = net.synapse_pre_post()
    live = np.flatnonzero(net.synapse_and_mask() & (spikes[:, pre].sum(axis=0) > 0))
    k = live[0]
    net.synapse_active[k] = False
    after = neurobench_metrics(net, spikes, x)["synaptic_operations"]["recurrent"]
    assert base["synaptic_operations"]["recurrent"] - after == spikes[:, pre[k]].sum()
    with pytest.raises(ValueError, match="input_spikes must be"):
        neurobench_metrics(net, spikes, x[:-1])
