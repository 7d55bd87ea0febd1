"""``DelayLines``: a Lava process that forwards spikes of neurons and inputs late by whole steps.

Why: a projection of ``d > 1`` steps is a ``Sparse`` process (one step) fed by its source
``d - 1`` steps late (:mod:`lnp_neuro.engines.delays`). This process receives the neurons'
spikes ``s[t]`` (``s_in``) and the inputs ``x[t]`` (``x_in``) at step ``t`` and sends, in
the same step, one stacked vector of blocks::

    z[t] = [ src_0[t - lag_0], src_1[t - lag_1], ... ]     (0 before the first step)

``src_k`` being ``s`` or ``x`` (``sources[k]`` 0 or 1). ``lag = 0`` passes the spikes on
unchanged, which cannot deadlock a recurrent loop: the LIF sends ``s[t]`` before it needs
anything of step ``t + 1``, and every Sparse sends its buffered activation before it
receives. An unconnected ``x_in`` reads as zeros (a network without inputs).

This module imports only numpy and Lava, and uses no relative import: Lava's compiler
executes it a second time as a stand-alone file while it looks for process models.
"""

import numpy as np
from lava.magma.core.decorator import implements, requires
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

__all__ = ["DelayLines", "PyDelayLinesModel"]


class DelayLines(AbstractProcess):
    """Stacked, lagged copies of ``n_neurons`` spikes and ``n_inputs`` input spikes.

    ``sources`` (0: neurons, 1: inputs) and ``lags`` (steps >= 0) give the blocks of
    ``z_out`` in order (module docstring).
    """

    def __init__(self, *, n_neurons: int, n_inputs: int, sources, lags, **kwargs):
        sources = [int(s) for s in sources]
        lags = [int(g) for g in lags]
        if len(sources) != len(lags) or not sources or min(lags) < 0:
            raise ValueError("DelayLines needs one source and one lag >= 0 per block")
        sizes = [int(n_neurons) if s == 0 else int(n_inputs) for s in sources]
        super().__init__(n_neurons=int(n_neurons), n_inputs=int(n_inputs),
                         sources=sources, lags=lags, **kwargs)
        self.s_in = InPort(shape=(max(int(n_neurons), 1),))
        self.x_in = InPort(shape=(max(int(n_inputs), 1),))
        self.z_out = OutPort(shape=(max(sum(sizes), 1),))
        depth = max(lags) + 1
        self.s_hist = Var(shape=(depth, max(int(n_neurons), 1)), init=0)
        self.x_hist = Var(shape=(depth, max(int(n_inputs), 1)), init=0)


@implements(proc=DelayLines, protocol=LoihiProtocol)
@requires(CPU)
class PyDelayLinesModel(PyLoihiProcessModel):
    """CPU model of :class:`DelayLines`, for fixed and floating point alike: row
    ``t mod depth`` of each history holds step ``t``'s spikes."""

    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    x_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    z_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    s_hist: np.ndarray = LavaPyType(np.ndarray, float)
    x_hist: np.ndarray = LavaPyType(np.ndarray, float)

    def run_spk(self):
        t = self.time_step - 1
        depth = self.s_hist.shape[0]
        self.s_hist[t % depth] = np.asarray(self.s_in.recv()) != 0
        self.x_hist[t % depth] = np.asarray(self.x_in.recv()) != 0
        n, n_in = self.proc_params["n_neurons"], self.proc_params["n_inputs"]
        blocks = []
        for source, lag in zip(self.proc_params["sources"], self.proc_params["lags"]):
            hist, size = (self.s_hist, n) if source == 0 else (self.x_hist, n_in)
            if t - lag >= 0:
                blocks.append(hist[(t - lag) % depth, :size])
            else:
                blocks.append(np.zeros(size))
        z = np.concatenate(blocks) if blocks else np.zeros(0)
        out = np.zeros(self.z_out.shape)
        out[: z.size] = z
        self.z_out.send(out)
