"""NIR interop matrix: what each peer makes of our graph, and what we make of the NIR
paper's reference graphs.

| peer                 | our graph (Input -> Delay -> Linear -> CubaLIF + recurrent Linear)      |
|----------------------|--------------------------------------------------------------------------|
| norse 1.1.0          | identical raster (tests/engines/test_norse_interop.py; Delay applied by us)      |
| rockpool 3.1.0       | refuses the Delay node; without it, runs at the wrong dt (below)         |
| snnTorch 1.0.0       | refuses dt != 1e-4; at 1e-4 routes the input through W_rec (below)       |

The reference graphs are files of the NIR repository (github.com/neuromorphs/NIR, commit
7232ada, ``paper/``; BSD-3-Clause, tests/data/nir_paper/LICENSE-NIR), read with nir 1.0.8.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import nir
import numpy as np
import pytest
import scipy.sparse as sp

from lnp_neuro.engines.norse.network import _without_input_delay, run_norse
from lnp_neuro.engines.simulator import simulate
from lnp_neuro.model.build import hrsnn
from lnp_neuro.nir.reservoir_files import read_nir, to_nir

PAPER = Path(__file__).resolve().parents[1] / "data" / "nir_paper"


# ------------------------------------------------------- the NIR paper's reference graphs
@pytest.mark.parametrize("name, nodes", [
    ("braille_noDelay_bias_zero.nir", ("'lif1.lif' (CubaLIF)", "'lif2' (CubaLIF)")),
    ("braille_noDelay_noBias_subtract.nir", ("'lif1.lif' (CubaLIF)", "'lif2' (CubaLIF)")),
    ("two_lif_neurons.nir", ("'lif1' (LIF)", "'lif2' (LIF)")),
])
def test_paper_graphs_with_several_populations_are_refused_naming_them(name, nodes):
    """The Braille RNN (CubaLIF -> CubaLIF, the second fed forward) and the two-neuron
    chain cannot be one recurrent population with one-step synapses."""
    graph = nir.read(PAPER / name)  # nir itself reads them
    assert sum(isinstance(v, (nir.CubaLIF, nir.LIF)) for v in graph.nodes.values()) == 2
    expected = f"{name}: the graph has 2 spiking populations ({nodes[0]}, {nodes[1]})"
    with pytest.raises(ValueError, match=re.escape(expected)):
        read_nir(PAPER / name, dt=1e-4)


def test_paper_lif_graph_of_norse_needs_dt():
    """norse's export of the paper's LIF neuron: r = 1 and no dt stored, so the step must
    be given (lnp-deploy --dt). Known result at dt = 0.1 ms: tau = 2.5 ms gives
    dv = 0.04, and NIR's LIF input r (dt/tau) w = 0.04 per unit weight."""
    with pytest.raises(ValueError, match=r"lif_norse.nir: .*node '1' has r = 1.*--dt"):
        read_nir(PAPER / "lif_norse.nir")
    with pytest.warns(UserWarning, match="no one-step Delay node"):
        net = read_nir(PAPER / "lif_norse.nir", dt=1e-4)
    assert net.n_total_neurons == 1 and net.n_inputs == 1 and net.dt == 1e-4
    np.testing.assert_allclose(net.dv, [0.04], rtol=1e-6)
    np.testing.assert_allclose(net.du, [1.0])
    np.testing.assert_allclose(net.input_weights.toarray(), [[0.04]], rtol=1e-6)
    np.testing.assert_allclose(net.v_threshold, [0.1], rtol=1e-6)


def test_paper_lif_graph_of_rockpool_fails_nirs_type_check_and_is_read_leniently():
    """rockpool's export declares an output type nir's check rejects; it is read again
    without the check (a warning says so). dt is tau / r (rockpool writes r = tau/dt):
    the same neuron as norse's export, the same input weight 0.04."""
    with pytest.raises(ValueError, match="type mismatch"):
        nir.read(PAPER / "lif_rockpool.nir")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net = read_nir(PAPER / "lif_rockpool.nir")
    messages = [str(w.message) for w in caught]
    assert any("lif_rockpool.nir: fails nir's type check" in m for m in messages)
    np.testing.assert_allclose(net.dt, 2.5e-3 / 24.019737, rtol=1e-6)
    np.testing.assert_allclose(net.input_weights.toarray(), [[0.04]], rtol=1e-6)


