"""Tiny population graphs shared by the model, NIR and engine tests.

Each builder returns a :class:`lnp_neuro.model.Graph` small enough for Lava to start in a
second, with weights strong enough that every population spikes on a 30 % drive.
"""

from __future__ import annotations

import warnings

import nir
import numpy as np
import pytest
import scipy.sparse as sp

from lnp_neuro.deploy.cli import main as deploy_main
from lnp_neuro.model import Graph, Population, Projection
from lnp_neuro.nir import graph_from_nir


def _weights(rng, shape, density, scale, sign=0.0):
    w = sp.random(*shape, density=density, random_state=rng,
                  data_rvs=lambda k: scale * (rng.random(k) + sign)).tocsr()
    return w


def chain_graph(seed: int = 0, reset: str = "zero", reset_delay: bool = False) -> Graph:
    """input (6) -> A (cuba_lif, 12) -> B (lif, 5): a feed-forward chain."""
    rng = np.random.default_rng(seed)
    a = Population("A", "cuba_lif", 12, tau_mem=rng.uniform(4e-3, 20e-3, 12),
                   tau_syn=rng.uniform(1e-3, 5e-3, 12), v_threshold=1.0, reset=reset,
                   reset_delay=reset_delay)
    b = Population("B", "lif", 5, tau_mem=10e-3, v_threshold=1.0, reset=reset,
                   reset_delay=reset_delay)
    return Graph(inputs={"x": 6}, populations=[a, b],
                 projections=[Projection("x", "A", _weights(rng, (12, 6), 0.6, 0.9)),
                              Projection("A", "B", _weights(rng, (5, 12), 0.6, 0.8))],
                 outputs=["B"], dt=1e-3)


def recurrent_graph(seed: int = 1) -> Graph:
    """input (5) -> R (cuba_lif, 20, recurrent, subtract reset, bias) -> I (if, 4)
    -> O (li readout, 3)."""
    rng = np.random.default_rng(seed)
    r = Population("R", "cuba_lif", 20, tau_mem=rng.uniform(5e-3, 30e-3, 20),
                   tau_syn=rng.uniform(1e-3, 8e-3, 20), v_threshold=rng.uniform(0.8, 1.2, 20),
                   bias=rng.uniform(0.0, 0.02, 20), reset="subtract")
    i = Population("I", "if", 4, v_threshold=1.5, reset="zero")
    o = Population("O", "li", 3, tau_mem=20e-3)
    rec = _weights(rng, (20, 20), 0.2, 0.6, sign=-0.45)
    return Graph(inputs={"x": 5}, populations=[r, i, o],
                 projections=[Projection("x", "R", _weights(rng, (20, 5), 0.5, 0.8)),
                              Projection("R", "R", rec),
                              Projection("R", "I", _weights(rng, (4, 20), 0.5, 0.5)),
                              Projection("I", "O", _weights(rng, (3, 4), 0.8, 0.5, -0.5))],
                 outputs=["O"], dt=1e-3)


def conv_graph(seed: int = 2) -> Graph:
    """A convolutional NIR graph imported with graph_from_nir: input (1, 6, 6) ->
    Conv2d(1 -> 2, 3x3, padding 1) -> C (lif over (2, 6, 6)) -> SumPool2d(2) -> Flatten ->
    Affine(18 -> 3) -> O (lif, 3). The conv chain becomes the projection ``conv``, the
    pool chain the one projection ``pool+fc`` (lnp_neuro.nir.lowering)."""
    rng = np.random.default_rng(seed)
    dt, tau = 1e-3, 10e-3

    def lif(shape):   # r = tau/dt: the input scale r dt/tau is 1, weights as written
        return nir.LIF(tau=np.full(shape, tau), r=np.full(shape, tau / dt),
                       v_leak=np.zeros(shape), v_threshold=np.ones(shape),
                       v_reset=np.zeros(shape))

    nodes = {
        "x": nir.Input(input_type={"input": np.array([1, 6, 6])}),
        "conv": nir.Conv2d(input_shape=(6, 6), weight=rng.uniform(0.05, 0.4, (2, 1, 3, 3)),
                           stride=1, padding=1, dilation=1, groups=1,
                           bias=np.array([0.01, 0.02])),
        "C": lif((2, 6, 6)),
        "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                              padding=np.array([0, 0])),
        "flat": nir.Flatten(input_type={"input": np.array([2, 3, 3])}, start_dim=0),
        "fc": nir.Affine(weight=rng.uniform(-0.04, 0.06, (3, 18)),
                         bias=np.array([0.0, 0.01, 0.02])),
        "O": lif((3,)),
        "out": nir.Output(output_type={"output": np.array([3])}),
    }
    edges = [("x", "conv"), ("conv", "C"), ("C", "pool"), ("pool", "flat"), ("flat", "fc"),
             ("fc", "O"), ("O", "out")]
    return graph_from_nir(nir.NIRGraph(nodes=nodes, edges=edges, type_check=False), dt=dt)


