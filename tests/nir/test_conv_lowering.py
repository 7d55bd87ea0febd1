"""Tests of lnp_neuro.nir.lowering: NIR's Conv1d, Conv2d, SumPool2d, AvgPool2d and Flatten
as sparse matrices W[post, pre] over the row-major flattened index, each against PyTorch's
functional op on random float64 inputs, a composed chain, a conv bias in the target's
bias, errors naming the node, and the export of a lowered chain as one Linear."""

from __future__ import annotations

import nir
import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from conftest import conv_graph

from lnp_neuro.nir import graph_from_nir, graph_to_nir
from lnp_neuro.nir.lowering import lower_chain

RNG = np.random.default_rng(7)


def lowered(node, in_shape):
    """The single node ``node`` lowered for an input of ``in_shape``."""
    low = lower_chain({"n": node}, ["n"], in_shape)
    assert sp.issparse(low.matrix)
    return low


def apply(low, x: np.ndarray) -> np.ndarray:
    """``W x + b`` of a lowered chain on the row-major flattened ``x``."""
    y = low.matrix @ x.reshape(-1)
    return y if low.bias is None else y + low.bias


def conv2d(c_in, c_out, k, groups=1, bias=True, **kw):
    weight = RNG.normal(size=(c_out, c_in // groups, *k))
    b = RNG.normal(size=c_out) if bias else np.zeros(c_out)
    input_shape = kw.pop("input_shape", None)
    args = {"stride": 1, "padding": 0, "dilation": 1, **kw}
    return nir.Conv2d(input_shape=input_shape, weight=weight, groups=groups, bias=b, **args)


@pytest.mark.parametrize("kw", [
    {},
    {"stride": 2},
    {"padding": 1},
    {"dilation": 2},
    {"groups": 2},
    {"stride": (2, 1), "padding": (1, 2), "dilation": (2, 1), "groups": 2},
    {"padding": "same", "dilation": 2},
    {"padding": "valid", "stride": 2},
])
def test_conv2d_matches_torch(kw):
    groups = kw.get("groups", 1)
    node = conv2d(4, 6, (3, 2), **kw)
    x = RNG.normal(size=(4, 7, 8))
    low = lowered(node, (4, 7, 8))
    torch_kw = {k: v for k, v in kw.items() if k != "groups"}
    ref = F.conv2d(torch.from_numpy(x)[None], torch.from_numpy(node.weight),
                   torch.from_numpy(node.bias), groups=groups, **torch_kw)[0].numpy()
    assert low.out_shape == ref.shape
    np.testing.assert_allclose(apply(low, x), ref.reshape(-1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kw", [{}, {"stride": 2}, {"padding": 1}, {"dilation": 2},
                                {"groups": 2}, {"padding": "same"},
                                {"stride": 2, "padding": 1, "dilation": 2, "groups": 2}])
def test_conv1d_matches_torch(kw):
    groups = kw.get("groups", 1)
    weight = RNG.normal(size=(4, 2 // groups, 3))
    node = nir.Conv1d(input_shape=11, weight=weight, stride=kw.get("stride", 1),
                      padding=kw.get("padding", 0), dilation=kw.get("dilation", 1),
                      groups=groups, bias=RNG.normal(size=4))
    x = RNG.normal(size=(2, 11))
    low = lowered(node, (22,))    # a flat source: the node's input_shape gives (C, L)
    assert low.in_shape == (2, 11)
    ref = F.conv1d(torch.from_numpy(x)[None], torch.from_numpy(weight),
                   torch.from_numpy(node.bias), stride=kw.get("stride", 1),
                   padding=kw.get("padding", 0), dilation=kw.get("dilation", 1),
                   groups=groups)[0].numpy()
    assert low.out_shape == ref.shape
    np.testing.assert_allclose(apply(low, x), ref.reshape(-1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kernel, stride, padding", [(2, 2, 0), (3, 2, 1), ((3, 2), (1, 2),
                                                                           (1, 0))])
@pytest.mark.parametrize("kind", ["sum", "avg"])
def test_pooling_matches_torch(kind, kernel, stride, padding):
    cls = nir.SumPool2d if kind == "sum" else nir.AvgPool2d
    node = cls(kernel_size=np.array(kernel), stride=np.array(stride),
               padding=np.array(padding))
    x = RNG.normal(size=(3, 7, 6))
    low = lowered(node, (3, 7, 6))
    ref = F.avg_pool2d(torch.from_numpy(x)[None], kernel, stride, padding)[0].numpy()
    if kind == "sum":
        ref = ref * np.prod(np.broadcast_to(kernel, 2))
    assert low.out_shape == ref.shape
    np.testing.assert_allclose(apply(low, x), ref.reshape(-1), rtol=1e-12, atol=1e-12)


def test_flatten_is_the_identity_with_a_new_shape():
    node = nir.Flatten(input_type={"input": np.array([2, 3, 4])}, start_dim=0)
    low = lower_chain({"f": node}, ["f"], None)
    assert (low.in_shape, low.out_shape, low.name, low.bias) == ((2, 3, 4), (24,), None, None)
    np.testing.assert_array_equal(low.matrix, np.eye(24))


def test_chain_composes_into_one_sparse_matrix():
    conv = conv2d(1, 2, (3, 3), padding=1, input_shape=(6, 6))
    pool = nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                         padding=np.array([0, 0]))
    flat = nir.Flatten(input_type={"input": np.array([2, 3, 3])}, start_dim=0)
    aff = nir.Affine(weight=RNG.normal(size=(5, 18)), bias=RNG.normal(size=5))
    nodes = {"conv": conv, "pool": pool, "flat": flat, "aff": aff,
             "d": nir.Delay(delay=np.zeros(1))}
    low = lower_chain(nodes, ["conv", "d", "pool", "flat", "aff"], (1, 6, 6))
    assert low.name == "conv+pool+aff" and sp.isspmatrix_csr(low.matrix)
    assert low.matrix.shape == (5, 36) and low.out_shape == (5,)
    x = RNG.normal(size=(1, 6, 6))
    t = F.conv2d(torch.from_numpy(x)[None], torch.from_numpy(conv.weight),
                 torch.from_numpy(conv.bias), padding=1)
    t = 4 * F.avg_pool2d(t, 2)
    ref = aff.weight @ t.reshape(-1).numpy() + aff.bias
    np.testing.assert_allclose(apply(low, x), ref, rtol=1e-12, atol=1e-12)


def _lif(shape, tau=1e-3, r=1.0):
    return nir.LIF(tau=np.full(shape, tau), r=np.full(shape, r), v_leak=np.zeros(shape),
                   v_threshold=np.ones(shape), v_reset=np.zeros(shape))


def _conv_net(conv, pool=None, out_shape=(2, 4, 4)):
    nodes = {"in": nir.Input(input_type={"input": np.array([1, 4, 4])}), "conv": conv,
             "pop": _lif(out_shape), "out": nir.Output(output_type={"output": None})}
    edges = [("in", "conv"), ("conv", "pop"), ("pop", "out")]
    if pool is not None:
        nodes.update({"pool": pool, "post": _lif((2, 2, 2))})
        edges += [("pop", "pool"), ("pool", "post"), ("post", "out")]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def test_conv_bias_is_the_targets_settled_bias_and_neurons_flatten():
    conv = conv2d(1, 2, (3, 3), padding=1, input_shape=(4, 4))
    pool = nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                         padding=np.array([0, 0]))
    graph = graph_from_nir(_conv_net(conv, pool), dt=1e-3)   # tau = dt: LIF scale 1, exact
    assert graph.populations["pop"].n == 32 and graph.populations["post"].n == 8
    # The bias per output channel, repeated over the 4 x 4 positions (row-major).
    np.testing.assert_allclose(graph.populations["pop"].bias, np.repeat(conv.bias, 16))
    (into, pooled) = graph.projections
    assert (into.name, into.source, into.target) == ("conv", "in", "pop")
    assert (pooled.name, pooled.source, pooled.target) == ("pool", "pop", "post")
    assert into.shape == (32, 16) and pooled.shape == (8, 32)
    np.testing.assert_array_equal(pooled.weights.sum(axis=1), np.full((8, 1), 4.0))


def test_errors_name_the_node():
    bad_groups = conv2d(2, 3, (3, 3), input_shape=(4, 4))
    bad_groups.groups = 2
    with pytest.raises(ValueError, match="node 'conv' \\(Conv2d\\): groups 2 must divide"):
        graph_from_nir(_conv_net(bad_groups), dt=1e-3)
    strided_same = conv2d(1, 2, (3, 3), input_shape=(4, 4), padding="same")
    strided_same.stride = (2, 2)
    with pytest.raises(ValueError, match="node 'conv' \\(Conv2d\\): padding 'same' needs "
                                         "stride 1"):
        graph_from_nir(_conv_net(strided_same), dt=1e-3)
    wrong_channels = conv2d(3, 2, (3, 3), padding=1)
    with pytest.raises(ValueError, match="node 'conv' \\(Conv2d\\): its input has shape "
                                         "\\(1, 4, 4\\), expected 3 channels"):
        graph_from_nir(_conv_net(wrong_channels), dt=1e-3)
    pool = nir.AvgPool2d(kernel_size=np.array([2, 2]), stride=np.array([0, 2]),
                         padding=np.array([0, 0]))
    with pytest.raises(ValueError, match="node 'pool' \\(AvgPool2d\\): stride must be an "
                                         "integer >= 1"):
        graph_from_nir(_conv_net(conv2d(1, 2, (3, 3), padding=1), pool), dt=1e-3)
    # The neuron node's (C, H, W) must be the chain's, not only as many values.
    with pytest.raises(ValueError, match="node 'pop' \\(LIF\\) has shape \\(4, 4, 2\\), but "
                                         "conv gives it shape \\(2, 4, 4\\)"):
        graph_from_nir(_conv_net(conv2d(1, 2, (3, 3), padding=1), out_shape=(4, 4, 2)),
                       dt=1e-3)


def test_export_writes_the_lowered_chains_back_as_linear():
    graph = conv_graph()
    nir_graph = graph_to_nir(graph)
    assert isinstance(nir_graph.nodes["conv"], nir.Linear)
    assert isinstance(nir_graph.nodes["pool+fc"], nir.Linear)
    assert nir_graph.nodes["C"].tau.shape == (72,)    # flat neuron parameters
    back = graph_from_nir(nir_graph)
    for p, q in zip(graph.projections, back.projections):
        assert (p.name, p.source, p.target) == (q.name, q.source, q.target)
        assert (p.weights != q.weights).nnz == 0
    for name, pop in graph.populations.items():
        np.testing.assert_array_equal(pop.bias, back.populations[name].bias)
