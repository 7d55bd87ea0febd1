"""``LIFResetKinds``: Lava's LIF with a per-neuron reset (to zero or by subtraction) and
non-spiking neurons.

Lava 0.10's ``LIF`` resets a spiking neuron's ``v`` to 0 and has no neuron that never
spikes. The populations of a :class:`~lnp_neuro.model.network.SpikingNetwork` can also hold
neurons that reset by subtraction (snnTorch's default) and non-spiking readouts (NIR's
``LI`` and ``Integrator``). This process adds two per-neuron Vars, ``reset_subtract`` and
``spiking`` (0/1), and a per-neuron ``vth``; everything else is Lava's ``LIF``.

The process models subclass Lava's own abstract LIF models
(``lava.proc.lif.models.AbstractPyLifModelFloat`` / ``AbstractPyLifModelFixed``): the
synaptic input, the sub-threshold update ``subthr_dynamics``, the bias and threshold
scaling and the step order of ``run_spk`` are Lava's arithmetic unchanged. Only
``spiking_activation`` and ``reset_voltage`` are overridden, per neuron::

    floating_pt:  s = (v > vth) & spiking
                  v <- v - vsub  where s & reset_subtract   (vsub: vth where reset_amount 0)
                  v <- 0         where s & ~reset_subtract
    fixed_pt:     s = (v > (vth << 6)) & spiking        (Lava's PyLifModelBitAcc)
                  v <- v - vsub  where s & reset_subtract   (vsub: vth << 6 where 0)
                  v <- 0         where s & ~reset_subtract

``reset_amount`` (per neuron, ``v`` units; 0: the threshold) is what a spike subtracts:
the threshold, or snnTorch's delayed subtraction ``v_threshold / beta``
(:class:`lnp_neuro.model.population.Population`).

A non-spiking neuron is never reset: its ``v`` keeps integrating (and saturates at the
24-bit limits in fixed point, as Lava's sub-threshold update clips it). The subtraction
uses the threshold the spike was compared with unless ``reset_amount`` is set, so in
fixed point ``v`` stays an integer of the same 24-bit range (``v < 2**23`` before,
``0 < vsub < 2**23``).
A neuron with ``tau_mem = inf`` needs nothing here: its ``dv`` is 0 and Lava's decay
factor ``1 - dv`` (float) or ``4096 - dv`` (fixed, ``dm_offset = 0``) keeps ``v`` exact.

This module imports only numpy and Lava, and uses no relative import: Lava's compiler
executes it a second time as a stand-alone file while it looks for process models.
"""

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.variable import Var
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava.proc.lif.models import AbstractPyLifModelFixed, AbstractPyLifModelFloat
from lava.proc.lif.process import AbstractLIF

__all__ = ["LIFResetKinds", "PyLIFResetKindsFloat", "PyLIFResetKindsBitAcc"]


class LIFResetKinds(AbstractLIF):
    """Lava's LIF with per-neuron ``vth``, ``reset_subtract`` and ``spiking`` Vars.

    Parameters as Lava's ``LIF`` (``shape``, ``u``, ``v``, ``du``, ``dv``, ``bias_mant``,
    ``bias_exp``, ``vth``), plus ``reset_subtract`` (0/1 per neuron: a spike subtracts
    the threshold from ``v`` instead of setting it to 0) and ``spiking`` (0/1 per
    neuron: 0 for a neuron that never spikes nor resets) and ``reset_amount`` (what a
    spike subtracts where ``reset_subtract``; 0: the threshold). Defaults: reset to zero,
    every neuron spiking, i.e. Lava's LIF.
    """

    def __init__(self, *, shape, u=0, v=0, du=0, dv=0, bias_mant=0, bias_exp=0, vth=10,
                 reset_subtract=0, spiking=1, reset_amount=0, name=None, log_config=None,
                 **kwargs):
        super().__init__(shape=shape, u=u, v=v, du=du, dv=dv, bias_mant=bias_mant,
                         bias_exp=bias_exp, name=name, log_config=log_config, **kwargs)
        self.vth = Var(shape=shape, init=vth)
        self.reset_subtract = Var(shape=shape,
                                  init=np.broadcast_to(np.asarray(reset_subtract) != 0,
                                                       shape).astype(np.int32))
        self.spiking = Var(shape=shape,
                           init=np.broadcast_to(np.asarray(spiking) != 0,
                                                shape).astype(np.int32))
        self.reset_amount = Var(shape=shape,
                                init=np.broadcast_to(np.asarray(reset_amount), shape).copy())


def _reset(v: np.ndarray, spiked: np.ndarray, subtract_flags: np.ndarray,
           threshold: np.ndarray, amount: np.ndarray) -> None:
    """In place: ``v -= amount`` (the threshold the spike was compared with where
    ``amount`` is 0) where spiked and subtracting, ``v = 0`` where spiked and resetting to
    zero."""
    spiked = np.asarray(spiked, dtype=bool)
    subtract = spiked & (np.asarray(subtract_flags) != 0)
    amount = np.broadcast_to(amount, v.shape)
    v[subtract] -= np.where(amount != 0, amount, np.broadcast_to(threshold, v.shape))[subtract]
    v[spiked & ~subtract] = 0


@implements(proc=LIFResetKinds, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyLIFResetKindsFloat(AbstractPyLifModelFloat):
    """Floating point model: Lava's ``PyLifModelFloat`` with the per-neuron spike and
    reset of the module docstring."""

    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    vth: np.ndarray = LavaPyType(np.ndarray, float)
    reset_subtract: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)
    spiking: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)
    reset_amount: np.ndarray = LavaPyType(np.ndarray, float)

    def spiking_activation(self):
        """``s = (v > vth) & spiking``."""
        return (self.v > self.vth) & (self.spiking != 0)

    def reset_voltage(self, spike_vector: np.ndarray):
        """``v - vsub`` (reset_subtract) or 0 where the neuron spiked."""
        _reset(self.v, spike_vector, self.reset_subtract, self.vth, self.reset_amount)


@implements(proc=LIFResetKinds, protocol=LoihiProtocol)
@requires(CPU)
@tag("bit_accurate_loihi", "fixed_pt")
class PyLIFResetKindsBitAcc(AbstractPyLifModelFixed):
    """Bit-accurate model: Lava's ``PyLifModelBitAcc`` (threshold ``vth << 6``) with the
    per-neuron spike and reset of the module docstring."""

    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    vth: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=17)
    reset_subtract: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)
    spiking: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)
    reset_amount: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.effective_vth = 0

    def scale_threshold(self):
        """``vth << 6``, as Lava's ``PyLifModelBitAcc.scale_threshold``."""
        self.effective_vth = np.left_shift(self.vth, self.vth_shift)
        self.isthrscaled = True

    def spiking_activation(self):
        """``s = (v > vth << 6) & spiking``."""
        return (self.v > self.effective_vth) & (self.spiking != 0)

    def reset_voltage(self, spike_vector: np.ndarray):
        """``v - vsub`` (reset_subtract; ``vth << 6`` by default) or 0 where the neuron
        spiked."""
        _reset(self.v, spike_vector, self.reset_subtract, self.effective_vth,
               self.reset_amount)