def delayed_graph(seed: int = 2) -> Graph:
    """input (6) -> A (cuba_lif, 12, delay 1), A -> A (recurrent, delay 2, subtract
    reset), A -> B (lif, 5, delay 3), input -> B (delay 4): projections of every delay
    path of the engines (one step, and longer from neurons and from inputs)."""
    rng = np.random.default_rng(seed)
    a = Population("A", "cuba_lif", 12, tau_mem=rng.uniform(4e-3, 20e-3, 12),
                   tau_syn=rng.uniform(1e-3, 5e-3, 12), v_threshold=1.0, reset="subtract")
    b = Population("B", "lif", 5, tau_mem=10e-3, v_threshold=1.0)
    return Graph(inputs={"x": 6}, populations=[a, b],
                 projections=[Projection("x", "A", _weights(rng, (12, 6), 0.6, 0.5)),
                              Projection("A", "A", _weights(rng, (12, 12), 0.3, 0.6, -0.45),
                                         delay_steps=2),
                              Projection("A", "B", _weights(rng, (5, 12), 0.6, 0.25),
                                         delay_steps=3),
                              Projection("x", "B", _weights(rng, (5, 6), 0.5, 0.3),
                                         delay_steps=4)],
                 outputs=["B"], dt=1e-3)


def drive(graph: Graph, steps: int = 150, p: float = 0.3, seed: int = 0) -> np.ndarray:
    """Bernoulli input spikes [steps, channels] for ``graph``."""
    return np.random.default_rng(seed).random((steps, graph.n_inputs)) < p


@pytest.fixture(params=["chain", "chain_subtract", "recurrent"])
def tiny_graph(request) -> Graph:
    return {"chain": lambda: chain_graph(),
            "chain_subtract": lambda: chain_graph(reset="subtract"),
            "recurrent": lambda: recurrent_graph()}[request.param]()


def snntorch_classifier(reset_delay: bool = False, bias: bool = True, seed: int = 0,
                        reset_mechanism: str = "zero"):
    """A two-layer recurrent classifier made in snnTorch (untrained, seconds):
    Linear(8, 16) -> RLeaky(16, all-to-all) -> Linear(16, 4) -> Leaky(4), both layers with
    ``reset_mechanism`` and ``reset_delay``.

    Returns ``(net, nir_graph)``: the torch module (``net.run(x)`` steps a ``[T, 8]``
    input one step at a time and returns both layers' rasters in float64) and the graph
    ``snntorch.export_nir.export_to_nir`` writes for it. Needs torch and snntorch.
    """
    import warnings

    import snntorch as snn
    import torch
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(seed)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = torch.nn.Linear(8, 16)
            # Vector parameters: snnTorch's exporter needs per-neuron beta and threshold.
            self.lif1 = snn.RLeaky(beta=torch.full((16,), 0.9), linear_features=16,
                                   all_to_all=True, reset_mechanism=reset_mechanism,
                                   reset_delay=reset_delay)
            self.fc2 = torch.nn.Linear(16, 4)
            self.lif2 = snn.Leaky(beta=torch.full((4,), 0.8), threshold=torch.ones(4),
                                  reset_mechanism=reset_mechanism, reset_delay=reset_delay)

        def forward(self, x):
            """One step from rest: what nirtorch traces for the export."""
            spk1, mem1 = self.lif1(self.fc1(x), *self.lif1.init_rleaky())
            return self.lif2(self.fc2(spk1), self.lif2.init_leaky())[0]

        def run(self, x):
            """The rasters of ``x`` [T, 8], stepped one step at a time."""
            spk1, mem1 = (v.to(torch.float64) for v in self.lif1.init_rleaky())
            mem2 = self.lif2.init_leaky().to(torch.float64)
            s1, s2 = [], []
            for t in range(x.shape[0]):
                spk1, mem1 = self.lif1(self.fc1(x[t]), spk1, mem1)
                spk1 = spk1.to(torch.float64)   # snnTorch's spike function casts
                spk2, mem2 = self.lif2(self.fc2(spk1), mem2)
                s1.append(spk1.detach().clone())
                s2.append(spk2.detach().clone())
            return torch.stack(s1), torch.stack(s2)

    net = Net()
    with torch.no_grad():
        net.fc1.weight.mul_(3.0)
        net.fc2.weight.abs_().mul_(2.0)
        if not bias:
            for layer in (net.fc1, net.fc2, net.lif1.recurrent):
                layer.bias.zero_()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nir_graph = export_to_nir(net, torch.zeros(1, 8), ignore_dims=[0])
    return net, nir_graph


