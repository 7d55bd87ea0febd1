"""Training of (pruned) recurrent SNNs: surrogate-gradient BP and unsupervised STDP.

- :mod:`.torch_snn`: the network's exact discrete dynamics as a torch module with a
  SuperSpike surrogate gradient (Zenke & Ganguli 2018).
- :mod:`.bp`: supervised BPTT through the SNN + betweenness-selected readout (design section 1, 4).
- :mod:`.stdp`: pair-based STDP (Song, Miller & Abbott 2000) + supervised readout.
"""

from .torch_snn import SNNState, SuperSpike, TorchSNN, limit_torch_threads, superspike
from .bp import (PredictorState, SpikingPredictor, SurrogateGradientBP, TraceReadout,
                 select_readout_neurons)
from .stdp import PairSTDP, STDPTrainer, pair_stdp_update, spike_traces

__all__ = [
    "SNNState", "SuperSpike", "TorchSNN", "limit_torch_threads", "superspike",
    "PredictorState", "SpikingPredictor", "SurrogateGradientBP", "TraceReadout",
    "select_readout_neurons",
    "PairSTDP", "STDPTrainer", "pair_stdp_update", "spike_traces",
]
