"""``SpikeRecorder``: a Lava sink that stores a spike train 32 neurons to a word.

Why not Lava's ``Monitor``: reading a Var back from a Lava 0.10 process sends it one
element at a time through two channels (``PyLoihiProcessModel._get_var`` and the runtime
service iterate with ``np.nditer``, a FIXME in Lava's source), about 17 us per element on
a 2-core machine. A ``Monitor`` of 1000 neurons over 500 steps holds 500 000 elements and
takes 8.7 s to read, four times the 2.2 s the run itself takes. This recorder receives the
same spikes in the same phase (``run_spk``, the row of time step ``t`` at ``t - 1``) and
keeps each step as ``ceil(n / 32)`` words, bit ``b`` of word ``w`` being neuron
``32 w + b``: 32 times fewer elements to read. The words travel as float64 (Lava's
channel type for Var reads), which holds every 32-bit unsigned integer exactly.

This module imports only numpy and Lava, and uses no relative import: Lava's compiler
executes it a second time as a stand-alone file while it looks for process models.
"""

import numpy as np
from lava.magma.core.decorator import implements, requires
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import InPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

__all__ = ["SpikeRecorder", "PySpikeRecorderModel", "unpack_spikes", "WORD_BITS"]

#: Neurons per stored word.
WORD_BITS = 32


def _n_words(n_neurons: int) -> int:
    return -(-n_neurons // WORD_BITS)


class SpikeRecorder(AbstractProcess):
    """Record ``n_steps`` steps of a spike vector of ``n_neurons`` (connect to ``s_in``).

    Var ``words`` (n_steps, ceil(n_neurons / 32)): step ``t``'s spikes, bit-packed
    little-endian (neuron ``i`` is bit ``i % 32`` of word ``i // 32``); a nonzero input
    counts as a spike. Read it with ``words.get()`` and :func:`unpack_spikes`.
    """

    def __init__(self, *, n_neurons: int, n_steps: int, **kwargs):
        if int(n_neurons) < 1:
            raise ValueError(f"n_neurons must be >= 1, got {n_neurons}")
        if int(n_steps) < 1:
            raise ValueError(f"n_steps must be >= 1, got {n_steps}")
        super().__init__(n_neurons=int(n_neurons), n_steps=int(n_steps), **kwargs)
        self.s_in = InPort(shape=(int(n_neurons),))
        self.words = Var(shape=(int(n_steps), _n_words(int(n_neurons))), init=0)


@implements(proc=SpikeRecorder, protocol=LoihiProtocol)
@requires(CPU)
class PySpikeRecorderModel(PyLoihiProcessModel):
    """CPU model of :class:`SpikeRecorder`, for fixed and floating point alike."""

    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    words: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def run_spk(self):
        spiked = np.asarray(self.s_in.recv()) != 0
        n_words = self.words.shape[1]
        padded = np.zeros(n_words * WORD_BITS, dtype=bool)
        padded[: spiked.size] = spiked
        packed = np.packbits(padded, bitorder="little").view("<u4")
        self.words[self.time_step - 1, :] = packed


def unpack_spikes(words: np.ndarray, n_neurons: int) -> np.ndarray:
    """The bool raster (n_steps, n_neurons) that :class:`SpikeRecorder` packed into ``words``."""
    w = np.asarray(words)
    if w.ndim != 2 or w.shape[1] != _n_words(n_neurons):
        raise ValueError(f"words must have shape (n_steps, {_n_words(n_neurons)}) for "
                         f"{n_neurons} neurons, got {w.shape}")
    as_u4 = np.ascontiguousarray(w.astype(np.int64).astype("<u4"))
    bits = np.unpackbits(as_u4.view(np.uint8), axis=1, bitorder="little")
    return bits[:, :n_neurons].astype(bool)