def norse_classifier(kind: str = "cuba", seed: int = 0, dt: float = 1e-3):
    """A two-layer model made in norse 1.1.0 (untrained, seconds) and the graph its
    ``norse.torch.to_nir(model, sample, dt=dt)`` writes (time constants as ``dt`` times the
    true ones, ``r = 1``: lnp_neuro.nir.source).

    ``kind`` "cuba": Linear(8, 16) -> LIFCell(16) -> Linear(16, 4) -> LIFCell(4) (current-
    based, exported as CubaLIF); "box": Linear(8, 16) -> LIFBoxCell(16) -> Linear(16, 4) ->
    LIBoxCell(4) (LIF and a leaky-integrator readout, exported as LIF and LI). Vector
    parameters (norse's exporter fails on scalars). Returns ``(run, nir_graph)``: ``run(x)``
    steps a bool ``[T, 8]`` input with norse in float64 and returns the first layer's
    spikes and the second layer's spikes ("cuba") or membrane ("box"), ``[T, n]``.
    """
    import warnings

    import norse.torch as norse
    import torch
    from norse.torch.functional.leaky_integrator_box import LIBoxParameters
    from norse.torch.functional.lif import LIFParameters
    from norse.torch.functional.lif_box import LIFBoxParameters

    torch.manual_seed(seed)
    fc1, fc2 = torch.nn.Linear(8, 16, bias=False), torch.nn.Linear(16, 4, bias=False)
    with torch.no_grad():   # strong enough that both layers spike often
        fc1.weight.mul_(20.0)
        fc2.weight.abs_().mul_(20.0 if kind == "cuba" else 2.0)

    def full(n, value):
        return torch.full((n,), float(value))

    if kind == "cuba":
        def cell(n, tau_mem_inv, tau_syn_inv):
            return norse.LIFCell(LIFParameters(
                tau_syn_inv=full(n, tau_syn_inv), tau_mem_inv=full(n, tau_mem_inv),
                v_leak=full(n, 0), v_th=full(n, 1), v_reset=full(n, 0)), dt=dt)
        layers = [cell(16, 100, 200), cell(4, 50, 100)]
    else:
        layers = [norse.LIFBoxCell(LIFBoxParameters(tau_mem_inv=full(16, 100), v_leak=full(16, 0),
                                                    v_th=full(16, 1), v_reset=full(16, 0)),
                                   dt=dt),
                  norse.LIBoxCell(LIBoxParameters(tau_mem_inv=full(4, 50), v_leak=full(4, 0)),
                                  dt=dt)]
    model = norse.SequentialState(fc1, layers[0], fc2, layers[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nir_graph = norse.to_nir(model, torch.zeros(8), dt=dt)

    def run(x):
        model.double()
        first, second, s1, s2 = [], [], None, None
        with torch.no_grad():
            for xt in torch.tensor(x, dtype=torch.float64):
                z1, s1 = layers[0](fc1(xt), s1)
                z1 = z1.to_dense() if z1.is_sparse else z1
                out, s2 = layers[1](fc2(z1), s2)
                out = out.to_dense() if out.is_sparse else out
                first.append(z1.numpy().copy())
                second.append(out.numpy().copy())
        model.float()
        return np.array(first), np.array(second)

    return run, nir_graph


def deploy_with_data(folder, data, target="cpu", extra=()):
    """``lnp-deploy --network folder/model.nir --data data --prune none --steps 100`` on
    ``target`` (warnings silenced), into ``folder/run-<target>-<data stem>``:
    ``(exit code, output folder)``."""
    out = folder / f"run-{target}-{data.stem}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = deploy_main(["--target", target, "--network", str(folder / "model.nir"),
                            "--data", str(data), "--prune", "none", "--steps", "100",
                            "--out", str(out), "--force", "--quiet", *extra])
    return code, out
