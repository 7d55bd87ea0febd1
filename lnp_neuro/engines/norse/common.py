"""Pieces both norse runners share: torch threads, argument checks, the zero state.

:mod:`lnp_neuro.engines.norse.network` runs a one-population graph and
:mod:`lnp_neuro.engines.norse.graph` a graph of any number of neuron nodes; both step a
``nirtorch`` executor one time step at a time from the project's initial state (every
current and potential 0) with the CubaLIF synaptic leak target set to 0 (NIR's
``tau_syn dI/dt = -I + w_in S``; norse relaxes ``I`` towards ``v_leak``). The reasons are
in :mod:`lnp_neuro.engines.norse.network`'s docstring (differences 1 and 2). torch and
norse are optional dependencies, imported inside the functions.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Iterable, Iterator

import numpy as np


@contextlib.contextmanager
def _torch_threads(n_threads: int) -> Iterator[None]:
    """torch intra-op threads set to ``n_threads`` inside the block, restored after."""
    import torch
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def _quiet_norse_import() -> Iterator[None]:
    """Silence the DeprecationWarnings of loading a graph into norse: norse 1.1.0 uses
    ``torch.jit.script`` and ``nirtorch.load``, both deprecated upstream."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def _check_n_threads(n_threads) -> None:
    if isinstance(n_threads, bool) or not isinstance(n_threads, (int, np.integer)) \
            or n_threads < 1:
        raise ValueError(f"n_threads must be a positive integer, got {n_threads!r}")


def _time_steps(n_steps: int, progress: bool) -> Iterable[int]:
    """``range(n_steps)``, behind a tqdm bar when ``progress``."""
    steps = range(n_steps)
    if progress:
        from tqdm import tqdm
        steps = tqdm(steps, desc="norse", unit="step")
    return steps


def _zero_synaptic_leak(cuba) -> None:
    """Set the synaptic leak target of norse's CubaLIF module to 0 (NIR's
    ``tau_syn dI/dt = -I + w_in S``; norse relaxes ``I`` towards ``v_leak``)."""
    from norse.torch.functional.leaky_integrator_box import LIBoxParameters
    p = cuba.synapse.p
    cuba.synapse.p = LIBoxParameters(tau_mem_inv=p.tau_mem_inv,
                                     v_leak=p.v_leak.new_zeros(p.v_leak.shape))


def _zero_state(kind: str, n: int):
    """The executor state of one neuron node at t = 0 with all currents and potentials
    zero (norse starts them at ``v_leak``; the project at 0)."""
    import torch
    from norse.torch.functional.iaf import IAFFeedForwardState
    from norse.torch.functional.leaky_integrator_box import LIBoxState
    from norse.torch.functional.lif_box import LIFBoxFeedForwardState
    zeros = torch.zeros(1, n, dtype=torch.float32)
    if kind == "CubaLIF":
        return ((LIBoxState(v=zeros.clone()), LIFBoxFeedForwardState(v=zeros.clone())),)
    if kind == "LIF":
        return (LIFBoxFeedForwardState(v=zeros.clone()),)
    if kind == "IF":
        return (IAFFeedForwardState(v=zeros.clone()),)
    if kind == "LI":
        return (LIBoxState(v=zeros.clone()),)
    return (zeros.clone(),)
