"""The bit-packed Lava spike recorder returns exactly the spikes it was sent."""

import numpy as np
import pytest

from lnp_neuro.engines.lava.compat import ensure_lava


@pytest.mark.parametrize("n_neurons", [1, 32, 45])
def test_recorder_returns_the_raster_it_received(n_neurons):
    ensure_lava()
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.source import RingBuffer

    from lnp_neuro.engines.lava.procs.spike_recorder import SpikeRecorder, unpack_spikes

    steps = 23
    rng = np.random.default_rng(n_neurons)
    raster = rng.random((steps, n_neurons)) < 0.4
    raster[0] = True                       # every bit of a word set, the sign bit included
    raster[1] = False
    source = RingBuffer(data=raster.T.astype(np.int32))
    recorder = SpikeRecorder(n_neurons=n_neurons, n_steps=steps)
    source.s_out.connect(recorder.s_in)
    try:
        source.run(condition=RunSteps(num_steps=steps),
                   run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        words = recorder.words.get()
    finally:
        source.stop()
    assert words.shape == (steps, -(-n_neurons // 32))
    np.testing.assert_array_equal(unpack_spikes(words, n_neurons), raster)


def test_unpack_names_the_expected_shape():
    ensure_lava()
    from lnp_neuro.engines.lava.procs.spike_recorder import unpack_spikes
    with pytest.raises(ValueError, match=r"\(n_steps, 2\) for 33 neurons"):
        unpack_spikes(np.zeros((4, 1)), 33)
