"""The stateless NIR nodes between two neuron nodes, lowered to one matrix ``W[post, pre]``.

Why. A :class:`~lnp_neuro.model.Graph` holds one sparse projection per (source, target);
a convolutional network reaches its next neuron node through a chain such as
``Conv2d -> SumPool2d -> Flatten -> Affine``. Every node of such a chain is an affine map
of the flattened activity, so the chain is the one affine map ``x -> W x + b`` with
``W = W_k ... W_2 W_1`` (kept sparse) and ``b = W_k ... W_2 b_1 + ... + b_k``.

Index order. A tensor of shape ``(C, H, W)`` (``(C, L)`` in 1-D) is flattened row-major,
as ``torch.flatten`` / ``numpy.ravel`` / NIR's ``Flatten`` do: element ``(c, h, w)`` is
index ``(c H + h) W + w``. A neuron node whose parameters have shape ``(C, H, W)`` is the
population of ``C H W`` neurons in that order.

Each node (fields as in ``nir.ir.conv`` / ``nir.ir.pooling`` / ``nir.ir.flatten``, the
semantics of PyTorch's ``conv1d`` / ``conv2d`` / ``avg_pool2d``):

- ``Conv1d`` / ``Conv2d`` (weight ``(C_out, C_in/groups, *K)``, stride, padding, dilation,
  groups, bias ``(C_out,)``)::

      y[o, p] = b[o] + sum_{c, k} w[o, c, k] x[g(o) C_in/groups + c, p s - pad_lo + k d]

  with ``g(o) = o // (C_out/groups)`` and taps outside the input reading zeros; output
  size ``floor((N + pad_lo + pad_hi - d (K - 1) - 1) / s) + 1``. ``padding`` is an int, a
  tuple per dimension, ``"valid"`` (0) or ``"same"`` (stride 1 only, as PyTorch: total
  ``d (K - 1)``, ``pad_lo = total // 2``, the odd one on the high side).
- ``SumPool2d`` (kernel_size, stride, padding): the depthwise convolution with a kernel of
  ones (groups = C, no dilation, zero padding). ``AvgPool2d``: the same divided by the
  kernel area (PyTorch's ``count_include_pad=True``).
- ``Flatten``: the identity on the flat index; it only changes the shape.
- ``Affine`` / ``Linear`` / ``Scale``: their matrix (:data:`WEIGHT_CONVERTERS`); they take
  any input shape with the right number of values.

A chain whose only weight node is one ``Affine`` / ``Linear`` / ``Scale`` keeps its dense
matrix (so the exporter's hidden-synapse metadata on it applies as before); any other
chain is the sparse product. Export writes every projection back as one ``Linear`` (see
:mod:`lnp_neuro.nir.export`), so a convolution does not come back as a ``Conv2d``.

Errors name the node and field (``ValueError``); a chain whose input shape is not known
yet raises :class:`ShapeUnknown` (a ``ValueError``) naming the node that needs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import nir
import numpy as np
import scipy.sparse as sp

from .reservoir_import import _node_type, _weight_of

__all__ = ["WEIGHT_CONVERTERS", "LOWERINGS", "Lowered", "ShapeUnknown", "lower_chain",
           "lower_paths"]


class ShapeUnknown(ValueError):
    """A node needs the shape of its input and nothing upstream gives it yet."""


def _fail(name: str, node: Any, message: str) -> ValueError:
    return ValueError(f"node {name!r} ({_node_type(node)}): {message}")


# --------------------------------------------------------------------------- dense nodes
def _affine(name: str, node: nir.Affine) -> tuple[np.ndarray, np.ndarray | None]:
    weight, bias = _weight_of(name, node)
    if bias is not None and not np.all(np.isfinite(bias)):
        raise _fail(name, node, "bias has non-finite values")
    return weight, bias


def _scale(name: str, node: nir.Scale) -> tuple[np.ndarray, np.ndarray | None]:
    scale = np.asarray(node.scale, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(scale)):
        raise _fail(name, node, "scale has non-finite values")
    return np.diag(scale), None


#: NIR weight node type -> converter ``(name, node) -> (W[post, pre], bias or None)``.
WEIGHT_CONVERTERS = {nir.Affine: _affine, nir.Linear: _weight_of, nir.Scale: _scale}


@dataclass
class _Op:
    """One lowered node: ``matrix`` (None: identity), ``bias`` and the shapes around it."""

    matrix: Any
    bias: np.ndarray | None
    in_shape: tuple
    out_shape: tuple


def _size(shape: tuple) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _dense(name: str, node: Any, in_shape: tuple | None) -> _Op:
    weight, bias = WEIGHT_CONVERTERS[type(node)](name, node)
    if isinstance(node, nir.Scale) and weight.shape == (1, 1) and in_shape is not None:
        weight = np.eye(_size(in_shape)) * weight[0, 0]   # a scalar Scale broadcasts
    if in_shape is not None and _size(in_shape) != weight.shape[1]:
        raise _fail(name, node, f"weight has {weight.shape[1]} columns, its input has "
                                f"{_size(in_shape)} values (shape {in_shape})")
    return _Op(weight, bias, (weight.shape[1],) if in_shape is None else in_shape,
               (weight.shape[0],))


# --------------------------------------------------------------------------- convolution
def _ints(name: str, node: Any, field: str, value: Any, ndim: int, low: int) -> np.ndarray:
    """``value`` (an int or one per spatial dimension) as ``ndim`` ints ``>= low``."""
    arr = np.asarray(value)
    if arr.size == 1:
        arr = np.full(ndim, arr.reshape(-1)[0])
    arr = arr.reshape(-1)
    if arr.shape != (ndim,) or not np.all(np.equal(np.mod(arr, 1), 0)) or np.any(arr < low):
        raise _fail(name, node, f"{field} must be an integer >= {low} or {ndim} of them, got "
                                f"{value!r}")
    return arr.astype(np.int64)


def _padding(name: str, node: Any, padding: Any, kernel: np.ndarray, dilation: np.ndarray,
             stride: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(pad_lo, pad_hi)`` per spatial dimension from NIR's int / tuple / string."""
    if isinstance(padding, bytes):
        padding = padding.decode()
    if isinstance(padding, np.ndarray) and padding.dtype.kind in "US":
        padding = str(padding.item())
    if isinstance(padding, str):
        if padding == "valid":
            return np.zeros_like(kernel), np.zeros_like(kernel)
        if padding != "same":
            raise _fail(name, node, f"padding must be an int, a tuple, 'same' or 'valid', got "
                                    f"{padding!r}")
        if np.any(stride != 1):
            raise _fail(name, node, f"padding 'same' needs stride 1 (as PyTorch), got stride "
                                    f"{tuple(stride)}")
        total = dilation * (kernel - 1)
        return total // 2, total - total // 2
    pad = _ints(name, node, "padding", padding, kernel.size, 0)
    return pad, pad