def test_cli_names_dt_for_a_graph_without_one(tmp_path, capsys):
    from lnp_neuro.deploy.cli import main
    args = ["--target", "cpu", "--network", str(PAPER / "lif_norse.nir"), "--prune", "none",
            "--input", "poisson", "--rate", "0.5", "--steps", "40", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 2
    assert "--dt" in capsys.readouterr().err
    with pytest.warns(UserWarning):
        assert main([*args, "--dt", "1e-4", "--out", str(tmp_path / "b")]) == 0
    with np.load(tmp_path / "b" / "run.npz", allow_pickle=False) as run:
        assert run["spikes"].shape == (40, 1)
    with pytest.raises(SystemExit) as exc:
        main([*args, "--dt", "-1", "--out", str(tmp_path / "c")])
    assert exc.value.code == 2


# ------------------------------------------------------------------------- peers
def _graph_without_delay(net):
    graph, steps = _without_input_delay(to_nir(net), net.dt)
    assert steps == 1
    return graph


def test_rockpool_importer_has_no_delay_and_derives_a_wrong_dt():
    """rockpool 3.1.0, rockpool/nn/modules/torch/nir.py, ``_convert_nir_to_rockpool``:
    no branch for ``nir.Delay`` (NotImplementedError), and a CubaLIF becomes a
    ``LIFTorch`` with ``dt = min(tau_mem / (1 + r))``, its own exporter's convention, not
    NIR's; ``w_in`` is not read and ``v_leak`` is taken as the bias unscaled. With our
    ``r = tau_mem / dt`` that dt is below ours for every neuron: the peer's importer is
    at fault, our graph states dt (metadata) and follows NIR's equations."""
    pytest.importorskip("rockpool")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from rockpool.nn.modules.torch.nir import from_nir as rockpool_from_nir
    net = hrsnn(30, 0.2, seed=1, n_inputs=4)
    with pytest.raises(NotImplementedError, match="Delay"):
        rockpool_from_nir(to_nir(net))
    module = rockpool_from_nir(_graph_without_delay(net))
    lif = module.neurons
    assert type(lif).__name__ == "LIFTorch"
    expected = float(np.min(net.tau_mem / (1 + net.tau_mem / net.dt)))
    assert float(lif.dt) == pytest.approx(expected, rel=1e-6)
    assert float(lif.dt) < net.dt


def _run_snntorch(module, x):
    import torch
    state, out = None, []
    with torch.no_grad():
        for t in range(x.shape[0]):
            y, state = module(torch.from_numpy(x[t:t + 1].astype(np.float32)), state)
            out.append(y[0].numpy() > 0)
    return np.array(out)


def test_snntorch_importer_fixes_dt_and_routes_input_through_the_recurrent_weights(capsys):
    """snnTorch 1.0.0, snntorch/import_nir.py: a CubaLIF is imported with ``dt = 1e-4``
    written into the code and ``assert np.allclose(r, tau_mem / dt), "r not supported in
    CubaLIF"``, so our graphs at dt = 1 ms are refused. At dt = 0.1 ms the graph imports,
    but the recurrent rewrite (``_replace_rnn_subgraph_with_nirgraph``) feeds
    ``input + previous spikes`` into W_rec: the external input reaches the neurons only
    through the recurrent weights. Known result: with W_rec = 0 snnTorch's network never
    fires, while ours and norse (same graph) fire identically."""
    pytest.importorskip("snntorch")
    from snntorch.import_nir import import_from_nir
    net = hrsnn(40, 0.2, seed=1, n_inputs=4)
    with pytest.raises(AssertionError, match="r not supported in CubaLIF"):
        import_from_nir(_graph_without_delay(net))
    fast = net.copy(dt=1e-4, weights=sp.csr_matrix((40, 40)))
    x = np.random.default_rng(0).random((300, 4)) < 0.3
    ours = simulate(fast, x, mode="float").spikes
    assert ours.sum() > 1000
    np.testing.assert_array_equal(run_norse(to_nir(fast), x), ours)
    snn = _run_snntorch(import_from_nir(_graph_without_delay(fast)), x)
    assert snn.shape == ours.shape and not snn.any()
    capsys.readouterr()  # snnTorch prints while importing
