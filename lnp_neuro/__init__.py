"""lnp_neuro: task-agnostic Lyapunov Noise Pruning of recurrent spiking networks.

Framework-neutral core (network model, pruning, energy accounting) plus back ends that
run a pruned network: a native CPU simulator exact to Lava's arithmetic, Lava itself
(Loihi 2 semantics on the CPU) and norse, with NIR as the interchange.

One call deploys a network as ``lnp-deploy`` does (:mod:`lnp_neuro.api`)::

    run = lnp_neuro.run_deployment(target="cpu", prune="lnp", neurons=200)
    run.save("runs/lnp")                       # the folder lnp-deploy --out runs/lnp writes
    lnp_neuro.compare([run, other], out="runs/comparison")

``simulate``, ``lnp`` and the API are imported on first use: the simulator compiles numba
kernels and the pruning pulls in networkx/igraph, which a plain ``import lnp_neuro``
should not pay.
"""

from .engines._numba_cache import ensure_cache_dir as _ensure_numba_cache_dir

_ensure_numba_cache_dir()  # before any numba kernel is defined (runs without a writable HOME)

from .model import build as models  # noqa: E402
from .model.network import SpikingNetwork  # noqa: E402

__version__ = "0.1.0"

__all__ = ["SpikingNetwork", "models", "simulate", "lnp", "run_deployment", "compare",
           "Deployment", "DeployInputError", "__version__"]

_API = ("run_deployment", "compare", "Deployment", "Comparison", "DeployInputError")


def __getattr__(name: str):
    if name == "simulate":
        from .engines.simulator import simulate
        return simulate
    if name == "lnp":
        from .prune.pipeline import lnp
        return lnp
    if name in _API:
        from . import api
        return getattr(api, name)
    raise AttributeError(f"module 'lnp_neuro' has no attribute {name!r}")