def _conv_matrix(weight: np.ndarray, in_spatial: np.ndarray, stride: np.ndarray,
                 pad_lo: np.ndarray, pad_hi: np.ndarray, dilation: np.ndarray,
                 groups: int) -> tuple[sp.csr_matrix, tuple]:
    """The convolution of the module docstring as CSR ``W[post, pre]`` over the row-major
    ``(C_out, *out)`` and ``(C_in, *in)`` indices, and the output spatial shape."""
    c_out, c_in_group, *kernel = weight.shape
    kernel = np.asarray(kernel, np.int64)
    out = (in_spatial + pad_lo + pad_hi - dilation * (kernel - 1) - 1) // stride + 1
    positions = int(np.prod(out))
    taps = np.nonzero(weight)                        # (o, c, k_1 .. k_nd) of each non-zero
    values = weight[taps]
    o, c, k = taps[0], taps[1], np.stack(taps[2:])   # k: (nd, taps)
    p = np.indices(tuple(out)).reshape(len(out), -1)  # (nd, positions)
    at = (p[:, None, :] * stride[:, None, None] - pad_lo[:, None, None]
          + k[:, :, None] * dilation[:, None, None])  # (nd, taps, positions)
    inside = np.all((at >= 0) & (at < in_spatial[:, None, None]), axis=0)
    flat_in = np.zeros(inside.shape, np.int64)
    for d in range(len(out)):
        flat_in = flat_in * in_spatial[d] + at[d]
    channel_in = (o // (c_out // groups)) * c_in_group + c
    rows = o[:, None] * positions + np.arange(positions)[None, :]
    cols = channel_in[:, None] * int(np.prod(in_spatial)) + flat_in
    vals = np.broadcast_to(values[:, None], inside.shape)
    shape = (c_out * positions, c_in_group * groups * int(np.prod(in_spatial)))
    matrix = sp.coo_matrix((vals[inside], (rows[inside], cols[inside])), shape=shape).tocsr()
    matrix.sum_duplicates()
    return matrix, tuple(int(v) for v in out)


def _conv(name: str, node: Any, in_shape: tuple | None) -> _Op:
    ndim = 1 if isinstance(node, nir.Conv1d) else 2
    weight = np.asarray(node.weight, dtype=np.float64)
    if weight.ndim != ndim + 2 or not np.all(np.isfinite(weight)):
        raise _fail(name, node, f"weight must be finite with shape (C_out, C_in/groups, "
                                f"{'L' if ndim == 1 else 'H, W'}), got shape {weight.shape}")
    groups = int(np.asarray(node.groups))
    if groups < 1 or weight.shape[0] % groups:
        raise _fail(name, node, f"groups {groups} must divide the {weight.shape[0]} output "
                                f"channels")
    c_in = weight.shape[1] * groups
    declared = None
    if node.input_shape is not None:
        spatial = tuple(int(v) for v in np.asarray(node.input_shape).reshape(-1))
        declared = (c_in, *spatial)
    if declared is None and (in_shape is None or len(in_shape) != ndim + 1):
        if in_shape is None:
            raise ShapeUnknown(f"node {name!r} ({_node_type(node)}): input_shape is None and "
                               f"its input's shape is not known")
        raise _fail(name, node, f"input_shape is None and its input has shape {in_shape}, "
                                f"not (C, {'L' if ndim == 1 else 'H, W'})")
    if declared is not None and in_shape is not None and _size(declared) != _size(in_shape):
        raise _fail(name, node, f"input_shape {declared} holds {_size(declared)} values, its "
                                f"input has {_size(in_shape)} (shape {in_shape})")
    shape = declared or tuple(in_shape)
    if shape[0] != c_in or len(shape) != ndim + 1:
        raise _fail(name, node, f"its input has shape {shape}, expected {c_in} channels "
                                f"(weight {weight.shape}, groups {groups})")
    stride = _ints(name, node, "stride", node.stride, ndim, 1)
    dilation = _ints(name, node, "dilation", node.dilation, ndim, 1)
    kernel = np.asarray(weight.shape[2:], np.int64)
    pad_lo, pad_hi = _padding(name, node, node.padding, kernel, dilation, stride)
    in_spatial = np.asarray(shape[1:], np.int64)
    if np.any(in_spatial + pad_lo + pad_hi < dilation * (kernel - 1) + 1):
        raise _fail(name, node, f"the kernel ({tuple(kernel)}, dilation {tuple(dilation)}) "
                                f"is larger than the padded input {tuple(in_spatial)}")
    matrix, out = _conv_matrix(weight, in_spatial, stride, pad_lo, pad_hi, dilation, groups)
    bias = _conv_bias(name, node, weight.shape[0], _size(out))
    return _Op(matrix, bias, shape, (weight.shape[0], *out))


def _conv_bias(name: str, node: Any, c_out: int, positions: int) -> np.ndarray | None:
    """The per-channel bias repeated over the output positions (None when all 0)."""
    if node.bias is None:
        return None
    bias = np.asarray(node.bias, dtype=np.float64).reshape(-1)
    if bias.size == 1:
        bias = np.full(c_out, bias[0])
    if bias.shape != (c_out,) or not np.all(np.isfinite(bias)):
        raise _fail(name, node, f"bias must be finite with shape ({c_out},), got shape "
                                f"{np.shape(node.bias)}")
    return np.repeat(bias, positions) if np.any(bias) else None


# --------------------------------------------------------------------------- pooling
def _declared(node: Any, key: str, field: str) -> tuple | None:
    types = getattr(node, field, None)
    value = types.get(key) if isinstance(types, dict) else None
    if value is None:
        return None
    shape = tuple(int(v) for v in np.asarray(value).reshape(-1))
    return shape or None


def _pool(name: str, node: Any, in_shape: tuple | None) -> _Op:
    declared = _declared(node, "input", "input_type")
    if in_shape is None:
        in_shape = declared
    elif len(in_shape) != 3 and declared is not None and _size(declared) == _size(in_shape):
        in_shape = declared
    if in_shape is None:
        raise ShapeUnknown(f"node {name!r} ({_node_type(node)}): the shape (C, H, W) of its "
                           f"input is not known")
    if len(in_shape) != 3:
        raise _fail(name, node, f"its input has shape {in_shape}, expected (C, H, W)")
    kernel = _ints(name, node, "kernel_size", node.kernel_size, 2, 1)
    stride = kernel if node.stride is None else _ints(name, node, "stride", node.stride, 2, 1)
    pad = _ints(name, node, "padding", 0 if node.padding is None else node.padding, 2, 0)
    channels, spatial = in_shape[0], np.asarray(in_shape[1:], np.int64)
    if np.any(spatial + 2 * pad < kernel):
        raise _fail(name, node, f"kernel_size {tuple(kernel)} is larger than the padded input "
                                f"{tuple(spatial)}")
    ones = np.ones((channels, 1, *kernel))
    if isinstance(node, nir.AvgPool2d):
        ones /= float(np.prod(kernel))
    matrix, out = _conv_matrix(ones, spatial, stride, pad, pad, np.ones(2, np.int64), channels)
    return _Op(matrix, None, tuple(in_shape), (channels, *out))


def _flatten(name: str, node: nir.Flatten, in_shape: tuple | None) -> _Op:
    declared = _declared(node, "input", "input_type")
    if in_shape is None:
        if declared is None:
            raise ShapeUnknown(f"node {name!r} (Flatten): input_type is None and its input's "
                               f"shape is not known")
        in_shape = declared
    if declared is not None and _size(declared) != _size(in_shape):
        raise _fail(name, node, f"input_type {declared} holds {_size(declared)} values, its "
                                f"input has {_size(in_shape)} (shape {in_shape})")
    out = _declared(node, "output", "output_type")
    if out is None or _size(out) != _size(in_shape):
        out = (_size(in_shape),)
    return _Op(None, None, tuple(in_shape), out)


#: NIR node type -> lowering ``(name, node, input shape or None) -> _Op``.
LOWERINGS = {nir.Affine: _dense, nir.Linear: _dense, nir.Scale: _dense,
             nir.Conv1d: _conv, nir.Conv2d: _conv, nir.SumPool2d: _pool,
             nir.AvgPool2d: _pool, nir.Flatten: _flatten}


# --------------------------------------------------------------------------- chains
@dataclass
class Lowered:
    """A chain as one affine map: ``name`` of its weight nodes joined by ``+`` (None:
    identity), ``matrix`` ``W[post, pre]`` (dense ndarray or CSR), ``bias`` (None: 0)."""

    name: str | None
    matrix: Any
    bias: np.ndarray | None
    in_shape: tuple
    out_shape: tuple


def lower_chain(nodes: dict, via: list, in_shape: tuple | None) -> Lowered:
    """The nodes ``via`` (in order; Delays skipped) applied to an input of ``in_shape``
    (None: unknown, then the first node must declare it) as one :class:`Lowered`."""
    ops, names, shape, first = [], [], in_shape, None
    for name in via:
        node = nodes[name]
        if type(node) not in LOWERINGS:
            continue
        op = LOWERINGS[type(node)](name, node, shape)
        first = op.in_shape if first is None else first
        shape = op.out_shape
        if op.matrix is not None:
            ops.append((name, op))
            names.append(name)
    if first is None:
        if in_shape is None:
            raise ShapeUnknown("an identity path needs the shape of its source")
        first = shape = tuple(in_shape)
    if not ops:
        return Lowered(None, np.eye(_size(first)), None, first, shape)
    if len(ops) == 1 and isinstance(ops[0][1].matrix, np.ndarray):
        op = ops[0][1]
        return Lowered(names[0], op.matrix, op.bias, first, shape)
    matrix, bias = None, None
    for _, op in ops:
        step = sp.csr_matrix(op.matrix)
        bias = None if bias is None else step @ bias
        if op.bias is not None:
            bias = op.bias if bias is None else bias + op.bias
        matrix = step if matrix is None else (step @ matrix).tocsr()
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    matrix.sort_indices()
    if bias is not None and not np.any(bias):
        bias = None
    return Lowered("+".join(names), matrix, bias, first, shape)


def lower_paths(nodes: dict, paths: list, shapes: dict) -> tuple[list[Lowered], dict]:
    """Every path (``.source``, ``.via``, ``.end``) lowered, and the shape of every node
    reached. ``shapes`` holds the known shapes (Inputs, neuron nodes with per-neuron
    parameters); a path whose source shape is unknown waits until another path gives it
    (its target's shape is its output shape), and a neuron node nothing gives a shape to
    is one neuron, as NIR's scalar parameters say."""
    shapes, lowered = dict(shapes), [None] * len(paths)
    pending = list(range(len(paths)))
    while pending:
        waiting = []
        for i in pending:
            path = paths[i]
            try:
                low = lower_chain(nodes, path.via, shapes.get(path.source))
            except ShapeUnknown:
                waiting.append(i)
                continue
            lowered[i] = low
            shapes.setdefault(path.source, low.in_shape)
            _settle(nodes, shapes, path.end, low)
        if len(waiting) == len(pending):
            source = paths[waiting[0]].source
            if source in shapes:   # a node of the chain cannot know its input's shape
                lower_chain(nodes, paths[waiting[0]].via, shapes[source])
                raise AssertionError("unreachable: the chain lowered on a second try")
            shapes[source] = (1,)
        pending = waiting
    return lowered, shapes


def _settle(nodes: dict, shapes: dict, end: str, low: Lowered) -> None:
    """Record ``end``'s shape from a chain into it; refuse a differently shaped one."""
    known = shapes.get(end)
    if known is None:
        shapes[end] = low.out_shape
        return
    if (_size(known) != _size(low.out_shape)  # the projection reports a count mismatch
            or len(known) == 1 or len(low.out_shape) == 1 or tuple(known) == low.out_shape):
        return
    where = low.name or "its input"
    raise ValueError(f"node {end!r} ({_node_type(nodes[end])}) has shape {tuple(known)}, "
                     f"but {where} gives it shape {low.out_shape}")
