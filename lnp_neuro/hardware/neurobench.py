"""NeuroBench's task-independent metrics of a deployed network and its run.

The names and definitions are NeuroBench's (Yik et al., "The neurobench framework for
benchmarking neuromorphic computing algorithms and systems", Nature Communications 16,
1545, 2025; package ``neurobench`` 2.3, ``neurobench.metrics``), applied to the network
as NeuroBench would see its PyTorch twin: a ``Linear(n_inputs -> N)`` input layer and a
``Linear(N -> N)`` recurrent layer over the ``N`` active neurons, whose spike outputs
feed the recurrent layer one step later.

* ``synaptic_operations``: NeuroBench's ``SynapticOperations`` with binary (spike)
  inputs: accumulate operations ``Effective_ACs = sum_t sum_j s_j[t] nnz(W[:, j])`` over
  both layers. Here the recurrent part is the AND-mask SOP count of
  :func:`lnp_neuro.hardware.energy.count_sops` (a pruned neuron's spikes and a pruned synapse never
  count), the input part the input-layer SOPs of :func:`lnp_neuro.hardware.energy.energy_report`. NeuroBench counts
  non-zero weights; a synapse whose weight is exactly 0 (for instance flushed by 8-bit
  quantisation) is still a synapse on the chip and is counted here.
  ``total`` (all ACs of the run) and ``per_step``.
* ``activation_sparsity``: ``1 - spikes / (N * T)``, zero activations over all
  activations of the spiking layer, over every step (NeuroBench ``ActivationSparsity``).
* ``connection_sparsity``: zero weights over all weights of the two layers,
  ``1 - (S_rec + S_in) / (N^2 + N n_inputs)`` (NeuroBench ``ConnectionSparsity``).
* ``footprint_bytes``: NeuroBench ``Footprint`` of the twin: every parameter and buffer
  in float32, i.e. ``4 (N^2 + N n_inputs + 4 N)`` bytes (the dense weight matrices and
  four per-neuron parameters: current and voltage decay, threshold, bias). It describes
  the dense PyTorch twin, not the chip's sparse synaptic memory.

``tests/hardware/test_neurobench_metrics.py`` checks every figure against NeuroBench's own metric
code run on the twin.
"""

from __future__ import annotations

import numpy as np

from ..model.network import SpikingNetwork

__all__ = ["neurobench_metrics", "NEUROBENCH_REFERENCE"]

NEUROBENCH_REFERENCE = ("Yik et al., Nature Communications 16, 1545 (2025); "
                        "neurobench 2.3 neurobench.metrics")

#: Per-neuron parameters of the twin (du, dv, v_threshold, bias).
_NEURON_PARAMETERS = 4


def neurobench_metrics(net: SpikingNetwork, spikes, input_spikes) -> dict:
    """NeuroBench's metrics of one run (module docstring).

    ``spikes [T, net.n_total_neurons]``: the raster (columns of pruned neurons are ignored);
    ``input_spikes [T, n_inputs]``: the drive of the same run.
    """
    from .energy import _input_sops, count_sops

    if not isinstance(net, SpikingNetwork):
        raise ValueError(f"net must be a SpikingNetwork, got {type(net).__name__}")
    s = np.asarray(spikes)
    x = np.asarray(input_spikes)
    if s.ndim != 2 or s.shape[1] != net.n_total_neurons:
        raise ValueError(f"spikes must be [T, {net.n_total_neurons}], got shape {s.shape}")
    if x.ndim != 2 or x.shape != (s.shape[0], net.n_inputs):
        raise ValueError(f"input_spikes must be [{s.shape[0]}, {net.n_inputs}], got shape "
                         f"{x.shape}")
    active = np.asarray(net.neuron_active, bool)
    n, n_in, steps = int(active.sum()), net.n_inputs, s.shape[0]
    recurrent = count_sops(s, net.weights, net.neuron_active, net.synapse_active)
    # Input synapses onto active neurons (rows of pruned neurons may hold stored entries).
    n_input_synapses = int(np.count_nonzero(active[np.repeat(
        np.arange(net.n_total_neurons), np.diff(net.input_weights.indptr))]))
    input_acs = _input_sops(net, x)
    total = recurrent + input_acs
    weights_total = n * n + n * n_in
    fired = int(np.count_nonzero(s[:, active]))
    return {
        "synaptic_operations": {"effective_acs": int(total), "effective_macs": 0,
                                "recurrent": int(recurrent), "input": int(input_acs),
                                "per_step": total / steps if steps else 0.0},
        "activation_sparsity": 1.0 - fired / (n * steps) if n and steps else 1.0,
        "connection_sparsity": (1.0 - (net.n_active_synapses + n_input_synapses) / weights_total
                                if weights_total else 1.0),
        "footprint_bytes": 4 * (weights_total + _NEURON_PARAMETERS * n),
        "reference": NEUROBENCH_REFERENCE,
    }
