"""lnp_neuro: task-agnostic Lyapunov Noise Pruning of recurrent spiking networks.

Framework-neutral core (network model, pruning, energy accounting) plus back ends that
run a pruned network: a native CPU simulator exact to Lava's arithmetic, Lava itself
(Loihi 2 semantics on the CPU) and norse, with NIR as the interchange.
"""

from .network import SpikingNetwork
from . import models

__version__ = "0.1.0"

__all__ = ["SpikingNetwork", "models", "__version__"]
