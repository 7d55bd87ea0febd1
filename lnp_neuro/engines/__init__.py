"""Engines compile a network and run it (design section 6): the registry and the deployed
network every engine runs (:mod:`~lnp_neuro.engines.base`), the native event-driven
simulator and its numba kernels, the numpy reference, the fixed-point quantisation, Lava
and norse."""

from .base import (ENGINES, DeployedNetwork, Engine, EngineRun, get_engine, parity,
                   register_engine)

__all__ = ["DeployedNetwork", "EngineRun", "Engine", "ENGINES", "get_engine",
           "register_engine", "parity"]
